"""benhan.auth.tokens: what the authentication hook relies on for every bearer request."""
from __future__ import annotations

from sqlalchemy import select

from benhan.auth import oauth_clients, tokens
from benhan.store.schema import oauth_token
from tests.auth.oauth_helpers import BackendKey


def system_client(store) -> str:  # noqa: ANN001
    return oauth_clients.register_client(store, "Hệ thống", "system", scope="system/*.rs", jwks=BackendKey().jwks)[0].client_id


def test_an_issued_token_is_found_with_its_client_scope_and_context(store):
    client_id = system_client(store)
    before = tokens.now_us()
    raw = tokens.issue_token(store, client_id, "patient/*.rs", user_pk=None, patient_id="p1", minutes=10)
    after = tokens.now_us()
    info = tokens.lookup(store, raw)
    assert (info.client_id, info.scope, info.patient_id, info.user_pk, info.kind) == \
        (client_id, "patient/*.rs", "p1", None, "access")
    assert before + 10 * 60_000_000 <= info.expires <= after + 10 * 60_000_000   # no timing assumption


def test_only_the_hash_is_stored(store):
    raw = tokens.issue_token(store, system_client(store), "system/*.rs")
    with store.db.read() as conn:
        stored = conn.execute(select(oauth_token.c.token_hash)).scalars().all()
    assert stored == [tokens.token_hash(raw)] and raw not in stored


def test_unknown_expired_revoked_oversized_and_disabled_client_tokens_are_not_found(store):
    client_id = system_client(store)
    assert tokens.lookup(store, tokens.new_token()) is None
    assert tokens.lookup(store, "") is None and tokens.lookup(store, None) is None
    assert tokens.lookup(store, "x" * 10_000) is None
    assert tokens.lookup(store, tokens.issue_token(store, client_id, "system/*.rs", minutes=0)) is None
    revoked = tokens.issue_token(store, client_id, "system/*.rs")
    assert tokens.revoke(store, revoked) is True
    assert tokens.lookup(store, revoked) is None and tokens.revoke(store, revoked) is False
    live = tokens.issue_token(store, client_id, "system/*.rs")
    oauth_clients.disable_client(store, client_id)
    assert tokens.lookup(store, live) is None


def test_a_refresh_token_is_not_an_access_token(store):
    from benhan.store import oauth_tables
    client_id = system_client(store)
    raw = tokens.new_token()
    now = tokens.now_us()
    with store.db.write() as conn:
        oauth_tables.insert_token(conn, {"token_hash": tokens.token_hash(raw), "kind": "refresh", "client_id": client_id,
                                         "user_pk": None, "scope": "user/*.rs", "patient_id": None, "issued": now,
                                         "expires": now + 60_000_000, "revoked_at": None, "family": "f"})
    assert tokens.lookup(store, raw) is None
    assert tokens.lookup(store, raw, kind="refresh") is not None


def test_no_token_starts_with_a_dash():
    """A node's enrolment token is pasted on a command line (`benhan node enroll URL TOKEN`), where one
    starting with "-" is taken for an option and refused: one in 64 did (2,000 draws: none may)."""
    drawn = [tokens.new_token() for _ in range(2000)]
    assert not [t for t in drawn if t.startswith("-")]
    assert len(set(drawn)) == 2000 and all(len(t) == 43 for t in drawn)
