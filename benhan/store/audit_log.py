"""Audit rows and their hash chain (docs/audit.md).

Writes record theirs in the write's own transaction; reads are many and must not each take the
write lock, so their rows are buffered and written in small batches by a background thread (at
most ~1 s later, and at shutdown).

Every row gets the next position in one chain and a hash over the previous row's hash and all of
its own stored fields (`link_hash`), so that a row altered, removed or inserted afterwards shows
(`benhan audit verify`). The chain's last link lives in `audit_chain_head`; appending locks that
row, which serialises appenders on PostgreSQL — so `write` takes it last, just before its
inserts, and callers call `write` at the end of their transaction.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from benhan import errors
from benhan.store.schema import audit_chain_head, audit_event, audit_patient

log = logging.getLogger(__name__)

ACTIONS = {"create": "C", "update": "U", "patch": "U", "delete": "D", "read": "R", "vread": "R",
           "search-type": "E", "search-system": "E", "history-instance": "R", "history-type": "R",
           "history-system": "R", "transaction": "E", "batch": "E", "backup": "E", "restore": "E",
           "print": "R", "export": "R", "permission": "U",
           "import": "C"}

# --- the chain format (docs/audit.md "Chain format": keep the two in step) ---------------------
CHAIN_VERSION = b"benhan-audit-1"
GENESIS = "0" * 64               # the "previous hash" of chain position 1
HEAD_ID = 1
# Every stored field of a row, in hashing order. seq is not among them: it is known only after the
# insert, and chain_pos orders the chain. audit_patient rows are bound through `patients`.
CHAIN_FIELDS = ("chain_pos", "recorded", "action", "interaction", "outcome", "agent", "source_address",
                "res_type", "res_id", "version", "query", "subtype", "role", "client_id", "purpose",
                "patients", "detail")
_NULL = b"\xff\xff\xff\xff"      # no length of 4 GiB is possible, so NULL cannot be confused with a value


def link_hash(prev_hash: str, row: Mapping) -> str:
    """SHA-256 (hex) of the version tag, the previous link's hash and the row's fields, each field
    length-prefixed (4-byte big-endian byte count, then UTF-8) or NULL-marked: unambiguous."""
    h = hashlib.sha256(CHAIN_VERSION)
    h.update(prev_hash.encode("ascii"))
    put = h.update
    for name in CHAIN_FIELDS:
        value = row[name]
        if value is None:
            put(_NULL)
        else:
            data = (value if value.__class__ is str else str(value)).encode("utf-8")
            put(len(data).to_bytes(4, "big"))
            put(data)
    return h.hexdigest()


# --- what a row may hold: every value is made storable before it is hashed ---------------------
# A request can put anything in what its audit row records (a query string, an id, a header): NUL,
# other control characters, lone surrogates, megabytes. PostgreSQL refuses NUL in text and
# anything over a varchar's length, and one refused row used to block every read row behind it.
# So each text field is escaped (control characters and surrogates as \uXXXX, which every
# database stores and a reader can still see) and cut to its column's length with a marker.
TEXT_MAX = 8192                  # Text columns (query, detail): enough to read, bounded
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSTORABLE_ID = re.compile("[\x00-\x20\x7f-\x9f\ud800-\udfff]")   # patient ids: also no space (the separator)
_CUT = "…[cut {n}]"
_LENGTHS = {c.name: getattr(c.type, "length", None) or TEXT_MAX for c in audit_event.columns}
PATIENT_ID_MAX = audit_patient.c.patient_id.type.length
_INT32 = 2**31 - 1


def _escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def recordable(value: str, limit: int, pattern: re.Pattern = _UNSTORABLE) -> str:
    """The value as a row can store it: escaped and cut to `limit` characters (marker included)."""
    if value.__class__ is not str:
        value = str(value)
    if pattern.search(value) is not None:
        value = pattern.sub(_escape, value)
    if len(value) > limit:
        marker = _CUT.format(n=len(value))
        value = value[:max(limit - len(marker), 0)] + marker
        value = value[:limit]
    return value


def _patients(ids: tuple[str, ...]) -> str | None:
    """The sorted, unique, space-separated patient ids, each storable in audit_patient."""
    if not ids:
        return None
    clean = {recordable(p, PATIENT_ID_MAX, _UNSTORABLE_ID) for p in ids}
    clean.discard("")
    # Never cut: every patient whose data the event touched stays named (each id is bounded).
    return " ".join(sorted(clean)) or None


@dataclass(frozen=True)
class AuditRecord:
    recorded: int
    interaction: str
    agent: str
    outcome: str = "0"
    source_address: str | None = None
    res_type: str | None = None
    res_id: str | None = None
    version: int | None = None
    query: str | None = None
    patients: tuple[str, ...] = ()      # the patients whose record this touched
    subtype: str | None = None          # login, logout, break-glass, permission, print, export, sign …
    role: str | None = None             # the agent's roles, space-separated
    client_id: str | None = None
    purpose: str | None = None          # BTG: allowed only by a break-the-glass grant
    detail: str | None = None           # JSON text

    def row(self) -> dict:
        # Built by hand: dataclasses.asdict deep-copies and cost 4 % of a Bundle ingest.
        # Patients sorted and unique: the column and the audit_patient rows must say the same.
        # Every text made storable (recordable): the row of a request can never be refused.
        n = _LENGTHS
        version = self.version
        if version is not None and not (isinstance(version, int) and -_INT32 <= version <= _INT32):
            version = None      # not a version any stored resource has; the query keeps what was asked
        return {"recorded": int(self.recorded), "interaction": _text(self.interaction, n["interaction"]) or "?",
                "agent": _text(self.agent, n["agent"]) or "?",
                "outcome": _text(self.outcome, n["outcome"]) or "0",
                "source_address": _text(self.source_address, n["source_address"]),
                "res_type": _text(self.res_type, n["res_type"]), "res_id": _text(self.res_id, n["res_id"]),
                "version": version, "query": _text(self.query, n["query"]),
                "action": ACTIONS.get(self.interaction, "E"),
                "patients": _patients(self.patients), "subtype": _text(self.subtype, n["subtype"]),
                "role": _text(self.role, n["role"]), "client_id": _text(self.client_id, n["client_id"]),
                "purpose": _text(self.purpose, n["purpose"]), "detail": _text(self.detail, n["detail"])}


def _text(value: str | None, limit: int) -> str | None:
    # The common case (short, printable) costs one regex scan and a length check.
    if value is None:
        return None
    if value.__class__ is str and len(value) <= limit and _UNSTORABLE.search(value) is None:
        return value
    return recordable(value, limit)


_HEAD = (select(audit_chain_head.c.chain_pos, audit_chain_head.c.hash)
         .where(audit_chain_head.c.id == HEAD_ID).with_for_update())
# The same, as driver SQL (see _driver): the head is read and moved by every audited transaction.
_HEAD_SQL = {
    "sqlite": f"SELECT chain_pos, hash FROM {audit_chain_head.name} WHERE id = {HEAD_ID}",
    "postgresql": f"SELECT chain_pos, hash FROM {audit_chain_head.name} WHERE id = {HEAD_ID} FOR UPDATE"}
_MOVE_HEAD_SQL = f"UPDATE {audit_chain_head.name} SET chain_pos = ?, hash = ? WHERE id = {HEAD_ID}"
_LAST_LINK = (select(audit_event.c.chain_pos, audit_event.c.hash)
              .where(audit_event.c.chain_pos.is_not(None)).order_by(audit_event.c.chain_pos.desc()).limit(1))
# SQLite: the two inserts go to the driver's executemany as plain tuples: through SQLAlchemy's
# insert() they cost ~70 µs of CPU per event in parameter processing (construct_params), a quarter
# of a Bundle ingest's audit cost.
_EVENT_COLUMNS = ("recorded", "action", "interaction", "outcome", "agent", "source_address", "res_type", "res_id",
                  "version", "query", "subtype", "role", "client_id", "purpose", "patients", "detail",
                  "chain_pos", "hash")
# audit_patient needs each event's seq, known only after its insert (INSERT … RETURNING in
# parameter order made SQLAlchemy run one statement per row on SQLite): each patient row finds its
# event by chain_pos instead — unique, indexed, and assigned by us under the lock.
_INSERT_EVENTS = (f"INSERT INTO {audit_event.name} ({', '.join(_EVENT_COLUMNS)}) "
                  f"VALUES ({', '.join('?' for _ in _EVENT_COLUMNS)})")
_INSERT_PATIENTS = (f"INSERT INTO {audit_patient.name} (seq, patient_id) "
                    f"SELECT seq, CAST(? AS VARCHAR(64)) FROM {audit_event.name} WHERE chain_pos = ?")

# PostgreSQL: after the head's SELECT … FOR UPDATE, everything else is one statement — one round
# trip instead of three, so the head row stays locked for less time: the events' INSERT …
# RETURNING seq, chain_pos feeds audit_patient's insert, and the head moves in the same statement.
# Two shapes of it, measured (bench/bench_audit.py, docs/benchmarks-history.md "Audit trail"):
# - a few events (a single write): a VALUES list, one text per shape (psycopg prepares the common
#   ones); for one event 0.25–0.28 ms against 0.55 ms for the three statements it replaces;
# - more (a Bundle, a flush of buffered reads): one array per column through unnest(), one text
#   for any size — a VALUES list of a hundred events spent ~10 ms in psycopg parsing its
#   placeholders alone and made an ingest slower than the three statements had.
_PG_VALUES_MAX = (4, 64)        # (events, patients) up to which the VALUES shape is used
_PG_TYPES = {"recorded": "bigint", "version": "integer", "chain_pos": "bigint", "query": "text",
             "patients": "text", "detail": "text"}
_PG_EVENTS = f"INSERT INTO {audit_event.name} ({', '.join(_EVENT_COLUMNS)})"
_PG_PATIENTS = f"INSERT INTO {audit_patient.name} (seq, patient_id) SELECT ev.seq, p.patient_id FROM ev JOIN"
_PG_MOVE = f" UPDATE {audit_chain_head.name} SET chain_pos = %s, hash = %s WHERE id = {HEAD_ID}"
_PG_ARRAYS = ", ".join(f"%s::{_PG_TYPES.get(c, 'varchar')}[]" for c in _EVENT_COLUMNS)
_PG_UNNEST = (f"WITH ev AS ({_PG_EVENTS} SELECT * FROM unnest({_PG_ARRAYS}) RETURNING seq, chain_pos), "
              f"pa AS ({_PG_PATIENTS} unnest(%s::bigint[], %s::varchar[]) AS p(chain_pos, patient_id) "
              f"ON p.chain_pos = ev.chain_pos)" + _PG_MOVE)


@lru_cache(maxsize=32)
def _pg_values(events: int, patients: int) -> str:
    row = f"({', '.join('%s' for _ in _EVENT_COLUMNS)})"
    sql = f"WITH ev AS ({_PG_EVENTS} VALUES {', '.join(row for _ in range(events))} RETURNING seq, chain_pos)"
    if patients:
        pairs = ", ".join("(%s::bigint, %s::varchar)" for _ in range(patients))
        sql += f", pa AS ({_PG_PATIENTS} (VALUES {pairs}) AS p(chain_pos, patient_id) ON p.chain_pos = ev.chain_pos)"
    return sql + _PG_MOVE


def _pg_write(conn: Connection, rows: list[dict]) -> None:
    """The rows (already chained) and the head's move to the last of them, in one statement."""
    linked = [(row["chain_pos"], p) for row in rows if row["patients"] for p in row["patients"].split(" ")]
    head = (rows[-1]["chain_pos"], rows[-1]["hash"])
    if len(rows) <= _PG_VALUES_MAX[0] and len(linked) <= _PG_VALUES_MAX[1]:
        _driver(conn, _pg_values(len(rows), len(linked)),
                (*(row[c] for row in rows for c in _EVENT_COLUMNS), *(v for pair in linked for v in pair), *head))
    else:
        _driver(conn, _PG_UNNEST, (*([row[c] for row in rows] for c in _EVENT_COLUMNS),
                                   [pos for pos, _ in linked], [p for _, p in linked], *head))


