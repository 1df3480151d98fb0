"""Every route of the application, enumerated from its routing table, on SQLite and PostgreSQL,
takes malformed requests of every kind without a 5xx — and the audit trail still records afterwards.

What is sent: NUL characters and control characters, values of 10,000 and 60,000 characters,
Unicode (Vietnamese, emoji, lone-surrogate escapes), broken percent-encoding, bad and NUL-laden
JSON bodies, wrong content types, odd ids and methods, to the API (with a token) and to the
clinician pages (with a logged-in session). A route added later is fuzzed without anyone listing it.

Two parts per database: a sweep (every route × each of its methods × every kind of malformation,
deterministic) and a hypothesis search with a fixed budget (derandomized, so CI is stable). The
whole file stays within two minutes on two cores; BENHAN_FUZZ_SCALE=10 hunts deeper.
"""
from __future__ import annotations

import json
import os
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from starlette.routing import Mount
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth import users
from benhan.store.store import Store
from benhan.web.app import create_app
from tests.auth_helpers import SYSTEM_SCOPE, install_in_store, token_for
from tests.conftest import own_pg_database
from tests.factories import FHIR_JSON, observation, patient

SCALE = float(os.environ.get("BENHAN_FUZZ_SCALE", "1"))
FUZZ = settings(max_examples=int(400 * SCALE), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MAX_BODY = 256 * 1024
PASSWORD = "một câu mật khẩu thật dài"
NUL = "\x00"


def route_table(app) -> list[tuple[str, tuple[str, ...]]]:  # noqa: ANN001
    """(path template, methods) of every route, walking mounts; a mount without routes (static
    files) is one GET route with a {path} of its own."""
    found: list[tuple[str, tuple[str, ...]]] = []

    def walk(items, prefix: str = "") -> None:  # noqa: ANN001
        for r in items:
            if isinstance(r, Mount) and r.routes:
                walk(r.routes, prefix + r.path)
            elif isinstance(r, Mount):
                found.append((prefix + r.path + "/{path}", ("GET",)))
            else:
                found.append((prefix + r.path, tuple(sorted(m for m in (r.methods or ()) if m != "HEAD"))))
    walk(app.routes)
    return found


# --- the servers under test: one per database ------------------------------------------------------

class World:
    def __init__(self, store: Store, app) -> None:  # noqa: ANN001
        self.store, self.app = store, app
        # ICD-10 loaded, as `benhan serve` does at start: without it the diagnosis search answers 503
        # ("the code list is not loaded"), the server's state and not anything a client sent.
        from benhan.terminology.load import load
        load(store, ["icd10-tt06"])
        self.api = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        self.api.__enter__()
        self.api.headers.update(install_in_store(store))
        created = self.api.post("/fhir/Patient", json=patient(family="Khổng"), headers=FHIR_JSON).json()
        self.patient = created["id"]
        self.observation = self.api.post("/fhir/Observation", json=observation(f"Patient/{self.patient}"),
                                         headers=FHIR_JSON).json()["id"]
        self.encounter = self.api.post("/fhir/Encounter", json={
            "resourceType": "Encounter", "status": "in-progress", "subject": {"reference": f"Patient/{self.patient}"},
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}},
            headers=FHIR_JSON).json()["id"]
        users.create_user(store, "bacsi.fuzz", "Bác sĩ", ["doctor"], password=PASSWORD)
        self.ui = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        self.ui.__enter__()
        self.csrf = _login(self.ui)
        self.routes = route_table(app)

    def close(self) -> None:
        self.ui.__exit__(None, None, None)
        self.api.__exit__(None, None, None)


def _login(client: TestClient) -> str:
    """A clinician's session (when the login works at this hour; otherwise the pages answer the
    login page, which is fuzzed as well)."""
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if found is None:
        return ""
    client.post("/login", data={"username": "bacsi.fuzz", "password": PASSWORD, "csrf": found.group(1)})
    home = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    return home.group(1) if home else ""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    data_dir = tmp_path_factory.mktemp("fuzz-routes") / "data"
    pg = None
    if request.param == "sqlite":
        config = config_mod.load(env={}, data_dir=data_dir, max_body_bytes=MAX_BODY)
    else:
        pg = own_pg_database("benhan_fuzz")
        config = config_mod.load(env={}, data_dir=data_dir, max_body_bytes=MAX_BODY, database_url=next(pg))
    store = Store.open(config)
    w = World(store, create_app(config, store))
    try:
        yield w
    finally:
        w.close()
        store.close()
        if pg is not None:
            next(pg, None)      # drops the database


