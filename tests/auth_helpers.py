"""Credentials for tests that are not about authentication: one backend-system client with every
system scope, and a bearer token of it written straight into the database under test (the token
endpoint and its JWT assertions are the OAuth tests' subject, not every test's)."""
from __future__ import annotations

import hashlib
import time

from sqlalchemy import create_engine, insert, select

from benhan.store.schema import oauth_client, oauth_token

SYSTEM_CLIENT = "benhan-tests"
SYSTEM_SCOPE = "system/*.cruds"
TOKEN = "benhan-test-token-system-all-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YEAR_US = 365 * 86400 * 10**6


def install(conn, token: str = TOKEN, scope: str = SYSTEM_SCOPE, client_id: str = SYSTEM_CLIENT,  # noqa: ANN001
            *, user_pk: int | None = None, patient_id: str | None = None) -> str:
    now = time.time_ns() // 1000
    if conn.execute(select(oauth_client.c.client_id).where(oauth_client.c.client_id == client_id)).first() is None:
        conn.execute(insert(oauth_client).values(
            client_id=client_id, name="benhan test suite", kind="system", auth_method="private_key_jwt",
            jwks='{"keys": []}', redirect_uris="", scopes=scope, created=now))
    digest = hashlib.sha256(token.encode()).hexdigest()
    if conn.execute(select(oauth_token.c.token_hash).where(oauth_token.c.token_hash == digest)).first() is None:
        conn.execute(insert(oauth_token).values(
            token_hash=digest, kind="access", client_id=client_id, scope=scope, issued=now,
            expires=now + YEAR_US, user_pk=user_pk, patient_id=patient_id))
    return token


def install_in_store(store) -> dict[str, str]:  # noqa: ANN001
    with store.db.write() as conn:
        install(conn)
    return dict(AUTH)


def install_at(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            install(conn)
    finally:
        engine.dispose()
    return dict(AUTH)


def token_for(store, scope: str, *, user_pk: int | None = None, patient_id: str | None = None) -> dict[str, str]:  # noqa: ANN001
    """Authorization headers of a fresh token with this scope (for a user through an app when
    user_pk is given; a backend system otherwise)."""
    import secrets
    raw = secrets.token_urlsafe(24)
    with store.db.write() as conn:
        install(conn, raw, scope, client_id=SYSTEM_CLIENT if user_pk is None else "benhan-tests-app",
                user_pk=user_pk, patient_id=patient_id)
    return {"Authorization": f"Bearer {raw}"}


def time_passes(client, seconds: float) -> None:  # noqa: ANN001
    """Move the clock of the app's cache of resolved bearer tokens (auth/token_cache.py) on by
    `seconds`: for a test that changes the database behind the server's back to stand for time
    passing (a grant expired), what the cache kept is then as old as it would be by then."""
    cache = client.app.state.token_cache
    clock = cache.clock
    cache.clock = lambda: clock() + seconds
