"""A per-process counter of changes to credentials and to what they grant: a token revoked, a
client disabled, a user changed (disabled, locked, roles, departments, access hours, password,
"log out everywhere"), a break-the-glass grant opened or reviewed.

The functions of oauth_tables and user_tables that write those rows call `changed(conn)`: the
counter moves at once, and again as that transaction commits. A cache of what a credential
resolves to (auth.token_cache) notes the counter before it reads the database and drops an entry
once the counter has moved since: a change made by this process is honoured by the next request
after it (only a lookup that read the rows during the commit's last instant, between the second
move and the COMMIT returning, could keep the old answer). Changes made by another process (a
second worker, the command line) are not counted here: the cache's time limit bounds those, and
that one too.
"""
from __future__ import annotations

import itertools

from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine

_counter = itertools.count(1)
_value = 0
_PENDING = "benhan_credentials_changed"


def value() -> int:
    return _value


def bump() -> None:
    global _value
    _value = next(_counter)     # next() on a count is atomic under the GIL


def changed(conn: Connection) -> None:
    """Credentials change in this transaction: move the counter now and when it commits."""
    bump()
    conn.info[_PENDING] = True


@event.listens_for(Engine, "commit")
def _after_commit(conn: Connection) -> None:
    # SQLAlchemy calls this just before it sends COMMIT: lookups that read the old rows between
    # changed() and here are dropped by this second move.
    if conn.info.pop(_PENDING, False):
        bump()


@event.listens_for(Engine, "rollback")
def _after_rollback(conn: Connection) -> None:
    # A rollback after the database server dropped the connection: `conn.info` would try to
    # reconnect and raise, hiding the error that caused the rollback. Nothing was committed.
    if conn.invalidated:
        return
    conn.info.pop(_PENDING, None)