# --- what is sent --------------------------------------------------------------------------------

# Clients cap a URL at 64 KiB (httpx), so the longest values are sized to fit it, percent-encoded.
HUGE = "x" * 10_000
HUGER = "é" * 9_000
LONGEST = "y" * 50_001         # past SQLite's LIKE pattern limit (50,000)
ODD_TEXT = [NUL, "a\x00b", "\x01\x1b[31m", HUGE, HUGER, LONGEST, "Nguyễn Đức", "😀", "\\", "\\,|$", "%", "%zz", "'; --",
            "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "..", "/", " ", ""]


def _fill(template: str, world: World, value: str | None = None, which: str | None = None) -> str:
    """A concrete URL for a route template: known ids (so the handler runs deep), or `value` in the
    parameter `which` (percent-encoded as a client would send it)."""
    known = {"type": "Observation", "id": world.patient, "vid": "1", "pk": "1", "path": "app.css"}
    if "/encounters/" in template:
        known["id"] = world.encounter

    def one(m: re.Match) -> str:
        name = m.group(1)
        if value is not None and (which is None or which == name):
            return quote(value, safe="")
        return known.get(name, "x")
    return re.sub(r"\{(\w+)\}", one, template)


def _bodies(world: World) -> list[tuple[bytes | None, str]]:
    nul_patient = {"resourceType": "Patient", "name": [{"family": "a\u0000b"}], "id": world.patient}
    return [
        (b"{not json", "application/fhir+json"),
        (json.dumps(nul_patient).encode(), "application/fhir+json"),
        (json.dumps({"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "a\u0000"},
                                                                 {"name": "system", "valueUri": HUGE}]}).encode(),
         "application/fhir+json"),
        (json.dumps([{"op": "replace", "path": "/name/0/family", "value": "\u0000"},
                     {"op": "add", "path": "/\u0000", "value": HUGE}]).encode(), "application/json-patch+json"),
        (json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": nul_patient, "request": {"method": "PUT", "url": f"Patient/{world.patient}\u0000"}},
            {"request": {"method": "GET", "url": "Patient?name=\u0000"}}]}).encode(), "application/fhir+json"),
        (urlencode({"name": NUL, "_elements": NUL, "family": HUGER, "csrf": world.csrf, "q": HUGE}).encode(),
         "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "text/plain"),
        (b'{"resourceType":"Patient","name":[{"family":"' + b"x" * (MAX_BODY + 1) + b'"}]}', "application/fhir+json"),
        (None, ""),
    ]


def _queries() -> list[str]:
    out = []
    for value in (NUL, HUGE, HUGER, LONGEST, "a\x00b", "\\", "%zz", "😀"):
        for key in ("name", "_id", "_elements", "_count", "_since", "_cursor", "_type", "code", "q", "next", "lang"):
            out.append(f"{key}={quote(value, safe='%')}")
    out += ["%00=1", quote(HUGE) + "=1", "a=%", "a=%C0%AF", "=", "&&&", "_format=xml", "_sort=" + quote(NUL)]
    return out


def send(world: World, client: TestClient, method: str, url: str, body: bytes | None = None,
         content_type: str = "", extra: dict | None = None):  # noqa: ANN201
    headers = {"content-type": content_type} if content_type else {}
    if client is world.ui and method not in ("GET", "HEAD"):
        headers["x-csrf-token"] = world.csrf
    headers.update(extra or {})
    r = client.request(method, url, content=body, headers=headers)
    context = f"{method} {url[:300]} {content_type} {(body or b'')[:200]!r} -> {r.status_code} {r.text[:400]}"
    assert r.status_code < 500, context
    if r.status_code >= 400 and r.request.url.path.startswith("/fhir") and method != "HEAD":
        assert r.headers.get("content-type", "").startswith("application/fhir+json"), context
        assert r.json()["resourceType"] == "OperationOutcome", context
    return r


# --- the sweep: every route, every method, every kind of malformation -----------------------------

ODD_METHODS = ("OPTIONS", "TRACE", "PROPFIND", "FOO")


