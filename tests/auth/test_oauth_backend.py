"""SMART Backend Services against the running server: a system registers its public key, signs a
JWT assertion, gets an access token with client credentials, reads FHIR with it; a revoked token,
a replayed assertion, a wrong key, audience or lifetime are refused with OAuth's error JSON."""
from __future__ import annotations

import httpx
import pytest

from benhan.auth import oauth_clients, tokens
from tests.auth.oauth_helpers import ASSERTION_TYPE, BackendKey, client_credentials
from tests.factories import FHIR_JSON, patient
from tests.live_server import live_server


@pytest.fixture
def server(store):  # noqa: ANN001, ANN201
    with live_server(store) as s:
        yield s


@pytest.fixture
def http(server):  # noqa: ANN001, ANN201
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def register(store, key: BackendKey, scope: str = "system/*.rs") -> str:  # noqa: ANN001
    client, secret = oauth_clients.register_client(store, "Phòng xét nghiệm", "system", scope=scope, jwks=key.jwks)
    assert secret is None
    return client.client_id


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_a_backend_system_gets_a_token_with_a_signed_assertion_and_reads_fhir_with_it(store, server, http, alg):
    key = BackendKey(alg)
    client_id = register(store, key)
    token_url = f"{server.url}/auth/token"
    r = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/Patient.rs")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "system/Patient.rs"
    assert body["expires_in"] == store.config.access_token_minutes * 60
    assert "refresh_token" not in body
    assert r.headers["cache-control"] == "no-store"
    info = tokens.lookup(store, body["access_token"])
    assert info is not None and info.client_id == client_id and info.user_pk is None

    fhir = http.get("/fhir/Patient", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert fhir.status_code == 200, fhir.text
    assert fhir.json()["resourceType"] == "Bundle"


def test_a_revoked_token_is_refused(store, server, http):
    key = BackendKey()
    client_id = register(store, key)
    token_url = f"{server.url}/auth/token"
    access = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/*.rs").json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert http.get("/fhir/Patient", headers=bearer).status_code == 200

    r = http.post("/auth/revoke", data={"token": access, "client_assertion_type": ASSERTION_TYPE,
                                        "client_assertion": key.assertion(client_id, token_url)})
    assert r.status_code == 200, r.text
    assert tokens.lookup(store, access) is None
    refused = http.get("/fhir/Patient", headers=bearer)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_introspection_tells_a_client_about_its_own_tokens(store, server, http):
    key = BackendKey()
    client_id = register(store, key)
    token_url = f"{server.url}/auth/token"
    access = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/*.rs").json()["access_token"]

    def introspect(token: str) -> dict:
        r = http.post("/auth/introspect", data={"token": token, "client_assertion_type": ASSERTION_TYPE,
                                                "client_assertion": key.assertion(client_id, token_url)})
        assert r.status_code == 200, r.text
        return r.json()

    live = introspect(access)
    assert live["active"] is True and live["client_id"] == client_id and live["scope"] == "system/*.rs"
    other = oauth_clients.register_client(store, "Khác", "system", scope="system/*.rs", jwks=BackendKey().jwks)[0]
    assert introspect(tokens.issue_token(store, other.client_id, "system/*.rs")) == {"active": False}
    assert introspect("not-a-token") == {"active": False}
    tokens.revoke(store, access)
    assert introspect(access) == {"active": False}


def test_a_replayed_assertion_is_refused(store, server, http):
    key = BackendKey()
    client_id = register(store, key)
    token_url = f"{server.url}/auth/token"
    assertion = key.assertion(client_id, token_url)
    assert client_credentials(http, token_url, assertion, "system/*.rs").status_code == 200
    again = client_credentials(http, token_url, assertion, "system/*.rs")
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_client"
    assert "JWT ID" in again.json()["error_description"]


@pytest.mark.parametrize("case", ["wrong key", "wrong aud", "expired", "exp too far", "iss differs",
                                  "unknown kid", "no jti"])
def test_a_bad_assertion_is_refused_with_invalid_client(store, server, http, case):
    key = BackendKey()
    client_id = register(store, key)
    token_url = f"{server.url}/auth/token"
    if case == "wrong key":
        impostor = BackendKey()
        assertion = impostor.assertion(client_id, token_url, kid=key.kid)
    elif case == "wrong aud":
        assertion = key.assertion(client_id, f"{server.url}/fhir")
    elif case == "expired":
        assertion = key.assertion(client_id, token_url, exp_in=-120)
    elif case == "exp too far":
        assertion = key.assertion(client_id, token_url, exp_in=3600)
    elif case == "iss differs":
        assertion = key.assertion(client_id, token_url, iss="someone-else")
    elif case == "unknown kid":
        assertion = key.assertion(client_id, token_url, kid="nope")
    else:
        assertion = key.assertion(client_id, token_url, jti="")
    r = client_credentials(http, token_url, assertion, "system/*.rs")
    assert r.status_code in (400, 401), r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == "invalid_client"
    assert set(r.json()) <= {"error", "error_description"}


def test_a_backend_is_granted_its_registered_system_scopes_only(store, server, http):
    key = BackendKey()
    client_id = register(store, key, scope="system/Patient.rs system/Observation.rs")
    token_url = f"{server.url}/auth/token"
    r = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/*.cruds")
    assert r.status_code == 200, r.text
    assert set(r.json()["scope"].split()) == {"system/Observation.rs", "system/Patient.rs"}
    for scope in ("patient/*.rs", "user/Patient.rs"):
        refused = client_credentials(http, token_url, key.assertion(client_id, token_url), scope)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    malformed = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/Foo.rs")
    assert malformed.json()["error"] == "invalid_scope"


def test_a_read_only_token_cannot_write(store, server, http):
    key = BackendKey()
    client_id = register(store, key, scope="system/*.rs")
    token_url = f"{server.url}/auth/token"
    access = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/*.rs").json()["access_token"]
    r = http.post("/fhir/Patient", json=patient(), headers={**FHIR_JSON, "Authorization": f"Bearer {access}"})
    assert r.status_code == 403


def test_a_disabled_client_loses_its_tokens_and_cannot_get_new_ones(store, server, http):
    key = BackendKey()
    client_id = register(store, key)
    token_url = f"{server.url}/auth/token"
    access = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/*.rs").json()["access_token"]
    assert oauth_clients.disable_client(store, client_id) == 1
    assert tokens.lookup(store, access) is None
    r = client_credentials(http, token_url, key.assertion(client_id, token_url), "system/*.rs")
    assert r.json()["error"] == "invalid_client"


def test_an_app_cannot_use_client_credentials(store, server, http):
    app, _ = oauth_clients.register_client(store, "App", "app", scope="user/*.rs", public=True,
                                           redirect_uris=["https://app.example.vn/cb"])
    r = http.post("/auth/token", data={"grant_type": "client_credentials", "scope": "user/*.rs",
                                       "client_id": app.client_id})
    assert r.status_code in (400, 401), r.text
    assert r.json()["error"] in ("invalid_client", "unauthorized_client")


def test_token_requests_granted_and_refused_are_in_the_audit_trail(store, server, http):
    from sqlalchemy import select

    from benhan.store.schema import audit_event
    key = BackendKey()
    client_id = register(store, key)
    token_url = f"{server.url}/auth/token"
    assertion = key.assertion(client_id, token_url)
    access = client_credentials(http, token_url, assertion, "system/*.rs").json()["access_token"]
    client_credentials(http, token_url, assertion, "system/*.rs")      # replayed: refused
    http.post("/auth/revoke", data={"token": access, "client_assertion_type": ASSERTION_TYPE,
                                    "client_assertion": key.assertion(client_id, token_url)})
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event.c.interaction, audit_event.c.subtype, audit_event.c.outcome,
                                   audit_event.c.agent, audit_event.c.source_address)
                            .where(audit_event.c.subtype.in_(["oauth-token", "oauth-revoke"]))
                            .order_by(audit_event.c.seq)).all()
    assert [(r.interaction, r.outcome) for r in rows] == [("login", "0"), ("login", "4"), ("logout", "0")]
    assert rows[0].agent == client_id and rows[0].source_address == "127.0.0.1"
    assert rows[1].agent == client_id      # as the refused assertion claimed


def test_a_backend_publishing_its_keys_at_a_jwks_url_is_verified_against_them(store, server, http):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    key = BackendKey()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = key.jwks.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=jwks_server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{jwks_server.server_address[1]}/jwks.json"
        client = oauth_clients.register_client(store, "Cổng BHYT", "system", scope="system/*.rs", jwks_url=url)[0]
        token_url = f"{server.url}/auth/token"
        r = client_credentials(http, token_url, key.assertion(client.client_id, token_url), "system/*.rs")
        assert r.status_code == 200, r.text
        impostor = client_credentials(http, token_url, BackendKey().assertion(client.client_id, token_url, kid=key.kid),
                                      "system/*.rs")
        assert impostor.json()["error"] == "invalid_client"
    finally:
        jwks_server.shutdown()
        jwks_server.server_close()
        thread.join()