def _driver(conn: Connection, sql: str, params=None, *, many: bool = False, fetch: bool = False):  # noqa: ANN001, ANN202
    """Run one statement on the DBAPI cursor of the caller's transaction. Every audited write runs
    these: through exec_driver_sql each cost ~50 µs more CPU (execution context, result object) —
    on SQLite more than the database's own work. A driver error is raised as SQLAlchemy's
    (DBAPIError.instance: IntegrityError, OperationalError …), as the callers expect."""
    cur = conn.connection.cursor()
    try:
        if many:
            cur.executemany(sql, params)
        elif params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        return cur.fetchone() if fetch else None
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cur.close()


def _take_head(conn: Connection) -> tuple[int, str]:
    """The chain's last (position, hash), locked until the transaction ends (PostgreSQL; on SQLite
    the write transaction is already the only one)."""
    head = _driver(conn, _HEAD_SQL[conn.dialect.name], fetch=True)
    if head is None:
        _create_head(conn)
        head = conn.execute(_HEAD).first()
    return head[0], head[1]


def _create_head(conn: Connection) -> None:
    # The first event ever (or a head row someone removed): start from the last chained row, if
    # any, so the chain goes on rather than colliding on chain_pos. Two transactions may get here
    # at once on PostgreSQL: ON CONFLICT DO NOTHING makes the second wait for the first and then
    # use its row (READ COMMITTED: the re-select above sees it and locks it).
    last = conn.execute(_LAST_LINK).first()
    if last is not None:
        log.warning("audit chain head missing; restarting it at chain_pos %s (verify the chain)", last.chain_pos)
    values = {"id": HEAD_ID, "chain_pos": last.chain_pos if last else 0, "hash": last.hash if last else GENESIS}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    conn.execute(dialect_insert(audit_chain_head).values(**values).on_conflict_do_nothing())