def test_every_route_takes_every_kind_of_malformed_request(world: World):
    bodies, queries = _bodies(world), _queries()
    assert len(world.routes) > 60
    turn = 0        # rotates through the odd values and queries, so that together the routes get them all

    def some(values: list, n: int) -> list:
        nonlocal turn
        turn += n
        return [values[(turn - n + k) % len(values)] for k in range(n)]

    for template, methods in world.routes:
        client = world.api if template.startswith(("/fhir", "/sync", "/auth", "/.well-known")) else world.ui
        names = re.findall(r"\{(\w+)\}", template)
        base = _fill(template, world)
        for method in methods:
            # Each path parameter with odd values (the rest known, so the handler runs deep).
            for name in names:
                for value in some(ODD_TEXT, 3):
                    send(world, client, method, _fill(template, world, value, name))
            for query in some(queries, 6):
                send(world, client, method, f"{base}?{query}")
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                for body, content_type in bodies:
                    send(world, client, method, base, body, content_type)
                send(world, client, method, base, bodies[1][0], "application/x-www-form-urlencoded")
                send(world, client, method, base, bodies[0][0], "application/fhir+xml")
        # A method the route does not take, and the other client (a page with a token, an API call
        # with a session), with a NUL where a parameter goes.
        other = world.ui if client is world.api else world.api
        send(world, client, some(list(ODD_METHODS), 1)[0], base + "?_elements=%00")
        for method in methods:
            send(world, other, method, _fill(template, world, NUL) + "?name=%00", bodies[1][0], "application/fhir+json")


# --- hypothesis: random combinations over the same routes -----------------------------------------

odd_values = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=30),
                       st.builds(lambda c, n: c * n, st.sampled_from([NUL, "é", "x", "\\", ","]),
                                 st.integers(1, 9_000)))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     odd_values),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(odd_values, inner, max_size=3)), max_leaves=12)
CONTENT_TYPES = ["application/fhir+json", "application/json", "application/json-patch+json",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", "",
                 "application/fhir+xml", "application/merge-patch+json", "application/fhir+json; charset=latin-1"]


@FUZZ
@given(data=st.data())
def test_random_malformed_requests_to_random_routes(world: World, data: st.DataObject):
    template, methods = data.draw(st.sampled_from(world.routes))
    method = data.draw(st.sampled_from(methods + ODD_METHODS))
    client = data.draw(st.sampled_from([world.api, world.ui]))
    url = _fill(template, world, data.draw(st.one_of(st.none(), odd_values)))
    # A long value in every parameter of a two-parameter path ('é' is 6 characters encoded) makes a URL
    # over 64 KiB, which the client refuses to send at all (httpx InvalidURL): not a request to the server.
    assume(len(url) <= 64_000)
    keys = st.one_of(st.sampled_from(["name", "_id", "_count", "_elements", "_sort", "_include", "_since", "code",
                                      "subject:Patient.name", "_has:Observation:subject:code", "q", "next"]),
                     odd_values)
    items = data.draw(st.lists(st.tuples(keys, odd_values), max_size=3))
    while items and len(url) + len(urlencode(items)) > 64_000:     # what a client can send at all
        items.pop()
    if items:
        url += "?" + urlencode(items)
    body = data.draw(st.one_of(st.none(), json_values.map(lambda v: json.dumps(v).encode()),
                               st.binary(max_size=100), st.sampled_from([b for b, _ in _bodies(world) if b])))
    send(world, client, method, url, body, data.draw(st.sampled_from(CONTENT_TYPES)))


# --- and afterwards the audit still records --------------------------------------------------------

def test_after_the_fuzz_a_normal_read_is_audited(world: World):
    """Runs after the fuzzers of its module (pytest keeps file order): whatever they sent, a plain
    read is answered and leaves its audit row, and the read-audit buffer is healthy."""
    headers = token_for(world.store, SYSTEM_SCOPE)      # the fuzz may have revoked the first token
    with TestClient(world.app, raise_server_exceptions=False) as client:
        r = client.get(f"/fhir/Patient/{world.patient}", headers=headers)
        assert r.status_code == 200, r.text
    world.store.read_audit.flush()
    assert world.store.read_audit.health().ok
    with world.store.db.read() as conn:
        rows = conn.execute(text("SELECT count(*) FROM audit_event WHERE interaction = 'read' AND res_id = :p"),
                            {"p": world.patient}).scalar()
    assert rows >= 1
