"""`POST /fhir/$import`: NDJSON into benhan over HTTP (docs/fhir-api.md "$import"); the work is
store/ndjson_import.py, the same as `benhan import ndjson`.

    POST /fhir/$import   Content-Type: application/fhir+ndjson, the NDJSON as the body
        → 200, an OperationOutcome: the counts, one issue per failed line (synchronous)
    POST /fhir/$import   Prefer: respond-async, a Parameters resource naming input files
        (parameter `input`, part `url`: a file in <data_dir>/import, relative or file: URL)
        → 202, Content-Location: the status URL
    GET /fhir/$import-status/{job} → 202 + X-Progress while it runs; 200 + the report when done

Only a facility administrator may import (a migration writes every kind of record, which no
clinical role may); the import then writes with the rights of the server, under the
administrator's name in the audit trail. A refusal is audited.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.auth.actor import Actor
from benhan.fhir.outcome import information, issue
from benhan.store import audit_log, import_jobs, ndjson_import
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository, now_us
from benhan.web import authn, http

IMPORTER_ROLE = "facility_admin"
NDJSON_TYPES = {"application/fhir+ndjson", "application/ndjson", "application/x-ndjson"}
MAX_BODY = 512 * 1024 * 1024     # a synchronous import; larger: the files in the import folder, async
RETRY_AFTER = "5"


def _importer(store, actor: Actor, query: str) -> Actor:  # noqa: ANN001
    """The actor the import writes as: the administrator's name, the server's rights. Anyone else: 403."""
    if IMPORTER_ROLE not in actor.roles:
        audit_log.append(store.db, [AuditRecord(recorded=now_us(), interaction="import", subtype="import",
                                                agent=actor.name, source_address=actor.source_address,
                                                role=" ".join(actor.roles) or None, client_id=actor.client_id,
                                                outcome="4", query=query)])
        raise errors.Forbidden("only a facility administrator may import")
    return Actor(name=actor.name, kind=actor.kind, source_address=actor.source_address, roles=actor.roles,
                 client_id=actor.client_id, user_pk=actor.user_pk, display=actor.display)


def report_outcome(report: ndjson_import.ImportReport) -> dict:
    t = {k: report.total(k) for k in ("created", "updated", "unchanged", "failed")}
    issues = [issue("information", "informational",
                    f"{report.lines} lines: {t['created']} created, {t['updated']} updated, "
                    f"{t['unchanged']} unchanged, {t['failed']} failed")]
    for f in report.failures:
        what = f"{f.res_type}/{f.res_id}" if f.res_type and f.res_id else f.res_type or "?"
        issues.append(issue("error", "invalid", f"line {f.line} ({what}): {f.reason}", expression=f"line {f.line}"))
    if report.unresolved_references:
        issues.append(issue("warning", "not-found", f"{report.unresolved_references} reference(s) to resources "
                            f"that are not in the database, e.g. {', '.join(report.unresolved_examples[:5])}"))
    return {"resourceType": "OperationOutcome", "issue": issues}


async def kick_off(request: Request) -> Response:
    http.check_format(request)
    store = request.app.state.store
    actor = await run_in_threadpool(_importer, store, authn.actor(request), "$import")
    if http.content_type(request) in NDJSON_TYPES:
        return await _synchronous(request, store, actor)
    if "respond-async" not in request.headers.get("prefer", "").lower():
        raise errors.InvalidHeader("$import with a Parameters resource needs Prefer: respond-async; or send "
                                   "the NDJSON itself as the body (Content-Type: application/fhir+ndjson)",
                                   expression="Prefer")
    body = await http.read_body(request, store.config.max_body_bytes)
    data_dir = Path(store.config.data_dir)
    inputs = _inputs(body, data_dir)
    job_id = import_jobs.create(data_dir, actor.name, str(request.url), inputs)
    threading.Thread(target=_run_job, args=(store, actor, data_dir, job_id), name=f"import-{job_id[:8]}",
                     daemon=True).start()
    base = http.base_url(request, store.config.base_url)
    return http.json_response(information(f"import {job_id} accepted; poll the Content-Location URL"), 202,
                              {"Content-Location": f"{base}/$import-status/{job_id}"})


def _inputs(body: object, data_dir: Path) -> list[dict]:
    """The Bulk Data import draft's `input` parameters: each a `url` (and an optional `type`)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise errors.InvalidOperationParameter("$import takes a Parameters resource (or an NDJSON body)")
    inputs = []
    for p in body.get("parameter") or ():
        if not isinstance(p, dict) or p.get("name") != "input":
            continue                      # inputFormat, inputSource, storageDetail: NDJSON files is all there is
        parts = {q.get("name"): next((v for k, v in q.items() if k.startswith("value")), None)
                 for q in p.get("part") or () if isinstance(q, dict)}
        url = parts.get("url")
        if not isinstance(url, str) or not url:
            raise errors.InvalidOperationParameter("each input needs a part 'url' (valueUrl)", expression="input.url")
        try:
            path = import_jobs.resolve_input(data_dir, url)
        except errors.ImportUnreadable as exc:
            raise errors.InvalidOperationParameter(exc.message, expression="input.url") from None
        inputs.append({"url": url, "type": parts.get("type"), "path": str(path)})
    if not inputs:
        raise errors.InvalidOperationParameter("no input: name the files with parameter 'input' (part 'url')")
    return inputs