def write(conn: Connection, records: list[AuditRecord]) -> tuple[int, str] | None:
    """Append the records to the chain inside the caller's transaction (call it last in it);
    returns the new head (chain_pos, hash)."""
    if not records:
        return None
    rows = [r.row() for r in records]       # before the lock: nothing here needs it
    pos, prev = _take_head(conn)
    for row in rows:
        pos += 1
        row["chain_pos"] = pos
        prev = row["hash"] = link_hash(prev, row)
    if conn.dialect.name == "postgresql":
        _pg_write(conn, rows)
        return pos, prev
    linked = [(p, row["chain_pos"]) for row in rows if row["patients"] for p in row["patients"].split(" ")]
    _driver(conn, _INSERT_EVENTS, [tuple(row[c] for c in _EVENT_COLUMNS) for row in rows], many=True)
    if linked:
        _driver(conn, _INSERT_PATIENTS, linked, many=True)
    _driver(conn, _MOVE_HEAD_SQL, (pos, prev))
    return pos, prev


# --- the head noted outside the chain (docs/audit.md "Anchors") ----------------------------------
# A trail wiped together with its head row verifies as "0 events, intact". So the head is also
# noted where a wiper must know to look: this node setting (moved with every own-transaction
# append: read flushes, logins … — at most about a second behind), and each backup's
# `.audit-head.json` beside it (store.backup). `benhan audit verify` checks the chain against both.
HEAD_SETTING = "audit_head_seen"


