"""Loading a large amount of data into an empty database: the secondary indexes are built once at
the end instead of row by row.

A resource has ~20 index rows; each goes into B-trees keyed by random values (codes, UUIDs of
references, measured quantities), so as the database grows every insert lands on a page that is no
longer in the cache and the load slows down (measured on SQLite: 2,300 resources/s at the start of a
600k-resource load, 1,690/s at its end). Building an index over the finished table is one sort.

While the indexes are deferred the data are complete and correct but searches are slow, so the
deferral is recorded in the database (node_setting) before the first index is dropped: a load that
is killed half-way leaves the flag, and the next Store.open builds the missing indexes before
anything else runs (`ensure_indexes`).

Only non-unique secondary indexes are deferred. Unique constraints (resource ids, the audit chain's
positions) stay, so a bulk load is checked exactly as any write is.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Index, delete, select

from benhan.store.database import SQLITE_CACHE_KB, Database
from benhan.store.schema import INDEX_TABLES, metadata, node_setting, resource
from benhan.store.sync_tables import get_setting, set_setting

log = logging.getLogger(__name__)

FLAG = "bulk_load_deferred_indexes"
# Tables written by every resource write; the others (users, sessions, sync) are untouched by a load.
_BULK_TABLES = frozenset({"resource", "change_log", "audit_event", "audit_patient",
                          *(t.name for t in INDEX_TABLES.values())})


def deferrable_indexes() -> list[Index]:
    return sorted((ix for table in metadata.tables.values() if table.name in _BULK_TABLES
                   for ix in table.indexes if not ix.unique), key=lambda ix: ix.name)


def worth_deferring(db: Database, new_resources: int) -> bool:
    """Whether building the indexes afterwards beats keeping them: the load adds more than is there."""
    with db.engine.connect() as conn:
        # "Are there at least this many?" without counting the whole table (a full scan on PostgreSQL).
        as_many = conn.execute(select(resource.c.pk).order_by(resource.c.pk)
                               .offset(max(new_resources - 1, 0)).limit(1)).first()
    return new_resources > 0 and as_many is None


@contextmanager
def deferred_indexes(db: Database) -> Iterator[None]:
    """Drop the deferrable indexes for the block, and build them again after it (also when it fails).
    Meant for an empty database; elsewhere, rebuilding would take longer than what it saves."""
    with db.write() as conn:
        set_setting(conn, FLAG, "1")
        for ix in deferrable_indexes():
            ix.drop(conn, checkfirst=True)
    try:
        yield
    finally:
        build_indexes(db)


def build_indexes(db: Database) -> float:
    """Create every deferrable index that is missing and clear the flag; returns the seconds it took."""
    started = time.perf_counter()
    with db.write() as conn:
        if db.is_sqlite:
            # The sorter of CREATE INDEX works in the page cache: a larger one means fewer temporary
            # files (the connection's usual size is restored after).
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
        try:
            for ix in deferrable_indexes():
                ix.create(conn, checkfirst=True)
            conn.execute(delete(node_setting).where(node_setting.c.key == FLAG))
        finally:
            if db.is_sqlite:
                conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
    return time.perf_counter() - started


def ensure_indexes(db: Database) -> None:
    """At start-up: finish what a killed bulk load left (its indexes), before the server serves."""
    with db.engine.connect() as conn:
        pending = get_setting(conn, FLAG)
    if pending is not None:
        log.warning("a bulk load did not finish: building its search indexes now (this can take minutes)")
        seconds = build_indexes(db)
        log.warning("search indexes built in %.0f s", seconds)
