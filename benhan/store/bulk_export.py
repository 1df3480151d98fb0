"""FHIR Bulk Data $export (https://hl7.org/fhir/uv/bulkdata/STU2/export.html): the requests, the
jobs and the export itself, transport-free. web/bulk_export_api.py is the HTTP side.

A kick-off becomes a row of bulk_export_job (state queued); a worker (ExportRunner, one thread per
server process, started with the app) takes it, writes the NDJSON files under
<data_dir>/exports/<job id>/ and marks it done with the list of files; the client polls the status
and downloads the files until they expire; a cleanup deletes expired jobs with their files.

The export reads the database in ONE pass ordered by the resource table's key, a page of rows per
short read transaction, and hands each row's stored JSON to the NDJSON writer of its type without
parsing it: memory stays flat whatever the size of the database (a page of rows and one small
buffer per type), the read is sequential on both tables, and the server's other work is not held
up by one long transaction. Filters (_type, _since, _typeFilter, the Patient compartment of all
patients or of a Group's members) are conditions of that one statement.

What a client may export is decided at kick-off from its token: the types its system/ scopes let it
read. Only backend services (client-credentials tokens with system/ scopes) may export; a user's
session or token may not (the Bulk Data IG is for system-to-system use).
"""
from __future__ import annotations

import logging
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import and_, bindparam, delete, exists, false, or_, select, update

from benhan import errors
from benhan.auth.actor import Actor
from benhan.fhir import search as fhir_search
from benhan.fhir.datetimes import parse_range
from benhan.fhir.references import ID_RE
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.compartments import COMPARTMENT, member_params
from benhan.store.ndjson import NDJSON_FORMATS, NdjsonFile, NdjsonWriter
from benhan.store.schema import bulk_export_job, idx_reference, resource, resource_version
from benhan.store.search import where_clause
from benhan.store.writer import decode_body

log = logging.getLogger(__name__)

LEVELS = ("system", "patient", "group")
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# The kick-off parameters answered; the IG's others (patient, includeAssociatedData, _elements)
# are refused with 400 unless the client asks for lenient handling.
PARAMETERS = frozenset({"_type", "_since", "_typeFilter", "_outputFormat"})
_IGNORED = frozenset({"_format", "_pretty"})
PAGE_ROWS = 2000                      # rows per read transaction
MAX_LINES = 100_000                   # resources per file before a type goes on in the next file
STALE_US = 10 * 60 * 10**6            # a running export silent this long was lost with its process
HEARTBEAT_US = 5 * 10**6
HOUR_US = 3600 * 10**6


def now_us() -> int:
    return time.time_ns() // 1000


# --- the request -----------------------------------------------------------------------------------

@dataclass
class ExportRequest:
    level: str                                  # system, patient, group
    types: tuple[str, ...] | None               # None: every type the client may read
    since: int | None = None                    # µs
    type_filters: dict[str, list[str]] = field(default_factory=dict)   # type -> search queries
    group_id: str | None = None
    members: tuple[str, ...] = ()               # a Group's patients (ids)
    output_format: str = "application/fhir+ndjson"
    ignored: list[str] = field(default_factory=list)

    def params_json(self) -> str:
        return orjson.dumps({"types": self.types, "since": self.since, "type_filters": self.type_filters,
                             "members": self.members, "output_format": self.output_format}).decode()

    @classmethod
    def from_row(cls, row: Any) -> "ExportRequest":  # noqa: ANN401
        p = orjson.loads(row.params)
        return cls(row.level, tuple(p["types"]) if p["types"] is not None else None, p["since"],
                   p["type_filters"], row.group_id, tuple(p["members"]), p["output_format"])


def compartment_types() -> frozenset[str]:
    return frozenset(member_params()) | {COMPARTMENT}


