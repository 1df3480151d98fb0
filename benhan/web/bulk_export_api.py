"""Bulk Data $export over HTTP (https://hl7.org/fhir/uv/bulkdata/STU2/export.html); the work is
store/bulk_export.py.

    GET /fhir/$export, /fhir/Patient/$export, /fhir/Group/{id}/$export   (Prefer: respond-async)
        → 202, Content-Location: the status URL
    GET /fhir/$export-status/{id}   → 202 + X-Progress + Retry-After while it runs; 200 + manifest
    DELETE /fhir/$export-status/{id} → 202: cancelled and its files deleted
    GET /fhir/$export-file/{id}/{file} → the NDJSON file (application/fhir+ndjson)

Only backend services may export (a client-credentials token with system/ scopes); a status and its
files are answered only to the client that asked (requiresAccessToken: true). Every kick-off,
download and delete is an event of the audit trail (interaction export).
"""
from __future__ import annotations

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from benhan import errors
from benhan.fhir.datetimes import format_instant, from_us
from benhan.fhir.outcome import information
from benhan.store import bulk_export
from benhan.store.ndjson import MEDIA_TYPE
from benhan.store.repository import Repository
from benhan.web import authn, http
from benhan.web.background import run_with_app

RETRY_AFTER = "5"               # seconds between polls while an export runs
DEFAULT_EXPIRY_HOURS = 24.0


def expiry_hours(store) -> float:  # noqa: ANN001
    """Setting export_expiry_hours; a value that is not positive keeps the files the IG's usual day."""
    hours = store.config.export_expiry_hours
    return hours if hours > 0 else DEFAULT_EXPIRY_HOURS


def _base(request: Request) -> str:
    return http.base_url(request, request.app.state.store.config.base_url)


def may_export(actor) -> bool:  # noqa: ANN001
    """A backend service whose token lets it read some resource type (system/….r)."""
    if actor.kind != "client":
        return False
    return actor.access is None or any(letter == "r" for _, letter in actor.access.modes)


def _exporter(request: Request):  # noqa: ANN202
    """The actor of a status, delete or download request: 403 for one that may not export at all
    (whether the export exists is not said)."""
    actor = authn.actor(request)
    if not may_export(actor):
        raise errors.Forbidden("bulk export is for backend services whose token lets them read resources")
    return actor


def _refuse(store, actor, subtype: str, err: errors.BenhanError, query: str | None = None) -> None:  # noqa: ANN001
    bulk_export.audit(store, actor, subtype, outcome="4", query=query, detail={"refused": err.code})
    raise err


async def kick_off(request: Request) -> Response:
    http.check_format(request)
    store = request.app.state.store
    actor = authn.actor(request)
    path = request.url.path
    level = ("group" if request.url.path.startswith("/fhir/Group/") else
             "patient" if path.rstrip("/").endswith("/Patient/$export") else "system")
    query = str(request.url.query) or None
    if not may_export(actor):
        await run_in_threadpool(_refuse, store, actor, "bulk-export-kickoff", errors.Forbidden(
            "bulk export is for backend services: a client-credentials token with system/ scopes that "
            "read resources (SMART Backend Services), not a user's session or token"), query)
    if "respond-async" not in request.headers.get("prefer", "").lower():
        raise errors.InvalidHeader("$export needs the header Prefer: respond-async", expression="Prefer")
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        items += await _parameters(request, store.config.max_body_bytes)
    lenient = http.prefer(request, "handling") == "lenient"

    def start() -> tuple[str, list[str]]:
        try:
            req = bulk_export.parse_request(level, items, store.resource_types,
                                            group_id=request.path_params.get("id"), lenient=lenient)
            candidates = store.resource_types if level == "system" else bulk_export.compartment_types()
            req.types = bulk_export.readable(actor, req.types, candidates)
            if level == "patient" and req.types is None:
                req.types = tuple(sorted(candidates))
            patients: tuple[str, ...] = ()
            if level == "group":
                group = Repository(store, actor).read("Group", req.group_id or "")     # 404/410/403, audited
                req.members = patients = bulk_export.group_members(group.json())
        except errors.BenhanError as exc:
            _refuse(store, actor, "bulk-export-kickoff", exc, query)
        try:
            # The kick-off as the client sees the server (base_url behind a proxy), for the manifest.
            asked = _base(request) + path[len("/fhir"):] + (f"?{query}" if query else "")
            job_id = bulk_export.create(store, actor, req, asked)
        except errors.ExportInProgress as exc:
            _refuse(store, actor, "bulk-export-kickoff", exc, query)
        bulk_export.audit(store, actor, "bulk-export-kickoff", job_id=job_id, query=query, patients=patients,
                          detail={"level": level, "types": req.types})
        runner = getattr(request.app.state, "bulk_export", None)
        if runner is not None:
            runner.wake()
        return job_id, req.ignored
    try:
        job_id, ignored = await run_in_threadpool(start)
    except errors.ExportInProgress as exc:
        response = http.error_response(exc)
        response.headers["Retry-After"] = "60"
        return response
    note = f"export {job_id} accepted; poll the Content-Location URL"
    if ignored:
        note += "; ignored parameters: " + ", ".join(ignored)
    return http.json_response(information(note), 202,
                              {"Content-Location": f"{_base(request)}/$export-status/{job_id}"})


