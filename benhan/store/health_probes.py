"""The SQL behind `benhan doctor` and the health page (ops/doctor.py decides what the numbers mean;
this only reads them, because only store/ speaks SQL).

Every probe reads and never writes; the SQLite integrity check opens the file read-only with the
sqlite3 module itself, so a damaged file gives SQLite's own words rather than an engine error.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from benhan.store import migrate
from benhan.store.audit_log import CHAIN_FIELDS
from benhan.store.database import Database
from benhan.store.schema import audit_chain_head, audit_event, outbox_item


@dataclass
class Integrity:
    ok: bool
    problems: list[str] = field(default_factory=list)   # SQLite's own lines (at most 10)
    size_bytes: int | None = None
    detail: dict = field(default_factory=dict)           # PostgreSQL: version, pg_stat_database counters


def sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not url.startswith("sqlite") or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def sqlite_integrity(path: Path, full: bool = False, url: str | None = None) -> Integrity:
    """PRAGMA quick_check (or integrity_check with `full`) on the file, opened read-only — through
    SQLCipher with its key when the database is encrypted at rest (store/encryption.py)."""
    if not path.is_file():
        return Integrity(False, [f"{path} does not exist"])
    pragma = "integrity_check" if full else "quick_check"
    from benhan import errors
    from benhan.store import encryption
    where = encryption.target(url or f"sqlite:///{path}")
    try:
        key = encryption.key_for(where)
    except errors.BenhanError as exc:
        return Integrity(False, [exc.message], path.stat().st_size)
    read_only = Path(f"file:{path}?mode=ro")
    dbapi_error = encryption.dbapi().DatabaseError if key is not None else sqlite3.DatabaseError
    try:
        con = (encryption.connect(read_only, key, uri=True, timeout=10) if key is not None
               else sqlite3.connect(str(read_only), uri=True, timeout=10))
        try:
            lines = [r[0] for r in con.execute(f"PRAGMA {pragma}(10)").fetchall()]
            pages, page_size = (con.execute("PRAGMA page_count").fetchone()[0],
                                con.execute("PRAGMA page_size").fetchone()[0])
        finally:
            con.close()
    except (sqlite3.DatabaseError, dbapi_error) as exc:
        return Integrity(False, [str(exc)], path.stat().st_size)
    # int(): SQLCipher answers PRAGMA page_size with text.
    return Integrity(lines == ["ok"], [] if lines == ["ok"] else lines, int(pages) * int(page_size))


def postgres_health(db: Database) -> Integrity:
    """Connection, server version and this database's pg_stat_database counters and size."""
    with db.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        num = int(conn.execute(text("SHOW server_version_num")).scalar())
        checksum = ", checksum_failures" if num >= 120000 else ""
        row = conn.execute(text(
            "SELECT numbackends, xact_commit, xact_rollback, deadlocks, conflicts, temp_bytes"
            f"{checksum}, pg_database_size(datname) AS size FROM pg_stat_database "
            "WHERE datname = current_database()")).mappings().first()
    stats = dict(row) if row else {}
    size = stats.pop("size", None)
    stats = {k: int(v or 0) for k, v in stats.items()}
    problems = []
    if stats.get("checksum_failures"):
        problems.append(f"checksum_failures = {stats['checksum_failures']}")
    if stats.get("deadlocks"):
        problems.append(f"deadlocks = {stats['deadlocks']}")
    return Integrity(not stats.get("checksum_failures"), problems, int(size) if size is not None else None,
                     {"server_version": version, "server_version_num": num, **stats})


def schema_state(db: Database) -> dict:
    return {"state": migrate.status(db), "current": migrate.current_revision(db), "head": migrate.head_revision()}


@dataclass
class OutboxKind:
    kind: str
    waiting: int = 0                 # pending or being sent
    failed: int = 0                  # rejected or given up
    oldest_waiting_us: int | None = None
    oldest_failed_us: int | None = None


def outbox_summary(db: Database) -> list[OutboxKind]:
    """Per kind of message: how many wait and how many failed, and since when (created_at)."""
    q = (select(outbox_item.c.kind, outbox_item.c.state, func.count(), func.min(outbox_item.c.created_at))
         .where(outbox_item.c.state.in_(("pending", "sending", "rejected", "given-up")))
         .group_by(outbox_item.c.kind, outbox_item.c.state))
    kinds: dict[str, OutboxKind] = {}
    with db.read() as conn:
        for kind, state, n, oldest in conn.execute(q):
            k = kinds.setdefault(kind, OutboxKind(kind))
            if state in ("pending", "sending"):
                k.waiting += n
                k.oldest_waiting_us = min(filter(None, (k.oldest_waiting_us, oldest)), default=None)
            else:
                k.failed += n
                k.oldest_failed_us = min(filter(None, (k.oldest_failed_us, oldest)), default=None)
    return sorted(kinds.values(), key=lambda k: k.kind)


@dataclass
class ChainTail:
    head: tuple[int, str] | None
    rows: list[dict]          # the last links in chain_pos order, each with chain_pos, hash and its fields


def chain_tail(db: Database, links: int) -> ChainTail:
    """The head and the last `links` + 1 chained rows (the first one only gives its hash: the
    previous link of the next)."""
    with db.read() as conn:
        found = conn.execute(select(audit_chain_head.c.chain_pos, audit_chain_head.c.hash)).first()
        head = (found.chain_pos, found.hash) if found else None
        if head is None:
            return ChainTail(None, [])
        cols = [audit_event.c.chain_pos, audit_event.c.hash, *(audit_event.c[n] for n in CHAIN_FIELDS)]
        rows = conn.execute(select(*cols).where(audit_event.c.chain_pos >= head[0] - links)
                            .order_by(audit_event.c.chain_pos)).mappings().all()
    return ChainTail(head, [dict(r) for r in rows])
