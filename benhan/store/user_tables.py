"""Rows of users, web sessions and break-the-glass grants (schema 0002). Plain table access only:
the rules (passwords, lockout, time windows, what a role may do) live in benhan/auth/."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from benhan.store import credential_epoch
from benhan.store.schema import break_glass, oauth_token, user_account, user_session


def insert_user(conn: Connection, values: dict[str, Any]) -> int:
    return conn.execute(insert(user_account).values(**values).returning(user_account.c.pk)).scalar_one()


# Built once: these run on every authenticated request, and building a statement costs more CPU
# than SQLite's own work for it.
_USER_BY_PK = select(user_account).where(user_account.c.pk == bindparam("pk"))
_USER_BY_NAME = select(user_account).where(user_account.c.username == bindparam("name"))
_ACTIVE_BREAK_GLASS = (select(break_glass).where(and_(
    break_glass.c.user_pk == bindparam("user_pk"), break_glass.c.expires > bindparam("now"),
    break_glass.c.ended_at.is_(None))).order_by(break_glass.c.started))
_SESSION = select(user_session).where(user_session.c.id_hash == bindparam("id_hash"))


def user_row(conn: Connection, *, pk: int | None = None, username: str | None = None):  # noqa: ANN201
    if pk is not None:
        return conn.execute(_USER_BY_PK, {"pk": pk}).first()
    return conn.execute(_USER_BY_NAME, {"name": username}).first()


def user_rows(conn: Connection) -> list:
    return conn.execute(select(user_account).order_by(user_account.c.username)).all()


# Columns whose change never takes anything away from a user (the login bookkeeping): updating
# only these leaves cached actors alone (a session's periodic touch would otherwise drop them all).
_BOOKKEEPING = frozenset({"last_activity", "last_login", "failed_logins"})


def update_user(conn: Connection, pk: int, **values: Any) -> None:
    if not values.keys() <= _BOOKKEEPING:
        credential_epoch.changed(conn)      # roles, disabled, locked, hours …: cached actors dropped (auth.token_cache)
    conn.execute(update(user_account).where(user_account.c.pk == pk).values(**values))


def count_users(conn: Connection) -> int:
    return len(conn.execute(select(user_account.c.pk).limit(1)).all())


# --- sessions --------------------------------------------------------------------------------------

def insert_session(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(user_session).values(**values))


def session_row(conn: Connection, id_hash: str):  # noqa: ANN201
    return conn.execute(_SESSION, {"id_hash": id_hash}).first()


def update_session(conn: Connection, id_hash: str, **values: Any) -> None:
    conn.execute(update(user_session).where(user_session.c.id_hash == id_hash).values(**values))


def end_user_sessions(conn: Connection, user_pk: int, now: int) -> None:
    """Logout everywhere: every session of the user, and every OAuth token issued to them."""
    credential_epoch.changed(conn)
    conn.execute(update(user_session).where(and_(user_session.c.user_pk == user_pk,
                                                 user_session.c.ended_at.is_(None))).values(ended_at=now))
    conn.execute(update(oauth_token).where(and_(oauth_token.c.user_pk == user_pk,
                                                oauth_token.c.revoked_at.is_(None))).values(revoked_at=now))


def purge_sessions(conn: Connection, older_than: int) -> None:
    conn.execute(delete(user_session).where(or_(user_session.c.last_seen < older_than,
                                                user_session.c.ended_at < older_than)))


# --- break-the-glass -------------------------------------------------------------------------------

def insert_break_glass(conn: Connection, values: dict[str, Any]) -> int:
    credential_epoch.changed(conn)      # the grant widens the user's access from the next request
    return conn.execute(insert(break_glass).values(**values).returning(break_glass.c.pk)).scalar_one()


def active_break_glass(conn: Connection, user_pk: int, now: int) -> list:
    return conn.execute(_ACTIVE_BREAK_GLASS, {"user_pk": user_pk, "now": now}).all()


def break_glass_rows(conn: Connection, *, unreviewed_only: bool = False, limit: int = 200) -> list:
    q = select(break_glass, user_account.c.username, user_account.c.display_name).select_from(
        break_glass.join(user_account, user_account.c.pk == break_glass.c.user_pk))
    if unreviewed_only:
        q = q.where(break_glass.c.reviewed_at.is_(None))
    return conn.execute(q.order_by(break_glass.c.started.desc()).limit(limit)).all()


def review_break_glass(conn: Connection, pk: int, reviewer_pk: int, now: int, note: str) -> bool:
    done = conn.execute(update(break_glass).where(and_(break_glass.c.pk == pk, break_glass.c.reviewed_at.is_(None)))
                        .values(reviewed_by=reviewer_pk, reviewed_at=now, review_note=note))
    return done.rowcount == 1