def parse_request(level: str, items: list[tuple[str, str]], resource_types: frozenset[str], *,
                  group_id: str | None = None, lenient: bool = False) -> ExportRequest:
    """The kick-off's parameters, checked (400 OperationOutcome for anything wrong)."""
    assert level in LEVELS
    req = ExportRequest(level, None, group_id=group_id)
    types: list[str] = []
    filters: list[str] = []
    for key, value in items:
        if key in _IGNORED:
            continue
        if key not in PARAMETERS:
            if lenient:
                req.ignored.append(key)
                continue
            raise errors.UnknownOperationParameter(
                f"$export does not take {key!r} (it takes {', '.join(sorted(PARAMETERS))})", expression=key)
        if key == "_type":
            types += [t.strip() for t in value.split(",") if t.strip()]
            if not value.strip():
                raise errors.InvalidOperationParameter("_type needs at least one resource type", expression="_type")
        elif key == "_since":
            r = parse_range(value)
            if r is None or "T" not in value:
                raise errors.InvalidOperationParameter(f"_since={value}: not an instant "
                                                       "(e.g. 2026-12-01T00:00:00+07:00)", expression="_since")
            req.since = r[0]
        elif key == "_typeFilter":
            # Comma-separated queries; a comma inside one (code=a,b) stays with it.
            filters += [f for f in re.split(r",(?=[A-Z][A-Za-z]+\?)", value) if f.strip()]
        elif key == "_outputFormat":
            if value.strip().lower() not in NDJSON_FORMATS:
                raise errors.InvalidOperationParameter(
                    f"_outputFormat={value}: this server writes NDJSON only (application/fhir+ndjson)",
                    expression="_outputFormat")
            req.output_format = "application/fhir+ndjson"
    allowed = compartment_types() if level != "system" else resource_types
    for t in types:
        if t not in resource_types:
            raise errors.InvalidOperationParameter(f"_type: {t!r} is not a FHIR R4 resource type", expression="_type")
        if t not in allowed:
            raise errors.InvalidOperationParameter(
                f"_type: {t} is not in the Patient compartment, so a {level}-level export has none",
                expression="_type")
    req.types = tuple(dict.fromkeys(types)) or None
    for f in filters:
        res_type, sep, query = f.partition("?")
        if not sep or res_type not in resource_types:
            raise errors.InvalidOperationParameter(
                f"_typeFilter={f}: expected Type?search (e.g. Observation?code=8867-4)", expression="_typeFilter")
        if req.types is not None and res_type not in req.types:
            raise errors.InvalidOperationParameter(
                f"_typeFilter names {res_type}, which is not among the _type asked for", expression="_typeFilter")
        check_type_filter(res_type, query)
        req.type_filters.setdefault(res_type, []).append(query)
    return req


def _filter_request(res_type: str, query: str) -> fhir_search.SearchRequest:
    try:
        items = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise errors.InvalidOperationParameter(f"_typeFilter: cannot parse {query!r}",
                                               expression="_typeFilter") from None
    shaping = sorted({k for k, _ in items if k.startswith("_") and k not in fhir_search.CRITERIA_PARAMETERS})
    if shaping:
        raise errors.InvalidOperationParameter(
            f"_typeFilter takes search criteria only, not {', '.join(shaping)}", expression="_typeFilter")
    req = fhir_search.parse(res_type, items)
    if req.includes or req.revincludes:
        raise errors.InvalidOperationParameter("_typeFilter takes no _include", expression="_typeFilter")
    return req


def check_type_filter(res_type: str, query: str) -> None:
    """A filter the search engine cannot run is refused at kick-off (400), not at export time."""
    req = _filter_request(res_type, query)
    where_clause(req)


def readable(actor: Actor, types: tuple[str, ...] | None, candidates: frozenset[str]) -> tuple[str, ...] | None:
    """The types this client may export of those asked for (None asked: every type it may read;
    None returned: every type). A type asked for that it may not read is refused (403)."""
    access = actor.access
    if access is None or access.mode("r", "*"):
        return types
    if types is not None:
        refused = [t for t in types if not access.mode("r", t)]
        if refused:
            raise errors.Forbidden(f"your access token does not let you read {', '.join(refused)}")
        return types
    return tuple(t for t in sorted(candidates) if access.mode("r", t))


def group_members(group: dict) -> tuple[str, ...]:
    """The ids of the Patients a Group names as members (Patient/x or a full URL ending so)."""
    out = []
    for m in group.get("member") or ():
        ref = ((m or {}).get("entity") or {}).get("reference") or ""
        parts = ref.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] == COMPARTMENT and ID_RE.match(parts[-1]):
            if not (m.get("inactive") is True):
                out.append(parts[-1])
    return tuple(dict.fromkeys(out))


# --- the jobs ------------------------------------------------------------------------------------

def exports_dir(store: Any) -> Path:  # noqa: ANN401
    return Path(store.config.data_dir) / "exports"


def job_dir(store: Any, job_id: str) -> Path:  # noqa: ANN401
    if not ID_RE.match(job_id):
        raise errors.InvalidId(f"{job_id!r} is not an export id")
    return exports_dir(store) / job_id


