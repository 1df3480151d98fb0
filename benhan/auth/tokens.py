"""OAuth access and refresh tokens: opaque random strings, stored only as their SHA-256.

Opaque rather than JWT: this server is the only resource server, so it looks every token up anyway
(that is what makes revocation, a disabled client and "logout everywhere" take effect at once), and
a random string leaks nothing if it ends up in a log. `lookup` runs on every bearer request: one
primary-key query joined to the client's row by its primary key."""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from benhan.store import oauth_tables
from benhan.store.store import Store

MINUTE_US = 60_000_000
MAX_TOKEN_LENGTH = 200   # ours are 43 characters; anything much longer is not ours


def now_us() -> int:
    return time.time_ns() // 1000


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    # Never starting with "-": a token is pasted on a command line (`benhan node enroll URL TOKEN`),
    # where one that starts with "-" is read as an option and refused (1 in 64 did).
    while True:
        raw = secrets.token_urlsafe(32)
        if not raw.startswith("-"):
            return raw


@dataclass(frozen=True)
class TokenInfo:
    client_id: str
    user_pk: int | None
    scope: str
    patient_id: str | None
    expires: int           # µs since epoch, UTC
    kind: str = "access"


def lookup(store: Store, raw: str | None, *, kind: str = "access") -> TokenInfo | None:
    """The live token `raw` (an access token unless `kind` says otherwise); None when unknown,
    expired, revoked, of another kind or its client is disabled."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    with store.db.read_single() as conn:        # one statement: no BEGIN/COMMIT on PostgreSQL
        row = oauth_tables.token_row(conn, token_hash(raw))
    if (row is None or row.kind != kind or row.revoked_at is not None or row.disabled_at is not None
            or row.expires <= now_us()):
        return None
    return TokenInfo(row.client_id, row.user_pk, row.scope, row.patient_id, row.expires, row.kind)


def issue_token(store: Store, client_id: str, scope: str, *, user_pk: int | None = None,
                patient_id: str | None = None, minutes: int | None = None) -> str:
    """An access token for a registered client, without an OAuth exchange (CLI, scripts, tests).
    The scope is taken as given: the caller (an administrator) is trusted with it."""
    from benhan.auth.scopes import check
    scope = " ".join(check(scope))
    raw = new_token()
    now = now_us()
    lifetime = minutes if minutes is not None else store.config.access_token_minutes
    with store.db.write() as conn:
        client = oauth_tables.client_row(conn, client_id)
        if client is None or client.disabled_at is not None:
            raise LookupError(f"no active OAuth client {client_id!r}")
        oauth_tables.insert_token(conn, {
            "token_hash": token_hash(raw), "kind": "access", "client_id": client_id, "user_pk": user_pk,
            "scope": scope, "patient_id": patient_id, "issued": now, "expires": now + lifetime * MINUTE_US,
            "revoked_at": None, "family": None})
    return raw


def revoke(store: Store, raw: str) -> bool:
    """Revoke a token (a refresh token takes its whole family with it); False if it was not live."""
    with store.db.write() as conn:
        row = oauth_tables.token_row(conn, token_hash(raw))
        if row is None:
            return False
        done = oauth_tables.revoke_token(conn, token_hash(raw), now_us())
        if row.kind == "refresh" and row.family:
            oauth_tables.revoke_family(conn, row.family, now_us())
    return done