async def _parameters(request: Request, max_bytes: int) -> list[tuple[str, str]]:
    """A POST kick-off's Parameters resource, as the GET query's items."""
    body = await http.read_body(request, max_bytes)
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise errors.InvalidOperationParameter("a POST kick-off takes a Parameters resource")
    out = []
    for p in body.get("parameter") or ():
        name = (p or {}).get("name")
        value = next((v for k, v in (p or {}).items() if k.startswith("value")), None)
        if not isinstance(name, str) or not isinstance(value, str):
            raise errors.InvalidOperationParameter(f"parameter {name!r}: expected a name and a string value "
                                                   "(valueString, valueInstant …)")
        out.append((name, value))
    return out


async def status(request: Request) -> Response:
    store = request.app.state.store
    actor = _exporter(request)
    job_id = request.path_params["id"]
    row = await run_in_threadpool(bulk_export.owned, store, actor, job_id)
    if row.state in (bulk_export.QUEUED, bulk_export.RUNNING):
        progress = (row.progress or "queued") if row.state == bulk_export.RUNNING else "queued"
        return Response(status_code=202, headers={"X-Progress": progress.encode("ascii", "replace").decode(),
                                                  "Retry-After": RETRY_AFTER})
    if row.state == bulk_export.FAILED:
        message = orjson.loads(row.error or "{}").get("message") or "unknown"
        raise errors.ExportFailed(f"export {job_id} failed: {message}")
    base = _base(request)
    manifest = {
        "transactionTime": format_instant(from_us(row.transaction_time)),
        "request": row.request,
        "requiresAccessToken": True,
        "output": [{"type": f["type"], "url": f"{base}/$export-file/{job_id}/{f['file']}", "count": f["count"]}
                   for f in orjson.loads(row.output or "[]")],
        "error": [],
    }
    expires = format_instant(from_us(row.expires)) if row.expires else None
    headers = {"Expires": from_us(row.expires).strftime("%a, %d %b %Y %H:%M:%S GMT")} if expires else {}
    return http.json_response(manifest, 200, headers, indent=http.pretty(request))


async def cancel(request: Request) -> Response:
    store = request.app.state.store
    actor = _exporter(request)
    job_id = request.path_params["id"]

    def work() -> None:
        bulk_export.owned(store, actor, job_id)
        bulk_export.remove(store, job_id)
        bulk_export.audit(store, actor, "bulk-export-delete", job_id=job_id)
    await run_in_threadpool(work)
    return http.json_response(information(f"export {job_id} deleted with its files"), 202)


async def download(request: Request) -> Response:
    store = request.app.state.store
    actor = _exporter(request)
    job_id, name = request.path_params["id"], request.path_params["file"]

    def find():  # noqa: ANN202
        row = bulk_export.owned(store, actor, job_id)
        files = {f["file"]: f for f in orjson.loads(row.output or "[]")} if row.state == bulk_export.DONE else {}
        if name not in files:
            raise errors.ExportNotFound(f"export {job_id} has no file {name!r}")
        path = bulk_export.job_dir(store, job_id) / name
        if not path.is_file():
            raise errors.ExportExpired(f"the file {name} of export {job_id} is no longer there")
        f = files[name]
        bulk_export.audit(store, actor, "bulk-export-download", job_id=job_id,
                          detail={"file": name, "type": f["type"], "count": f["count"], "sha256": f["sha256"]})
        return path
    path = await run_in_threadpool(find)
    return FileResponse(path, media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})


routes = [
    # Before the /fhir mount, whose /{type} and /{type}/{id} would take "$export" for a type or an id.
    Route("/fhir/$export", kick_off, methods=["GET", "POST"]),
    Route("/fhir/Patient/$export", kick_off, methods=["GET", "POST"]),
    Route("/fhir/Group/{id}/$export", kick_off, methods=["GET", "POST"]),
    Route("/fhir/$export-status/{id}", status, methods=["GET"]),
    Route("/fhir/$export-status/{id}", cancel, methods=["DELETE"]),
    Route("/fhir/$export-file/{id}/{file}", download, methods=["GET"]),
]


def install(app) -> None:  # noqa: ANN001
    """The export worker and the cleanup of expired exports, for as long as the app runs."""
    run_with_app(app, "bulk_export",
                 lambda store: bulk_export.ExportRunner(store, expiry_hours=expiry_hours(store)))
