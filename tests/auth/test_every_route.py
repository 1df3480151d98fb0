"""Every route of the application, found by walking the app's route table (so a route added later
is covered without anyone remembering to add it here):
- without credentials → 401 with an OperationOutcome on the API, the login page in the UI;
- with credentials that lack the permission → 403, an OperationOutcome (API) or an error page (UI)
  that reveals nothing of any record.
Only the routes in PUBLIC answer without credentials, and only those in EVERY_USER have no role
that lacks them."""
from __future__ import annotations

import re

import pytest
from starlette.routing import Mount

from benhan.auth import users
from benhan.web.app import create_app
from benhan.web.authn import is_api
from tests.auth_helpers import token_for
from tests.factories import FHIR_JSON, observation, patient

PUBLIC = {"/login", "/login/mfa", "/lang", "/fhir/metadata", "/.well-known/smart-configuration",
          "/auth/authorize", "/auth/token", "/auth/revoke", "/auth/introspect", "/static", "/health"}
# Pages that belong to whoever is logged in: their own home, account, logout, OAuth consent.
EVERY_USER = {"/", "/logout", "/logout/everywhere", "/account/password", "/account/mfa", "/oauth/consent"}
# The audit trail is append-only: no credentials make a write to it possible (405 for all).
APPEND_ONLY = {"/fhir/AuditEvent", "/fhir/AuditEvent/{id}"}
PASSWORD = "một câu mật khẩu thật dài"
# The stored record's words: distinctive, so that a CSRF token or a label cannot contain them by chance.
SECRET_WORDS = ("Khổng", "Thượng Uyển", "98765")


def routes() -> list[tuple[str, str]]:
    app = create_app(__import__("benhan.config", fromlist=["load"]).load(env={}))
    found = []

    def walk(items, prefix: str = "") -> None:  # noqa: ANN001
        for r in items:
            if isinstance(r, Mount) and r.routes:
                walk(r.routes, prefix + r.path)
            elif isinstance(r, Mount):
                found.append(("GET", prefix + r.path))
            else:
                for method in sorted(r.methods or ()):
                    if method != "HEAD":
                        found.append((method, prefix + r.path))
    walk(app.routes)
    return found


ROUTES = routes()


def concrete(path: str, ids: dict[str, str], method: str = "GET") -> str:
    values = {"type": "Observation", "id": ids["patient"], "vid": "1", "pk": "1", "file": "Patient.ndjson",
              "job": "0f6e2c1a-import-job", "name": "benhan-hourly-20261206T0100Z.benhan-backup"}
    url = path.replace("{type}/{id}", "Observation/" + ids["observation"])
    url = url.replace("/static", "/static/app.css")
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], url)
    if path == "/fhir/{type}" and method in ("PUT", "PATCH", "DELETE"):
        url += f"?_id={ids['observation']}"      # the conditional forms
    return url