def _run_job(store, actor: Actor, data_dir: Path, job_id: str) -> None:  # noqa: ANN001
    try:
        import_jobs.update(data_dir, job_id, state=import_jobs.RUNNING, pid=os.getpid())
        job = import_jobs.load(data_dir, job_id)
        paths = [Path(i["path"]) for i in job["inputs"]]

        def progress(r: ndjson_import.ImportReport) -> None:
            import_jobs.update(data_dir, job_id, progress=f"{r.lines} lines")
        result = ndjson_import.import_files(Repository(store, actor), paths, progress=progress,
                                            query=f"$import {job_id}")
        import_jobs.save_report(data_dir, job_id, result.as_json())
        import_jobs.update(data_dir, job_id, state=import_jobs.DONE, progress=None)
    except Exception as exc:  # noqa: BLE001 - the job's state says it failed; the poller is told
        import_jobs.update(data_dir, job_id, state=import_jobs.FAILED,
                           error=f"{getattr(exc, 'code', type(exc).__name__)}: {getattr(exc, 'message', exc)}")


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return True          # not started yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def status(request: Request) -> Response:
    store = request.app.state.store
    actor = authn.actor(request)
    # The role first: someone who may not import learns nothing about jobs, not even whether one exists.
    await run_in_threadpool(_importer, store, actor, "$import-status")
    data_dir = Path(store.config.data_dir)
    job = await run_in_threadpool(import_jobs.load, data_dir, request.path_params["job"])
    if job["owner"] != actor.name:
        raise errors.NotFound(f"no import job {job['id']!r}")        # another's job: not even its existence
    if job["state"] in (import_jobs.QUEUED, import_jobs.RUNNING) and not _alive(job.get("pid")):
        job = import_jobs.update(data_dir, job["id"], state=import_jobs.FAILED,
                                 error="the server stopped while the import ran; run it again (nothing is doubled)")
    if job["state"] in (import_jobs.QUEUED, import_jobs.RUNNING):
        return Response(status_code=202, headers={"X-Progress": job.get("progress") or job["state"],
                                                  "Retry-After": RETRY_AFTER})
    if job["state"] == import_jobs.FAILED:
        raise errors.ImportUnreadable(f"import {job['id']} failed: {job.get('error')}")
    result = await run_in_threadpool(import_jobs.report, data_dir, job["id"])
    return http.json_response({"request": job["request"], "report": result}, 200, indent=http.pretty(request))


async def _synchronous(request: Request, store, actor: Actor) -> Response:  # noqa: ANN001
    """The body, streamed to a private file (memory stays flat), then imported from it."""
    folder = import_jobs.jobs_folder(Path(store.config.data_dir))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"body-{os.getpid()}-{threading.get_ident()}-{now_us()}.ndjson"
    size = 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise errors.PayloadTooLarge(f"over {MAX_BODY} bytes: put the files in the import folder "
                                                 "and start an asynchronous $import")
                out.write(chunk)
        result = await run_in_threadpool(
            lambda: ndjson_import.import_lines(Repository(store, actor),
                                               [("body", ndjson_import.file_lines(path))], query="$import"))
    finally:
        path.unlink(missing_ok=True)
    return http.json_response(report_outcome(result), 200, indent=http.pretty(request))


routes = [Route("/fhir/$import", kick_off, methods=["POST"]),
          Route("/fhir/$import-status/{job}", status, methods=["GET"])]
