"""POST /fhir/$import: an administrator posts NDJSON (synchronous) or names files in the import
folder (asynchronous, polled); nobody else may; no path outside the import folder is read."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from benhan.web.app import create_app
from tests.auth_helpers import token_for

NDJSON = {"Content-Type": "application/fhir+ndjson"}
LINES = [
    '{"resourceType":"Patient","id":"imp-1","gender":"female","name":[{"family":"Lê","given":["Thị Hoa"]}]}',
    '{"resourceType":"Observation","id":"imp-o1","status":"final","code":{"text":"Nhiệt độ"},'
    '"subject":{"reference":"Patient/imp-1"},"valueQuantity":{"value":37.50,"unit":"Cel"}}',
    '{"resourceType":"Patient","id":"imp-2","birthDate":"2021-02-29"}',
    "{broken",
]


@pytest.fixture
def api(store):  # noqa: ANN001, ANN201
    admin, _ = users.create_user(store, "it-admin", "Quản trị", ["facility_admin"], password="mật-khẩu-rất-dài-2026")
    nurse, _ = users.create_user(store, "y-ta", "Y tá", ["nurse"], password="mật-khẩu-rất-dài-2026")
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        c.admin = token_for(store, "user/*.cruds", user_pk=admin.pk)
        c.nurse = token_for(store, "user/*.cruds", user_pk=nurse.pk)
        yield c


def test_an_administrator_posts_ndjson_and_gets_the_counts_and_each_bad_line(api, store):  # noqa: ANN001
    body = ("\n".join(LINES) + "\n").encode()
    r = api.post("/fhir/$import", content=body, headers={**NDJSON, **api.admin})
    assert r.status_code == 200, r.text
    issues = r.json()["issue"]
    assert "2 created" in issues[0]["diagnostics"] and "2 failed" in issues[0]["diagnostics"]
    errors_ = {i["expression"][0]: i["diagnostics"] for i in issues if i["severity"] == "error"}
    assert set(errors_) == {"line 3", "line 4"} and "birthDate" in errors_["line 3"]
    read = Repository(store, Actor.system("test")).read("Observation", "imp-o1")   # an admin may not read it
    assert b'"value":37.50' in read.body and read.json()["subject"]["reference"] == "Patient/imp-1"
    # again: nothing new
    again = api.post("/fhir/$import", content=body, headers={**NDJSON, **api.admin}).json()
    assert "0 created" in again["issue"][0]["diagnostics"] and "2 unchanged" in again["issue"][0]["diagnostics"]
    with store.db.read() as conn:
        runs = conn.execute(select(audit_event.c.agent, audit_event.c.detail)
                            .where(audit_event.c.interaction == "import")).all()
    assert [r.agent for r in runs] == ["it-admin", "it-admin"] and json.loads(runs[0].detail)["created"] == 2


def test_only_an_administrator_may_import_and_the_refusal_is_audited(api, store):  # noqa: ANN001
    r = api.post("/fhir/$import", content=LINES[0].encode(), headers={**NDJSON, **api.nurse})
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert api.get("/fhir/Patient/imp-1", headers=api.nurse).status_code == 404
    with store.db.read() as conn:
        refused = conn.execute(select(audit_event.c.agent).where(audit_event.c.interaction == "import",
                                                                 audit_event.c.outcome == "4")).scalars().all()
    assert refused == ["y-ta"]


def test_files_in_the_import_folder_are_imported_asynchronously_and_polled(api, store):  # noqa: ANN001
    folder = store.config.data_dir / "import"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Patient.ndjson").write_text(LINES[0] + "\n" + LINES[2] + "\n", encoding="utf-8")
    (folder / "Observation.ndjson").write_text(LINES[1] + "\n", encoding="utf-8")
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "inputFormat", "valueCode": "application/fhir+ndjson"},
        {"name": "input", "part": [{"name": "type", "valueCode": "Patient"},
                                   {"name": "url", "valueUrl": "Patient.ndjson"}]},
        {"name": "input", "part": [{"name": "type", "valueCode": "Observation"},
                                   {"name": "url", "valueUrl": (folder / "Observation.ndjson").as_uri()}]}]}
    r = api.post("/fhir/$import", json=params, headers={"Prefer": "respond-async", **api.admin})
    assert r.status_code == 202, r.text
    status_url = r.headers["Content-Location"]
    for _ in range(600):
        polled = api.get(status_url, headers=api.admin)
        if polled.status_code != 202:
            break
        time.sleep(0.05)
    assert polled.status_code == 200, polled.text
    report = polled.json()["report"]
    assert report["totals"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 1}
    assert report["failures"][0]["line"] == 2 and report["failures"][0]["id"] == "imp-2"
    # the job is the administrator's: another user learns nothing of it
    assert api.get(status_url, headers=api.nurse).status_code in (403, 404)


@pytest.mark.parametrize("url", ["../benhan.sqlite", "/etc/passwd", "file:///etc/passwd", "http://example.org/x.ndjson",
                                 "Patient.ndjson"])
def test_no_input_outside_the_import_folder_is_read(api, store, url):  # noqa: ANN001
    (store.config.data_dir / "import").mkdir(parents=True, exist_ok=True)    # empty: Patient.ndjson is not there
    params = {"resourceType": "Parameters",
              "parameter": [{"name": "input", "part": [{"name": "url", "valueUrl": url}]}]}
    r = api.post("/fhir/$import", json=params, headers={"Prefer": "respond-async", **api.admin})
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "invalid"