def body_for(method: str, path: str, ids: dict[str, str]) -> dict | list | None:
    if method not in ("POST", "PUT", "PATCH") or path.endswith("_search"):
        return None
    if method == "PATCH":
        return [{"op": "replace", "path": "/status", "value": "amended"}]
    if path in ("/fhir", "/fhir/"):
        return {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": observation(f"Patient/{ids['patient']}"), "request": {"method": "POST", "url": "Observation"}}]}
    if "$" in path:
        return {"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "J18"}]}
    if path.startswith("/fhir/"):
        body = observation(f"Patient/{ids['patient']}")
        if method == "PUT" and "{id}" in path:
            body["id"] = ids["observation"]
        return body
    return None


# One SQLite store and one app for the module: which routes need which credentials does not depend
# on the database (the access rules' SQL runs on both in test_access_rules.py), and nothing here
# writes (every request is refused or public), so the ~250 cases share them.
@pytest.fixture(scope="module")
def store(tmp_path_factory):  # noqa: ANN001, ANN201
    from benhan import config
    from benhan.store.store import Store
    s = Store.open(config.load(env={}, data_dir=tmp_path_factory.mktemp("routes") / "data"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def app(store):  # noqa: ANN001, ANN201
    return create_app(store.config, store)


@pytest.fixture
def anonymous_client(app):  # noqa: ANN001, ANN201
    from starlette.testclient import TestClient
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def world(store):  # noqa: ANN001, ANN201
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient(family="Khổng", given=("Thượng Uyển",))).res_id
    o = repo.create("Observation", observation(f"Patient/{p}", value=98765)).res_id
    users.create_user(store, "bacsi", "Bác sĩ", ["doctor"], password=PASSWORD)
    users.create_user(store, "thungan", "Thu ngân", ["cashier"], password=PASSWORD)
    # A backend that may only create Practitioners: nothing on the FHIR routes is within its grant.
    return {"patient": p, "observation": o, "lacking": token_for(store, "system/Practitioner.c")}


def send(client, method: str, url: str, body, headers: dict | None = None):  # noqa: ANN001, ANN201
    headers = dict(headers or {})
    if url.endswith("/_search"):
        headers["content-type"] = "application/x-www-form-urlencoded"
        return client.request(method, url, content=b"_id=x", headers=headers, follow_redirects=False)
    if isinstance(body, list):
        headers["content-type"] = "application/json-patch+json"
    elif body is not None:
        headers.update(FHIR_JSON)
    return client.request(method, url, json=body, headers=headers, follow_redirects=False)


def test_the_route_table_is_what_this_test_knows():
    paths = {p for _, p in ROUTES}
    assert PUBLIC <= paths and EVERY_USER <= paths
    assert len(ROUTES) > 40


@pytest.mark.parametrize("method, path", [r for r in ROUTES if r[1] not in PUBLIC])
def test_without_credentials_nothing_but_a_401_or_the_login_page(anonymous_client, world, method, path):
    url = concrete(path, world, method)
    r = send(anonymous_client, method, url, body_for(method, path, world))
    if is_api(path):
        assert r.status_code == 401, r.text
        assert r.json()["resourceType"] == "OperationOutcome"
        assert r.headers["www-authenticate"].startswith("Bearer")
    else:
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=")
    assert not any(w in r.text for w in SECRET_WORDS)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if r[1] in PUBLIC])
def test_the_public_routes_answer_without_credentials(anonymous_client, world, method, path):
    r = send(anonymous_client, method, concrete(path, world, method), body_for(method, path, world))
    if (method, path) == ("POST", "/login"):
        # Answered, but a login post without the form's CSRF token is refused as an expired form.
        assert r.status_code == 403 and "Biểu mẫu đã hết hạn" in r.text
    else:
        assert r.status_code not in (401, 403), r.text
    assert not any(w in r.text for w in SECRET_WORDS)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if is_api(r[1]) and r[1] not in PUBLIC])
def test_an_api_client_without_the_permission_gets_403_and_learns_nothing(anonymous_client, world, method, path):
    r = send(anonymous_client, method, concrete(path, world, method), body_for(method, path, world), world["lacking"])
    if path in APPEND_ONLY and method != "GET":
        assert r.status_code == 405, r.text
    else:
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    assert r.json()["resourceType"] == "OperationOutcome"
    assert not any(w in r.text for w in SECRET_WORDS)


def login(client, username: str) -> str:  # noqa: ANN001
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)


UI_LACKING = {"/admin/break-glass": "bacsi", "/admin/break-glass/{pk}/review": "bacsi", "/break-glass": "thungan"}
# The clinician pages (web/ui): a cashier opens no chart, registers no one, records nothing.
UI_LACKING.update({p: "thungan" for _, p in ROUTES if p.startswith("/ui/") and not p.startswith("/ui/cashier")})
# The cashier's desk (web/ui/cashier.py): a doctor takes no money.
UI_LACKING.update({p: "bacsi" for _, p in ROUTES if p.startswith("/ui/cashier")})
# The BHYT desk (web/ui/claims_desk.py): the cashier and the director, not a doctor.
UI_LACKING.update({p: "bacsi" for _, p in ROUTES if p.startswith("/ui/claims")})
# The sync review page (web/sync_pages.py): doctors and facility admins only.
UI_LACKING.update({p: "thungan" for _, p in ROUTES if p.startswith("/admin/sync")})
# The provincial dashboard (web/province.py): the hub's director, auditor and admin, not a doctor.
UI_LACKING.update({"/province": "bacsi", "/province.csv": "bacsi"})
# The backup page (web/backup_page): the facility's administrator, not a doctor.
UI_LACKING.update({p: "bacsi" for _, p in ROUTES if p.startswith("/admin/backup")})


@pytest.mark.parametrize("method, path", [r for r in ROUTES if not is_api(r[1])
                                          and r[1] not in PUBLIC | EVERY_USER])
def test_a_page_the_role_may_not_use_is_refused_with_a_page_not_the_data(anonymous_client, world, method, path):
    assert path in UI_LACKING, f"{path}: which role lacks it? add it to UI_LACKING or EVERY_USER"
    csrf = login(anonymous_client, UI_LACKING[path])
    data = {"csrf": csrf, "patient": world["patient"], "reason": "muốn xem thử hồ sơ", "note": "x"}
    r = anonymous_client.request(method, concrete(path, world, method), data=data if method == "POST" else None,
                                 follow_redirects=False)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert not any(w in r.text for w in SECRET_WORDS)
