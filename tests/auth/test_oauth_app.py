"""SMART App Launch (standalone) against the running server: a clinician logs in, approves the app
on the consent page and picks a patient; the app exchanges the code with its PKCE verifier (with
Authlib's OAuth 2 client) and reads FHIR. A wrong verifier, a reused code and a wrong redirect URI
are refused; refresh tokens rotate, and reusing a rotated one revokes the whole family."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from benhan.auth import oauth_clients, tokens, users
from tests.auth.oauth_helpers import PASSWORD, hidden, log_in, pkce_pair
from tests.factories import FHIR_JSON, patient
from tests.live_server import live_server

REDIRECT = "http://127.0.0.1:9/callback"   # never called: the test reads the Location header


@pytest.fixture
def server(store):  # noqa: ANN001, ANN201
    with live_server(store) as s:
        yield s


@pytest.fixture
def doctor(store):  # noqa: ANN001, ANN201
    user, _ = users.create_user(store, "bs.an", "BS. Nguyễn An", ["doctor"], password=PASSWORD)
    return user


@pytest.fixture
def browser(server, doctor):  # noqa: ANN001, ANN201
    with httpx.Client(base_url=server.url, timeout=30) as b:
        log_in(b, doctor.username)
        yield b


@pytest.fixture
def patient_id(store, server):  # noqa: ANN001, ANN201
    system = oauth_clients.register_client(store, "Nạp dữ liệu", "system", scope="system/*.cruds",
                                           jwks=_any_jwks())[0]
    token = tokens.issue_token(store, system.client_id, "system/*.cruds")
    r = httpx.post(f"{server.url}/fhir/Patient", json=patient(),
                   headers={**FHIR_JSON, "Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _any_jwks() -> str:
    from tests.auth.oauth_helpers import BackendKey
    return BackendKey().jwks


def register_app(store, scope="patient/*.rs launch/patient offline_access", public=True):  # noqa: ANN001, ANN201
    return oauth_clients.register_client(store, "Ứng dụng theo dõi huyết áp", "app", scope=scope, public=public,
                                         redirect_uris=[REDIRECT])


def approve(browser: httpx.Client, authorize_url: str, *, patient: str | None = None,
            decision: str = "approve") -> httpx.Response:
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text
    data = {"csrf": hidden(page.text, "csrf"), "request": hidden(page.text, "request"), "decision": decision}
    if patient is not None:
        data["patient"] = patient
    return browser.post("/oauth/consent", data=data)


def app_client(server, client_id: str, scope: str) -> OAuth2Client:  # noqa: ANN001
    return OAuth2Client(client_id, redirect_uri=REDIRECT, scope=scope, code_challenge_method="S256",
                        token_endpoint_auth_method="none", timeout=30)


def code_from(response: httpx.Response) -> tuple[str, dict]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return params.get("code", ""), params


def test_a_clinician_approves_an_app_which_reads_the_chosen_patient_with_its_token(store, server, browser,
                                                                                  patient_id):
    app, _ = register_app(store)
    scope = "patient/*.rs launch/patient offline_access"
    verifier, _ = pkce_pair()
    with app_client(server, app.client_id, scope) as oauth:
        url, state = oauth.create_authorization_url(f"{server.url}/auth/authorize", code_verifier=verifier)
        page = browser.get(url)
        assert "Ứng dụng theo dõi huyết áp" in page.text
        assert "Xem và tìm kiếm mọi loại dữ liệu của người bệnh được chọn" in page.text
        assert 'name="patient"' in page.text
        code, params = code_from(approve(browser, url, patient=patient_id))
        assert params["state"] == state
        token = oauth.fetch_token(f"{server.url}/auth/token", code=code, code_verifier=verifier)
    assert token["patient"] == patient_id
    assert token["scope"] == scope
    assert token["refresh_token"]
    info = tokens.lookup(store, token["access_token"])
    assert info.patient_id == patient_id and info.user_pk is not None

    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    with httpx.Client(base_url=server.url, timeout=30) as api:   # no session cookie: a separate app
        r = api.get(f"/fhir/Patient/{patient_id}", headers=bearer)
        assert r.status_code == 200, r.text


def test_without_a_session_the_authorize_endpoint_sends_the_user_to_log_in_and_back(store, server, doctor):
    app, _ = register_app(store)
    _, challenge = pkce_pair()
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "patient/*.rs",
             "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}
    with httpx.Client(base_url=server.url, timeout=30) as b:
        r = b.get("/auth/authorize", params=query)
        assert r.status_code == 303
        login_url = r.headers["location"]
        assert login_url.startswith("/login?next=%2Fauth%2Fauthorize%3F")
        page = b.get(login_url)
        r = b.post("/login", data={"username": doctor.username, "password": PASSWORD,
                                   "csrf": hidden(page.text, "csrf"), "next": hidden(page.text, "next")})
        assert r.status_code == 303 and r.headers["location"].startswith("/auth/authorize?")
        assert b.get(r.headers["location"]).status_code == 200


def _code(store, server, browser, patient_id, verifier_challenge):  # noqa: ANN001, ANN202
    app, _ = register_app(store)
    _, challenge = verifier_challenge
    url = httpx.URL(f"{server.url}/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
        "scope": "patient/*.rs launch/patient offline_access", "state": "xyz",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    code, _ = code_from(approve(browser, str(url), patient=patient_id))
    return app, code


def exchange(server, client_id: str, code: str, verifier: str, redirect_uri: str = REDIRECT) -> httpx.Response:  # noqa: ANN001
    return httpx.post(f"{server.url}/auth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
        "code_verifier": verifier}, timeout=30)


def test_a_wrong_verifier_is_refused_and_burns_the_code(store, server, browser, patient_id):
    pair = pkce_pair()
    app, code = _code(store, server, browser, patient_id, pair)
    wrong = exchange(server, app.client_id, code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert exchange(server, app.client_id, code, pair[0]).json()["error"] == "invalid_grant"


def test_a_missing_verifier_is_refused(store, server, browser, patient_id):
    pair = pkce_pair()
    app, code = _code(store, server, browser, patient_id, pair)
    r = httpx.post(f"{server.url}/auth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": REDIRECT, "client_id": app.client_id})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_a_reused_code_is_refused_and_revokes_what_it_produced(store, server, browser, patient_id):
    pair = pkce_pair()
    app, code = _code(store, server, browser, patient_id, pair)
    first = exchange(server, app.client_id, code, pair[0])
    assert first.status_code == 200, first.text
    again = exchange(server, app.client_id, code, pair[0])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert tokens.lookup(store, first.json()["access_token"]) is None
    assert tokens.lookup(store, first.json()["refresh_token"], kind="refresh") is None


def test_a_wrong_redirect_uri_is_refused(store, server, browser, patient_id):
    pair = pkce_pair()
    app, code = _code(store, server, browser, patient_id, pair)
    r = exchange(server, app.client_id, code, pair[0], redirect_uri="http://127.0.0.1:9/other")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_an_unregistered_redirect_uri_is_never_redirected_to(store, server, browser):
    app, _ = register_app(store)
    _, challenge = pkce_pair()
    r = browser.get("/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": "https://evil.example/cb",
        "scope": "patient/*.rs", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "invalid_request" in r.text


@pytest.mark.parametrize("pkce", [{}, {"code_challenge_method": "plain"}])
def test_pkce_s256_is_required(store, server, browser, pkce):
    app, _ = register_app(store)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
              "scope": "patient/*.rs", "state": "s"}
    if pkce:
        params.update(code_challenge="a" * 43, **pkce)
    r = browser.get("/auth/authorize", params=params)
    _, query = code_from(r)
    assert query["error"] == "invalid_request" and query["state"] == "s"


def test_denying_sends_access_denied_to_the_app(store, server, browser):
    app, _ = register_app(store, scope="user/*.rs")
    _, challenge = pkce_pair()
    url = str(httpx.URL(f"{server.url}/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "user/*.rs",
        "state": "s9", "code_challenge": challenge, "code_challenge_method": "S256"}))
    _, query = code_from(approve(browser, url, decision="deny"))
    assert query["error"] == "access_denied" and query["state"] == "s9" and "code" not in query


def test_a_launch_patient_grant_needs_a_patient_that_exists(store, server, browser):
    app, _ = register_app(store)
    _, challenge = pkce_pair()
    url = str(httpx.URL(f"{server.url}/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
        "scope": "patient/*.rs launch/patient", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    r = approve(browser, url, patient="no-such-patient")
    assert r.status_code == 400 and "location" not in r.headers


def test_a_consent_without_the_sessions_csrf_token_is_refused(store, server, browser):
    app, _ = register_app(store, scope="user/*.rs")
    _, challenge = pkce_pair()
    url = str(httpx.URL(f"{server.url}/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "user/*.rs",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}))
    page = browser.get(url)
    r = browser.post("/oauth/consent", data={"csrf": "forged", "request": hidden(page.text, "request"),
                                             "decision": "approve"})
    assert r.status_code == 403 and "location" not in r.headers


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(store, server, browser, patient_id):
    pair = pkce_pair()
    app, code = _code(store, server, browser, patient_id, pair)
    first = exchange(server, app.client_id, code, pair[0]).json()

    def refresh(token: str) -> httpx.Response:
        return httpx.post(f"{server.url}/auth/token", data={"grant_type": "refresh_token", "refresh_token": token,
                                                            "client_id": app.client_id}, timeout=30)

    second = refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["patient"] == patient_id and second["scope"] == first["scope"]
    assert tokens.lookup(store, second["access_token"]) is not None

    # The old refresh token again (someone copied it): refused, and everything of the family revoked.
    replay = refresh(first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    for raw, kind in ((first["access_token"], "access"), (second["access_token"], "access"),
                      (second["refresh_token"], "refresh")):
        assert tokens.lookup(store, raw, kind=kind) is None
    assert refresh(second["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_narrower_refresh_keeps_within_the_granted_scope(store, server, browser, patient_id):
    pair = pkce_pair()
    app, code = _code(store, server, browser, patient_id, pair)
    first = exchange(server, app.client_id, code, pair[0]).json()
    wider = httpx.post(f"{server.url}/auth/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": app.client_id,
        "scope": "patient/*.cruds"})
    assert wider.json()["error"] == "invalid_scope"


def test_revoking_a_refresh_token_revokes_its_access_tokens(store, server, browser, patient_id):
    pair = pkce_pair()
    app, code = _code(store, server, browser, patient_id, pair)
    first = exchange(server, app.client_id, code, pair[0]).json()
    r = httpx.post(f"{server.url}/auth/revoke", data={"token": first["refresh_token"], "client_id": app.client_id})
    assert r.status_code == 200, r.text
    assert tokens.lookup(store, first["access_token"]) is None


def test_the_smart_configuration_describes_the_endpoints(server):
    conf = httpx.get(f"{server.url}/.well-known/smart-configuration").json()
    assert conf["token_endpoint"] == f"{server.url}/auth/token"
    assert conf["authorization_endpoint"] == f"{server.url}/auth/authorize"
    assert conf["code_challenge_methods_supported"] == ["S256"]
    assert {"launch-standalone", "client-public", "client-confidential-asymmetric", "context-standalone-patient",
            "permission-v1", "permission-v2", "permission-patient", "permission-user"} <= set(conf["capabilities"])
    assert "private_key_jwt" in conf["token_endpoint_auth_methods_supported"]
    meta = httpx.get(f"{server.url}/fhir/metadata").json()
    oauth = {e["url"]: e["valueUri"] for ext in meta["rest"][0]["security"]["extension"] for e in ext["extension"]}
    assert oauth["token"] == conf["token_endpoint"] and oauth["authorize"] == conf["authorization_endpoint"]


def test_a_confidential_app_authenticates_with_a_signed_assertion(store, server, browser, patient_id):
    from tests.auth.oauth_helpers import ASSERTION_TYPE, BackendKey
    key = BackendKey("RS384")
    app, secret = oauth_clients.register_client(store, "Ứng dụng của bệnh viện", "app", scope="user/*.rs",
                                                jwks=key.jwks, redirect_uris=[REDIRECT])
    assert secret is None and app.auth_method == "private_key_jwt"
    verifier, challenge = pkce_pair()
    url = str(httpx.URL(f"{server.url}/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "user/*.rs",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}))
    code, _ = code_from(approve(browser, url))
    token_url = f"{server.url}/auth/token"
    without = exchange(server, app.client_id, code, verifier)     # no assertion: not this client's method
    assert without.json()["error"] == "invalid_client"
    code, _ = code_from(approve(browser, url))
    r = httpx.post(token_url, data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                    "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
                                    "client_assertion": key.assertion(app.client_id, token_url)})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "user/*.rs" and "patient" not in r.json() and "refresh_token" not in r.json()
    bundle = httpx.get(f"{server.url}/fhir/Patient", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert bundle.status_code == 200, bundle.text


def test_a_confidential_app_authenticates_with_its_secret(store, server, browser):
    app, secret = oauth_clients.register_client(store, "Ứng dụng có mật khẩu", "app", scope="user/*.rs",
                                                redirect_uris=[REDIRECT])
    verifier, challenge = pkce_pair()
    url = str(httpx.URL(f"{server.url}/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "user/*.rs",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}))
    code, _ = code_from(approve(browser, url))
    r = httpx.post(f"{server.url}/auth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": REDIRECT, "code_verifier": verifier},
                   auth=(app.client_id, secret))
    assert r.status_code == 200, r.text


def test_scopes_beyond_the_apps_registration_are_not_granted(store, server, browser):
    app, _ = register_app(store, scope="patient/Observation.rs launch/patient")
    _, challenge = pkce_pair()
    page = browser.get("/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
        "scope": "patient/*.cruds user/*.rs openid fhirUser launch/patient offline_access", "state": "s",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert page.status_code == 200
    assert "patient/Observation.rs" in page.text
    for absent in ("user/*.rs", "openid", "fhirUser", "offline_access", "patient/*.cruds"):
        assert f"<code>{absent}</code>" not in page.text


def test_online_access_gets_a_refresh_token_no_longer_than_a_login_session(store, server, browser):
    app, _ = register_app(store, scope="user/*.rs online_access")
    verifier, challenge = pkce_pair()
    url = str(httpx.URL(f"{server.url}/auth/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
        "scope": "user/*.rs online_access", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    code, _ = code_from(approve(browser, url))
    token = exchange(server, app.client_id, code, verifier).json()
    refresh = tokens.lookup(store, token["refresh_token"], kind="refresh")
    assert refresh is not None
    hours = (refresh.expires - tokens.now_us()) / 3_600e6
    assert store.config.session_max_hours - 0.1 < hours <= store.config.session_max_hours