def create(store: Any, actor: Actor, req: ExportRequest, request_url: str, *,  # noqa: ANN401
           now: int | None = None) -> str:
    """Record the kick-off; 429 while this client has an export queued or running."""
    now = now or now_us()
    job_id = secrets.token_hex(16)
    with store.db.write() as conn:
        busy = conn.execute(select(bulk_export_job.c.id).where(and_(
            bulk_export_job.c.client_id == actor.client_id,
            bulk_export_job.c.state.in_((QUEUED, RUNNING))))).first()
        if busy is not None:
            raise errors.ExportInProgress(
                "an export of yours is still running; poll it, or DELETE its status URL, before asking again")
        conn.execute(bulk_export_job.insert().values(
            id=job_id, client_id=actor.client_id, agent=actor.name[:128], level=req.level, group_id=req.group_id,
            request=request_url, params=req.params_json(), state=QUEUED, transaction_time=now, created=now))
    return job_id


def get(store: Any, job_id: str) -> Any:  # noqa: ANN401
    if not ID_RE.match(job_id):
        return None
    with store.db.read() as conn:
        return conn.execute(select(bulk_export_job).where(bulk_export_job.c.id == job_id)).first()


def owned(store: Any, actor: Actor, job_id: str, *, now: int | None = None) -> Any:  # noqa: ANN401
    """The job if it is this client's; 404 otherwise (another's job is not even said to exist),
    410 once its files have expired."""
    row = get(store, job_id)
    if row is None or actor.kind != "client" or row.client_id != actor.client_id:
        raise errors.ExportNotFound(f"no export {job_id} of yours (unknown, deleted or expired)")
    if row.expires is not None and row.expires <= (now or now_us()):
        raise errors.ExportExpired(f"export {job_id} expired; its files are deleted")
    return row


def remove(store: Any, job_id: str) -> bool:  # noqa: ANN401
    """Delete the job and its files (a running export stops at its next page)."""
    with store.db.write() as conn:
        gone = conn.execute(delete(bulk_export_job).where(bulk_export_job.c.id == job_id)).rowcount
    shutil.rmtree(job_dir(store, job_id), ignore_errors=True)
    return bool(gone)


def cleanup(store: Any, *, now: int | None = None) -> list[str]:  # noqa: ANN401
    """Delete the expired jobs and their files, and files no job owns (left by a crash)."""
    now = now or now_us()
    with store.db.read() as conn:
        expired = list(conn.execute(select(bulk_export_job.c.id).where(and_(
            bulk_export_job.c.expires.is_not(None), bulk_export_job.c.expires <= now))).scalars())
        known = set(conn.execute(select(bulk_export_job.c.id)).scalars())
    for job_id in expired:
        remove(store, job_id)
    root = exports_dir(store)
    if root.is_dir():
        for d in root.iterdir():
            if d.is_dir() and d.name not in known:
                shutil.rmtree(d, ignore_errors=True)
    return expired


def claim(store: Any, *, now: int | None = None) -> str | None:  # noqa: ANN401
    """Take the oldest queued export (or one whose process died while running it); its id."""
    now = now or now_us()
    j = bulk_export_job
    waiting = or_(j.c.state == QUEUED, and_(j.c.state == RUNNING, j.c.heartbeat < now - STALE_US))
    with store.db.read() as conn:      # the usual answer (nothing to do) without taking the write lock
        if conn.execute(select(j.c.id).where(waiting).limit(1)).first() is None:
            return None
    with store.db.write() as conn:
        conn.execute(update(j).where(and_(j.c.state == RUNNING, j.c.heartbeat < now - STALE_US))
                     .values(state=QUEUED, progress="restarted: the process running it stopped"))
        queued = conn.execute(select(j.c.id).where(j.c.state == QUEUED).order_by(j.c.created).limit(5)).scalars()
        for job_id in queued.all():
            taken = conn.execute(update(j).where(and_(j.c.id == job_id, j.c.state == QUEUED))
                                 .values(state=RUNNING, started=now, heartbeat=now, progress="starting")).rowcount
            if taken:
                return job_id
    return None


# --- the export --------------------------------------------------------------------------------------

class Cancelled(Exception):
    """The job was deleted (or the server is stopping) while it ran."""


