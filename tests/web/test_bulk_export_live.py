"""The Bulk Data export as a real backend system does it against a running server: it registers its
public key, gets a token with client credentials and a signed JWT assertion (SMART Backend
Services), kicks off an export, polls the status URL, downloads the files with the same token, and
deletes the export. A token without any read scope is refused. SQLite and PostgreSQL."""
from __future__ import annotations

import time

import httpx
import orjson
import pytest

from benhan.auth import oauth_clients
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from tests import factories
from tests.auth.oauth_helpers import BackendKey, client_credentials
from tests.live_server import live_server

ASYNC = {"Accept": "application/fhir+json", "Prefer": "respond-async"}


@pytest.fixture
def server(store):  # noqa: ANN001, ANN201
    with live_server(store) as s:
        yield s


def _token(store, server, http: httpx.Client, registered: str, asked: str) -> dict:  # noqa: ANN001
    key = BackendKey("ES384")
    client, _ = oauth_clients.register_client(store, "Kho dữ liệu Sở Y tế", "system", scope=registered, jwks=key.jwks)
    token_url = f"{server.url}/auth/token"
    r = client_credentials(http, token_url, key.assertion(client.client_id, token_url), asked)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_backend_system_exports_with_its_own_token(store, server):
    repo = Repository(store, Actor.system("test"))
    patient = repo.create("Patient", factories.patient("Hoàng", ("Thị", "Mai"))).res_id
    for v in (70, 80):
        repo.create("Observation", factories.observation(f"Patient/{patient}", value=v))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        auth = _token(store, server, http, "system/*.rs", "system/Patient.rs system/Observation.rs")
        r = http.get("/fhir/$export", headers={**ASYNC, **auth})
        assert r.status_code == 202, r.text
        status_url = r.headers["content-location"]
        assert status_url.startswith(server.url + "/fhir/$export-status/")
        for _ in range(600):
            s = http.get(status_url, headers=auth)
            if s.status_code != 202:
                break
            time.sleep(0.05)
        assert s.status_code == 200, s.text
        manifest = s.json()
        counts = {o["type"]: o["count"] for o in manifest["output"]}
        assert counts == {"Patient": 1, "Observation": 2}
        for o in manifest["output"]:
            assert http.get(o["url"]).status_code == 401          # requiresAccessToken
            f = http.get(o["url"], headers=auth)
            assert f.status_code == 200 and f.headers["content-type"].startswith("application/fhir+ndjson")
            assert {orjson.loads(line)["resourceType"] for line in f.content.splitlines()} == {o["type"]}
        assert http.delete(status_url, headers=auth).status_code == 202
        assert http.get(status_url, headers=auth).status_code == 404

        writer = _token(store, server, http, "system/Observation.c", "system/Observation.c")
        refused = http.get("/fhir/$export", headers={**ASYNC, **writer})
        assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"