def head_note(pos: int, digest: str, recorded: int) -> str:
    return f"{pos}:{digest}:{recorded}"


def note_head(conn: Connection, head: tuple[int, str], recorded: int) -> None:
    from benhan.store.sync_tables import set_setting
    set_setting(conn, HEAD_SETTING, head_note(head[0], head[1], recorded))


def noted_head(conn: Connection) -> tuple[int, str, int] | None:
    """(chain_pos, hash, when noted µs) from the node setting, or None."""
    from benhan.store.sync_tables import get_setting
    value = get_setting(conn, HEAD_SETTING)
    try:
        pos, digest, recorded = (value or "").split(":")
        return int(pos), digest, int(recorded)
    except ValueError:
        return None


def append(db, records: list[AuditRecord]) -> None:  # noqa: ANN001
    """Write events at once in a transaction of their own (events that go with no other write)."""
    if records:
        with db.write() as conn:
            head = write(conn, records)
            note_head(conn, head, time.time_ns() // 1000)


def unstored(record: AuditRecord, error: BaseException) -> AuditRecord:
    """The minimal event left in the trail for a row the database refused even alone: who, when,
    for which patients, and that its full row is missing — so it does not vanish unnoticed."""
    return AuditRecord(recorded=record.recorded, interaction="audit-failure", agent=record.agent,
                       outcome="8", subtype="audit-failure", patients=record.patients,
                       res_type=record.res_type, source_address=record.source_address,
                       detail=json.dumps({"note": "audit row could not be stored",
                                          "interaction": str(record.interaction)[:32],
                                          "error": type(error).__name__}))


@dataclass(frozen=True)
class AuditHealth:
    ok: bool
    pending: int
    failing_since: float | None       # time.time() of the first failure of the current run of them
    last_error: str | None

    def line(self) -> str:
        if self.ok:
            return f"audit trail: ok ({self.pending} read events waiting)"
        return (f"audit trail: FAILING since {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.failing_since))}"
                f" ({self.pending} read events waiting; last error: {self.last_error})")


def _unavailable(exc: Exception) -> bool:
    """The database itself failed (locked, gone, full), as opposed to refusing a row's content."""
    from sqlalchemy.exc import DBAPIError as _DBAPIError, OperationalError
    return (isinstance(exc, (errors.DatabaseBusy, OperationalError))
            or (isinstance(exc, _DBAPIError) and exc.connection_invalidated))


class ReadAuditBuffer:
    """Read events, written in batches by a background thread (about every `flush_seconds`).

    A batch the database refuses is split in halves until the refused row is alone; that row is
    replaced by an `unstored` event, so one bad row never holds the others back. When the
    database refuses even that (it is down, the disk is full), the rows wait, up to `capacity`;
    beyond that `add` raises AuditUnavailable (503): a read that cannot be audited is not served
    (docs/audit.md "When the trail cannot be written"). close() (server shutdown) writes what waits.

    The thread lives as long as its store: close() ends it, after writing what waits; so does
    stop() (a store dropped without close: Store's finalizer), and a closed buffer writes a late row
    at once instead of starting another thread. Before this, a test's store left open kept its
    thread retrying into a database the test had dropped, to the end of the run.
    """

    def __init__(self, db, flush_seconds: float = 1.0, max_pending: int = 500,  # noqa: ANN001
                 capacity: int = 20_000):
        self._db = db
        self._pending: list[AuditRecord] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()   # one flush at a time: the thread, a full add, close
        self._wake = threading.Event()
        self._stop = False
        self._closed = False
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._capacity = capacity
        self._thread: threading.Thread | None = None
        self._failing_since: float | None = None
        self._last_error: str | None = None

    def add(self, record: AuditRecord) -> None:
        with self._lock:
            n = len(self._pending)
            if n < self._capacity:
                self._pending.append(record)
                n += 1
        if n >= self._capacity:
            self.flush()                        # in the caller: the buffer must not grow further
            with self._lock:
                if len(self._pending) >= self._capacity:
                    raise errors.AuditUnavailable("the audit trail cannot be written (the database refuses "
                                                  "it); reads are refused until it can")
                self._pending.append(record)
        if self._closed:
            self.flush()            # no thread after close: a late read is written by its caller
            return
        if self._thread is None:
            self._start()
        if n >= self._max_pending:
            self._wake.set()

    def health(self) -> AuditHealth:
        with self._lock:
            pending = len(self._pending)
        return AuditHealth(self._failing_since is None, pending, self._failing_since, self._last_error)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop:
                self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            self.flush()
        self.flush()        # what came while it wrote: before the thread ends
        if not self._closed:
            self._report_lost()     # close() reports after its own last try

    def stop(self) -> None:
        """Let the thread write what waits and end, without waiting for it: for a finalizer, which
        may run on any thread (the flush thread's own included) and must not block or do I/O."""
        self._stop = True
        self._wake.set()

    def flush(self) -> None:
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            left = self._store(batch)
            if left:
                with self._lock:
                    self._pending[:0] = left
                if self._failing_since is None:
                    self._failing_since = time.time()
                log.error("the audit trail cannot be written: %d read events wait (%s)", len(left), self._last_error)
            elif self._failing_since is not None:
                log.warning("the audit trail is written again (it failed since %s)",
                            time.strftime("%H:%M:%S UTC", time.gmtime(self._failing_since)))
                self._failing_since = None
                self._last_error = None

    def _store(self, batch: list[AuditRecord]) -> list[AuditRecord]:
        """Write the batch, halving around refused rows; returns the rows left unwritten because
        the database refuses everything (those wait for the next round)."""
        try:
            append(self._db, batch)
            return []
        except Exception as exc:  # noqa: BLE001 — any refusal: find the row, or find the database down
            self._last_error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
            if _unavailable(exc):
                return batch    # busy, unreachable, disk full: no row is to blame; try them all later
            if len(batch) == 1:
                return self._replace(batch[0], exc)
        half = len(batch) // 2
        left = self._store(batch[:half])
        if left:                # the database refuses even single rows: stop trying for this round
            return left + batch[half:]
        return self._store(batch[half:])

    def _replace(self, record: AuditRecord, error: Exception) -> list[AuditRecord]:
        for substitute in (unstored(record, error), unstored(AuditRecord(record.recorded, "?", "?"), error)):
            try:
                append(self._db, [substitute])
            except Exception:  # noqa: BLE001
                continue
            log.error("an audit row was refused (%s); stored as an audit-failure event instead", self._last_error)
            return []
        return [record]

    def close(self) -> None:
        """Stop the thread and write what waits (server shutdown); say so loudly if that fails.
        Called again (or after stop()) it writes what came since, once."""
        with self._lock:
            self._closed = True
            self._stop = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            # Its last flush (it writes what waits before ending) is waited for; a database that
            # hangs past the timeout leaves it to end on its own (it is a daemon, and stopped).
            thread.join(timeout=5)
            if thread.is_alive():
                log.warning("the audit flush thread is still writing after 5 s; closing without it")
        self.flush()
        self._report_lost()

    def _report_lost(self) -> None:
        with self._lock:
            lost = len(self._pending)
        if lost:
            log.error("shutting down with %d read events that could not be written to the audit trail (%s)",
                      lost, self._last_error)