def row_condition(req: ExportRequest, *, transaction_time: int | None = None):  # noqa: ANN201
    """The condition on resource rows (current versions) that this export writes."""
    r = resource
    conds = [r.c.deleted == false()]
    if req.types is not None:
        conds.append(r.c.res_type.in_(req.types))
    if req.since is not None:
        conds.append(r.c.last_updated >= req.since)
    if transaction_time is not None:
        # Changed after the kick-off: left to the next export (_since=transactionTime).
        conds.append(r.c.last_updated <= transaction_time)
    for res_type, queries in sorted(req.type_filters.items()):
        # A type with filters: the resources matching any of them (the IG ORs a type's filters).
        matches = [where_clause(_filter_request(res_type, q)) for q in queries]
        conds.append(or_(r.c.res_type != res_type, or_(*matches)))
    if req.level != "system":
        conds.append(_in_compartments(req.members if req.level == "group" else None))
    return and_(*conds)


def _in_compartments(members: tuple[str, ...] | None):  # noqa: ANN202
    """In the Patient compartment of these patients (None: of any patient)."""
    r, ref = resource, idx_reference.alias("export_member")
    pairs = or_(*(and_(ref.c.res_type == t, ref.c.param == p)
                  for t, params in member_params().items() for p in params))
    target = [ref.c.target_type == COMPARTMENT]
    patient = [r.c.res_type == COMPARTMENT]
    if members is not None:
        target.append(ref.c.target_id.in_(members))
        patient.append(r.c.res_id.in_(members))
    # Correlated on the row's key (ix_idx_reference_resource): a probe of its few references,
    # not a subquery over every reference of the type run again for each page.
    linked = exists().where(and_(ref.c.resource_pk == r.c.pk, pairs, *target))
    return or_(and_(*patient), and_(r.c.res_type.in_(sorted(member_params())), linked))


def _page_statement(cond):  # noqa: ANN001, ANN202
    r, v = resource, resource_version
    return (select(r.c.pk, r.c.res_type, v.c.encoding, v.c.body)
            .select_from(r.join(v, and_(v.c.resource_pk == r.c.pk, v.c.version == r.c.version)))
            .where(and_(cond, r.c.pk > bindparam("after")))
            .order_by(r.c.pk).limit(PAGE_ROWS))


@dataclass
class Written:
    files: list[NdjsonFile]
    count: int


def export_rows(store: Any, req: ExportRequest, out_dir: Path, *, transaction_time: int | None = None,  # noqa: ANN401
                max_lines: int = MAX_LINES, check: Callable[[int], None] | None = None) -> Written:
    """Write the resources the request selects into out_dir, one NDJSON writer per type; `check(n)`
    is called after each page (progress, cancellation: it raises Cancelled to stop)."""
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    statement = _page_statement(row_condition(req, transaction_time=transaction_time))
    writers: dict[str, NdjsonWriter] = {}
    after, count = 0, 0
    try:
        while True:
            with store.db.read() as conn:
                rows = conn.execute(statement, {"after": after}).all()
            for row in rows:
                w = writers.get(row.res_type)
                if w is None:
                    w = writers[row.res_type] = NdjsonWriter(out_dir, row.res_type, max_lines=max_lines,
                                                             buffer_size=64 * 1024)
                w.write(decode_body(row.encoding, row.body))
            count += len(rows)
            if check is not None:
                check(count)
            if len(rows) < PAGE_ROWS:
                break
            after = rows[-1].pk
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    files = [f for t in sorted(writers) for f in writers[t].close()]
    return Written(files, count)


