"""Rows of OAuth clients, tokens, authorization codes and used client-assertion ids (schema 0002).
Plain table access only: the protocol (what may be granted, when a token is valid) lives in
benhan/auth/oauth_*.py and benhan/auth/tokens.py.

Single-use things (a code, a refresh token, an assertion's jti) are claimed with one conditional
UPDATE or INSERT whose row count says who won, so two concurrent requests cannot both use them —
on SQLite and on PostgreSQL alike."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from benhan.store import credential_epoch
from benhan.store.schema import oauth_assertion, oauth_client, oauth_code, oauth_token, resource

# --- clients ---------------------------------------------------------------------------------------


def insert_client(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(oauth_client).values(**values))


def client_row(conn: Connection, client_id: str):  # noqa: ANN201
    return conn.execute(select(oauth_client).where(oauth_client.c.client_id == client_id)).first()


def client_rows(conn: Connection) -> list:
    return conn.execute(select(oauth_client).order_by(oauth_client.c.created)).all()


def update_client(conn: Connection, client_id: str, **values: Any) -> int:
    credential_epoch.changed(conn)      # e.g. disabled: its tokens stop (auth.token_cache)
    return conn.execute(update(oauth_client).where(oauth_client.c.client_id == client_id)
                        .values(**values)).rowcount


# --- tokens ----------------------------------------------------------------------------------------

# What a bearer request needs, in one primary-key lookup joined to its client (also by primary key).
# Built once with a bound parameter: building the statement per call (and its cache key) cost more
# than running it.
_LOOKUP = (select(oauth_token.c.kind, oauth_token.c.client_id, oauth_token.c.user_pk, oauth_token.c.scope,
                  oauth_token.c.patient_id, oauth_token.c.issued, oauth_token.c.expires,
                  oauth_token.c.revoked_at, oauth_token.c.family, oauth_client.c.disabled_at)
           .select_from(oauth_token.join(oauth_client, oauth_client.c.client_id == oauth_token.c.client_id))
           .where(oauth_token.c.token_hash == bindparam("token_hash")))


def insert_token(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(oauth_token).values(**values))


def token_row(conn: Connection, token_hash: str):  # noqa: ANN201
    """The token with its client's disabled_at, or None."""
    return conn.execute(_LOOKUP, {"token_hash": token_hash}).first()


def revoke_token(conn: Connection, token_hash: str, now: int) -> bool:
    """Revoke one live token; False when it was already revoked (or unknown)."""
    credential_epoch.changed(conn)
    return conn.execute(update(oauth_token).where(and_(oauth_token.c.token_hash == token_hash,
                                                       oauth_token.c.revoked_at.is_(None)))
                        .values(revoked_at=now)).rowcount == 1


def revoke_family(conn: Connection, family: str, now: int) -> int:
    credential_epoch.changed(conn)
    return conn.execute(update(oauth_token).where(and_(oauth_token.c.family == family,
                                                       oauth_token.c.revoked_at.is_(None)))
                        .values(revoked_at=now)).rowcount


def revoke_client_tokens(conn: Connection, client_id: str, now: int) -> int:
    credential_epoch.changed(conn)
    return conn.execute(update(oauth_token).where(and_(oauth_token.c.client_id == client_id,
                                                       oauth_token.c.revoked_at.is_(None)))
                        .values(revoked_at=now)).rowcount


def purge_tokens(conn: Connection, expired_before: int) -> int:
    return conn.execute(delete(oauth_token).where(oauth_token.c.expires < expired_before)).rowcount


# --- authorization codes ---------------------------------------------------------------------------


def insert_code(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(oauth_code).values(**values))


def code_row(conn: Connection, code_hash: str):  # noqa: ANN201
    return conn.execute(select(oauth_code).where(oauth_code.c.code_hash == code_hash)).first()


def claim_code(conn: Connection, code_hash: str, client_id: str, now: int) -> bool:
    """Mark an unused, unexpired code of this client used; True for the one caller that did."""
    return conn.execute(update(oauth_code).where(and_(
        oauth_code.c.code_hash == code_hash, oauth_code.c.client_id == client_id,
        oauth_code.c.used_at.is_(None), oauth_code.c.expires > now)).values(used_at=now)).rowcount == 1


def purge_codes(conn: Connection, expired_before: int) -> int:
    return conn.execute(delete(oauth_code).where(oauth_code.c.expires < expired_before)).rowcount


# --- client assertions (jti replay protection) -----------------------------------------------------


def remember_assertion(conn: Connection, client_id: str, jti: str, expires: int, now: int) -> bool:
    """Record a client assertion's jti; False when it was seen before (a replay). Expired ids are
    dropped first, so the table holds only the last few minutes' assertions."""
    conn.execute(delete(oauth_assertion).where(oauth_assertion.c.expires < now))
    try:
        with conn.begin_nested():
            conn.execute(insert(oauth_assertion).values(client_id=client_id, jti=jti, expires=expires))
    except IntegrityError:
        return False
    return True


# --- launch context --------------------------------------------------------------------------------


def patient_exists(conn: Connection, patient_id: str) -> bool:
    return conn.execute(select(resource.c.pk).where(and_(
        resource.c.res_type == "Patient", resource.c.res_id == patient_id,
        resource.c.deleted.is_(False)))).first() is not None
