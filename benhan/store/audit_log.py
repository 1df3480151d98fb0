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
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from benhan.store.schema import audit_chain_head, audit_event, audit_patient

log = logging.getLogger(__name__)

ACTIONS = {"create": "C", "update": "U", "patch": "U", "delete": "D", "read": "R", "vread": "R",
           "search-type": "E", "search-system": "E", "history-instance": "R", "history-type": "R",
           "history-system": "R", "transaction": "E", "batch": "E", "backup": "E", "restore": "E",
           "print": "R", "export": "R", "permission": "U"}

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
        patients = " ".join(sorted(set(self.patients))) if self.patients else None
        return {"recorded": self.recorded, "interaction": self.interaction, "agent": self.agent,
                "outcome": self.outcome, "source_address": self.source_address, "res_type": self.res_type,
                "res_id": self.res_id, "version": self.version, "query": self.query,
                "action": ACTIONS.get(self.interaction, "E"),
                "patients": patients or None, "subtype": self.subtype, "role": self.role,
                "client_id": self.client_id, "purpose": self.purpose, "detail": self.detail}


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
# Two shapes of it, measured (bench/bench_audit.py, docs/benchmarks.md "Audit trail"):
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


def write(conn: Connection, records: list[AuditRecord]) -> None:
    """Append the records to the chain inside the caller's transaction (call it last in it)."""
    if not records:
        return
    rows = [r.row() for r in records]       # before the lock: nothing here needs it
    pos, prev = _take_head(conn)
    for row in rows:
        pos += 1
        row["chain_pos"] = pos
        prev = row["hash"] = link_hash(prev, row)
    if conn.dialect.name == "postgresql":
        _pg_write(conn, rows)
        return
    linked = [(p, row["chain_pos"]) for row in rows if row["patients"] for p in row["patients"].split(" ")]
    _driver(conn, _INSERT_EVENTS, [tuple(row[c] for c in _EVENT_COLUMNS) for row in rows], many=True)
    if linked:
        _driver(conn, _INSERT_PATIENTS, linked, many=True)
    _driver(conn, _MOVE_HEAD_SQL, (pos, prev))


def append(db, records: list[AuditRecord]) -> None:  # noqa: ANN001
    """Write events at once in a transaction of their own (events that go with no other write)."""
    if records:
        with db.write() as conn:
            write(conn, records)


class ReadAuditBuffer:
    def __init__(self, db, flush_seconds: float = 1.0, max_pending: int = 500):  # noqa: ANN001
        self._db = db
        self._pending: list[AuditRecord] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._thread: threading.Thread | None = None

    def add(self, record: AuditRecord) -> None:
        with self._lock:
            self._pending.append(record)
            n = len(self._pending)
        if self._thread is None:
            self._start()
        if n >= self._max_pending:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            with self._db.write() as conn:
                write(conn, batch)
        except Exception:  # keep them for the next round rather than lose them
            log.exception("writing %d audit rows failed; will retry", len(batch))
            with self._lock:
                self._pending[:0] = batch

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