def run_job(store: Any, job_id: str, *, expiry_hours: float,  # noqa: ANN401
            stopping: Callable[[], bool] = lambda: False, now: Callable[[], int] = now_us,
            max_lines: int = MAX_LINES) -> str:
    """Run a claimed job to its end; its final state (done, failed) or "cancelled" (deleted, or
    put back in the queue because the server is stopping)."""
    row = get(store, job_id)
    if row is None:
        return "cancelled"
    out_dir = job_dir(store, job_id)
    last_beat = [now()]
    total: int | None = None

    def check(n: int) -> None:
        if stopping():
            raise Cancelled("stopping")
        t = now()
        if t - last_beat[0] < HEARTBEAT_US:
            # Between heartbeats only a read (is the job still there?): no write lock per page.
            with store.db.read() as conn:
                if conn.execute(select(bulk_export_job.c.id).where(bulk_export_job.c.id == job_id)).first() is None:
                    raise Cancelled("deleted")
            return
        last_beat[0] = t
        progress = f"{n} of {total} resources ({n * 100 // max(total, 1)}%)" if total else f"{n} resources"
        with store.db.write() as conn:
            alive = conn.execute(update(bulk_export_job).where(bulk_export_job.c.id == job_id)
                                 .values(heartbeat=t, progress=progress[:200])).rowcount
        if not alive:
            raise Cancelled("deleted")
    try:
        req = ExportRequest.from_row(row)
        total = _total(store, req, row.transaction_time)
        written = export_rows(store, req, out_dir, transaction_time=row.transaction_time, max_lines=max_lines,
                              check=check)
    except Cancelled as why:
        shutil.rmtree(out_dir, ignore_errors=True)
        if str(why) == "stopping":
            with store.db.write() as conn:
                conn.execute(update(bulk_export_job).where(bulk_export_job.c.id == job_id)
                             .values(state=QUEUED, progress="waiting: the server restarted"))
        return "cancelled"
    except Exception as exc:  # noqa: BLE001 - recorded on the job, which the client sees as failed
        log.exception("bulk export %s failed", job_id)
        shutil.rmtree(out_dir, ignore_errors=True)
        finished = now()
        with store.db.write() as conn:
            conn.execute(update(bulk_export_job).where(bulk_export_job.c.id == job_id).values(
                state=FAILED, finished=finished, expires=finished + int(expiry_hours * HOUR_US),
                error=orjson.dumps({"message": f"{type(exc).__name__}: {exc}"[:500]}).decode()))
        return FAILED
    finished = now()
    output = [{"type": f.res_type, "file": f.name, "count": f.count, "size": f.size, "sha256": f.sha256}
              for f in written.files]
    with store.db.write() as conn:
        done = conn.execute(update(bulk_export_job).where(bulk_export_job.c.id == job_id).values(
            state=DONE, finished=finished, heartbeat=finished, expires=finished + int(expiry_hours * HOUR_US),
            progress=f"{written.count} resources", output=orjson.dumps(output).decode())).rowcount
    if not done:    # deleted in the last moment
        shutil.rmtree(out_dir, ignore_errors=True)
        return "cancelled"
    return DONE


def _total(store: Any, req: ExportRequest, transaction_time: int) -> int | None:  # noqa: ANN401
    """How many resources a system export without filters writes (for X-Progress); None when that
    would cost as much as the export (filters, compartments)."""
    if req.level != "system" or req.type_filters:
        return None
    from sqlalchemy import func
    with store.db.read() as conn:
        return conn.execute(select(func.count()).select_from(resource).where(
            row_condition(req, transaction_time=transaction_time))).scalar()


# --- audit -----------------------------------------------------------------------------------------

def audit(store: Any, actor: Actor, subtype: str, *, outcome: str = "0", job_id: str | None = None,  # noqa: ANN401
          query: str | None = None, patients: tuple[str, ...] = (), detail: dict | None = None) -> None:
    """One event of the trail (interaction export): kick-off, download of a file, delete."""
    audit_log.append(store.db, [AuditRecord(
        recorded=now_us(), interaction="export", subtype=subtype, agent=actor.name, outcome=outcome,
        source_address=actor.source_address, client_id=actor.client_id, res_id=None, query=query,
        patients=tuple(sorted(patients)), role=" ".join(actor.roles) or None,
        detail=orjson.dumps({"export": job_id, **(detail or {})}).decode() if job_id or detail else None)])


# --- the worker --------------------------------------------------------------------------------------

class ExportRunner:
    """One thread per server process: runs queued exports one at a time and deletes expired ones."""

    def __init__(self, store: Any, *, expiry_hours: float, cleanup_every: float = 60.0):  # noqa: ANN401
        self.store = store
        self.expiry_hours = expiry_hours
        self.cleanup_every = cleanup_every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bulk-export", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        last_cleanup = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_cleanup >= self.cleanup_every:
                    cleanup(self.store)
                    last_cleanup = time.monotonic()
                job_id = claim(self.store)
                if job_id is not None:
                    run_job(self.store, job_id, expiry_hours=self.expiry_hours, stopping=self._stop.is_set)
                    continue
            except Exception:  # noqa: BLE001 - the worker outlives one failure; the next round retries
                log.exception("bulk export worker")
            # A kick-off in this process wakes the worker at once; the timeout only matters for an
            # export asked of another process of the same server, or one whose process died.
            self._wake.wait(timeout=self.cleanup_every)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
