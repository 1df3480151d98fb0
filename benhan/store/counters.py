"""Numbers handed out one after another (receipt numbers per facility and year): a counter kept in
node_setting and moved in one statement, so two cashiers saving at the same moment, in two threads
or two server processes, never get the same number."""
from __future__ import annotations

from sqlalchemy import Connection, text

from benhan.store.database import Database

# One statement on both databases (SQLite ≥ 3.35 and PostgreSQL): the row is created at 1 or
# incremented under its row lock, and the new value is returned by the same statement.
_NEXT = text("INSERT INTO node_setting (key, value) VALUES (:key, '1') "
             "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(node_setting.value AS INTEGER) + 1 AS TEXT) "
             "RETURNING value")


def next_number(db: Database, key: str) -> int:
    """The next number of the counter `key` (1 for a new one), committed before it is returned."""
    if len(key) > 64:
        raise ValueError(f"counter key longer than 64 characters: {key!r}")
    with db.write() as conn:
        return next_in(conn, key)


def next_in(conn: Connection, key: str) -> int:
    """The same inside the caller's transaction: the number is used only if that commits (an
    e-invoice takes its number and is queued in one transaction, so no number is lost)."""
    if len(key) > 64:
        raise ValueError(f"counter key longer than 64 characters: {key!r}")
    return int(conn.execute(_NEXT, {"key": key}).scalar_one())
