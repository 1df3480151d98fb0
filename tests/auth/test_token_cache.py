"""The cache of resolved bearer tokens (auth/token_cache.py, web/authn.py) never outlives what it
caches: a revoked token, a disabled client or user, a changed role and a new break-the-glass grant
take effect on the next request when made through this process, and within the cache's time limit
(TTL_SECONDS) when made behind its back (another worker process, the command line) — on SQLite
and PostgreSQL. No test waits: the cache's clock is moved on (auth_helpers.time_passes)."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from benhan.auth import break_glass, tokens, users
from benhan.auth.actor import Actor
from benhan.auth.token_cache import TTL_SECONDS, TokenActorCache
from benhan.store import credential_epoch
from benhan.store.repository import Repository
from benhan.store.schema import oauth_token, user_account
from benhan.web import authn
from tests.auth_helpers import SYSTEM_SCOPE, time_passes, token_for

PASSWORD = "mật khẩu đủ dài cho bệnh viện"


def _raw(headers: dict) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def _doctor(store, name: str = "bs.cache", roles: tuple[str, ...] = ("doctor",)) -> users.User:  # noqa: ANN001
    user, _ = users.create_user(store, name, "Bác sĩ Cache", list(roles), password=PASSWORD)
    return user


@pytest.fixture(autouse=True)
def stopped_clock(client) -> None:  # noqa: ANN001
    """The cache's clock stands still unless a test moves it (time_passes): on a loaded machine a
    few requests can take longer than the limit, and then nothing would show the cache at work."""
    client.app.state.token_cache.clock = lambda: 1000.0


@pytest.fixture
def lookups(monkeypatch) -> list[str]:  # noqa: ANN001
    """Every time a token is resolved from the database (a cache miss)."""
    seen: list[str] = []
    real = authn._token_actor_until

    def counted(store, raw, source):  # noqa: ANN001, ANN202
        seen.append(raw)
        return real(store, raw, source)
    monkeypatch.setattr(authn, "_token_actor_until", counted)
    return seen


def test_a_token_is_resolved_once_then_served_from_the_cache(client, store, lookups):
    headers = token_for(store, SYSTEM_SCOPE)
    for _ in range(3):
        assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    assert lookups == [_raw(headers)]
    time_passes(client, TTL_SECONDS)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    assert lookups == [_raw(headers)] * 2       # older than the limit: resolved again


def test_a_revoked_token_is_refused_on_the_next_request(client, store):
    headers = token_for(store, SYSTEM_SCOPE)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    assert tokens.revoke(store, _raw(headers))
    r = client.get("/fhir/Patient?_count=1", headers=headers)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_a_token_revoked_behind_the_servers_back_is_refused_within_the_limit(client, store):
    # As another worker process or `benhan token revoke` would: the rows change, nothing here hears of it.
    headers = token_for(store, SYSTEM_SCOPE)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    epoch = credential_epoch.value()
    with store.db.write() as conn:
        conn.execute(update(oauth_token).where(oauth_token.c.token_hash == tokens.token_hash(_raw(headers)))
                     .values(revoked_at=tokens.now_us()))
    assert credential_epoch.value() == epoch
    time_passes(client, TTL_SECONDS)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 401


def test_a_disabled_user_is_refused_on_the_next_request(client, store):
    doctor = _doctor(store)
    headers = token_for(store, "user/*.rs", user_pk=doctor.pk)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    users.disable(store, doctor, by="admin")
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 401


def test_a_user_disabled_behind_the_servers_back_is_refused_within_the_limit(client, store):
    doctor = _doctor(store)
    headers = token_for(store, "user/*.rs", user_pk=doctor.pk)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    with store.db.write() as conn:
        conn.execute(update(user_account).where(user_account.c.pk == doctor.pk)
                     .values(disabled_at=tokens.now_us()))
    time_passes(client, TTL_SECONDS)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 401


def test_a_role_taken_away_applies_on_the_next_request(client, store):
    doctor = _doctor(store)
    headers = token_for(store, "user/*.rs", user_pk=doctor.pk)
    assert client.get("/fhir/Observation?_count=1", headers=headers).status_code == 200
    users.set_access(store, doctor, by="admin", roles=["cashier"])
    assert client.get("/fhir/Observation?_count=1", headers=headers).status_code == 403


def test_a_disabled_client_is_refused_on_the_next_request(client, store):
    from benhan.store import oauth_tables
    headers = token_for(store, SYSTEM_SCOPE)
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    with store.db.write() as conn:
        oauth_tables.update_client(conn, "benhan-tests", disabled_at=tokens.now_us())
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 401


def test_a_break_the_glass_grant_applies_on_the_next_request(client, store):
    patient = Repository(store, Actor.system("test")).create("Patient", {"resourceType": "Patient"}).res_id
    nurse = _doctor(store, "dd.cache", ("nurse",))
    users.set_access(store, nurse, by="admin", departments=["khoa-khac"])
    nurse = users.get_user(store, nurse.pk)
    headers = token_for(store, "user/*.rs", user_pk=nurse.pk)
    assert client.get(f"/fhir/Patient/{patient}", headers=headers).status_code == 403
    break_glass.open_grant(store, nurse, patient, "Cấp cứu: người bệnh ngừng thở tại hành lang")
    assert client.get(f"/fhir/Patient/{patient}", headers=headers).status_code == 200


def test_the_cache_keeps_nothing_past_the_tokens_expiry_or_a_credential_change():
    now = [100.0]
    cache = TokenActorCache(clock=lambda: now[0])
    actor = Actor.system("x")
    soon = tokens.now_us() + 60_000_000
    cache.put("k", actor, soon, cache.epoch(), now[0])
    assert cache.get("k") is actor
    now[0] += TTL_SECONDS
    assert cache.get("k") is None                       # the time limit
    cache.put("k", actor, tokens.now_us() - 1, cache.epoch(), now[0])
    assert cache.get("k") is None                       # the token has expired
    cache.put("k", actor, soon, cache.epoch(), now[0])
    credential_epoch.bump()
    assert cache.get("k") is None                       # a credential changed in this process
    epoch = cache.epoch()
    credential_epoch.bump()                             # … while the entry was being resolved
    cache.put("k", actor, soon, epoch, now[0])
    assert cache.get("k") is None
