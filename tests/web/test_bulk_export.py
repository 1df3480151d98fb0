"""Bulk Data $export (FHIR Bulk Data Access IG v2) as a backend service sees it: kick-off, polling,
the manifest, the NDJSON files, the filters, deleting, one export at a time, who may do what,
expiry, and the audit trail. SQLite and PostgreSQL (the `store` fixture)."""
from __future__ import annotations

import time

import orjson
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.store import bulk_export
from benhan.store.repository import Repository
from benhan.store.schema import audit_event, bulk_export_job
from benhan.auth.actor import Actor
from benhan.web.app import create_app
from tests import factories
from tests.auth_helpers import AUTH, install, token_for

ASYNC = {"Accept": "application/fhir+json", "Prefer": "respond-async"}
PASSWORD = "mật-khẩu-đủ-dài-2026"


@pytest.fixture
def api(store):  # noqa: ANN001, ANN201
    """A client of the app with its worker running (the lifespan)."""
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        with store.db.write() as conn:
            install(conn)
        yield c


@pytest.fixture
def idle_api(store):  # noqa: ANN001, ANN201
    """A client of the app WITHOUT its worker: a kick-off stays queued."""
    c = TestClient(create_app(store.config, store), raise_server_exceptions=False)
    with store.db.write() as conn:
        install(conn)
    c.headers.update(AUTH)
    return c


def world(store) -> dict:  # noqa: ANN001
    repo = Repository(store, Actor.system("test"))
    p1 = repo.create("Patient", factories.patient("Trần", ("Thị", "Bình"))).res_id
    p2 = repo.create("Patient", factories.patient("Lê", ("Văn", "Cường"))).res_id
    o1 = [repo.create("Observation", factories.observation(f"Patient/{p1}", "8867-4", 70 + i)).res_id for i in range(3)]
    o2 = [repo.create("Observation", factories.observation(f"Patient/{p2}", "8310-5", 37)).res_id for _ in range(2)]
    gone = repo.create("Observation", factories.observation(f"Patient/{p2}")).res_id
    repo.delete("Observation", gone)
    doc = repo.create("Practitioner", {"resourceType": "Practitioner", "name": [{"family": "Phạm"}]}).res_id
    return {"p1": p1, "p2": p2, "o1": o1, "o2": o2, "gone": gone, "practitioner": doc}


def kick(client, path: str, headers: dict | None = None) -> str:  # noqa: ANN001
    r = client.get(path, headers={**ASYNC, **(headers or {})})
    assert r.status_code == 202, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    return r.headers["content-location"]


def finished(client, url: str, headers: dict | None = None):  # noqa: ANN001, ANN201
    """Poll the status URL as a client would (Retry-After), until the export is no longer running."""
    for _ in range(600):
        r = client.get(url, headers=headers or {})
        if r.status_code != 202:
            return r
        assert r.headers["x-progress"] and int(r.headers["retry-after"]) > 0
        time.sleep(0.05)
    raise AssertionError(f"the export at {url} did not finish")


def contents(client, manifest: dict, headers: dict | None = None) -> dict[str, list[dict]]:  # noqa: ANN001
    out: dict[str, list[dict]] = {}
    for item in manifest["output"]:
        r = client.get(item["url"], headers=headers or {})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        lines = r.content.decode("utf-8").splitlines()
        assert len(lines) == item["count"]
        out.setdefault(item["type"], []).extend(orjson.loads(line) for line in lines)
    return out


def ids(resources: list[dict]) -> set[str]:
    return {r["id"] for r in resources}


def export_events(store, subtype: str) -> list:  # noqa: ANN001
    with store.db.read() as conn:
        return conn.execute(select(audit_event).where(audit_event.c.interaction == "export")
                            .where(audit_event.c.subtype == subtype).order_by(audit_event.c.seq)).all()


def test_a_system_export_writes_every_current_resource_once_and_is_audited(store, api):
    w = world(store)
    url = kick(api, "/fhir/$export")
    r = finished(api, url)
    assert r.status_code == 200, r.text
    manifest = r.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/$export") and manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    got = contents(api, manifest)
    assert ids(got["Patient"]) == {w["p1"], w["p2"]}
    assert ids(got["Observation"]) == set(w["o1"] + w["o2"])          # the deleted one is not there
    assert ids(got["Practitioner"]) == {w["practitioner"]}
    assert all(r["meta"]["versionId"] == "1" for r in got["Observation"])
    # Kick-off and each download are in the trail, by the client that did them.
    (kickoff,) = export_events(store, "bulk-export-kickoff")
    assert kickoff.client_id == "benhan-tests" and kickoff.outcome == "0"
    downloads = export_events(store, "bulk-export-download")
    assert len(downloads) == len(manifest["output"])
    assert {orjson.loads(d.detail)["type"] for d in downloads} == {"Patient", "Observation", "Practitioner"}


def test_type_since_and_type_filter_narrow_the_export(store, api):
    w = world(store)
    got = contents(api, finished(api, kick(api, "/fhir/$export?_type=Patient")).json())
    assert set(got) == {"Patient"}
    got = contents(api, finished(api, kick(api, "/fhir/$export?_type=Observation&_typeFilter="
                                               "Observation%3Fcode%3D8310-5")).json())
    assert ids(got["Observation"]) == set(w["o2"])
    # _since: only what changed at or after that instant (the store's lastUpdated).
    first = finished(api, kick(api, "/fhir/$export?_type=Patient")).json()["transactionTime"]
    time.sleep(0.002)
    repo = Repository(store, Actor.system("test"))
    later = repo.create("Patient", factories.patient("Đỗ", ("Minh",))).res_id
    got = contents(api, finished(api, kick(api, f"/fhir/$export?_type=Patient&_since={first}")).json())
    assert ids(got["Patient"]) == {later}


@pytest.mark.parametrize("query, expression", [
    ("_outputFormat=application/fhir%2Bxml", "_outputFormat"),
    ("_type=Nonsense", "_type"),
    ("_since=yesterday", "_since"),
    ("_typeFilter=Observation%3Fnot-a-parameter%3D1", "not-a-parameter"),
    ("_typeFilter=Observation%3F_count%3D5", "_typeFilter"),
    ("includeAssociatedData=LatestProvenanceResources", "includeAssociatedData"),
])
def test_a_bad_kick_off_is_a_400_operation_outcome(store, api, query, expression):
    r = api.get(f"/fhir/$export?{query}", headers=ASYNC)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert expression in r.text
    assert export_events(store, "bulk-export-kickoff")[-1].outcome == "4"


def test_ndjson_variants_are_accepted_and_respond_async_is_required(store, api):
    world(store)
    for fmt in ("application/fhir%2Bndjson", "application/ndjson", "ndjson"):
        assert finished(api, kick(api, f"/fhir/$export?_type=Patient&_outputFormat={fmt}")).status_code == 200
    r = api.get("/fhir/$export", headers={"Accept": "application/fhir+json"})
    assert r.status_code == 400 and "respond-async" in r.text


def test_one_export_at_a_time_per_client_and_delete_cancels_it(store, idle_api):
    world(store)
    url = kick(idle_api, "/fhir/$export")
    r = idle_api.get(url)
    assert r.status_code == 202 and r.headers["x-progress"] == "queued"
    again = idle_api.get("/fhir/$export", headers=ASYNC)
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
    assert again.json()["issue"][0]["code"] == "throttled"
    assert orjson.loads(export_events(store, "bulk-export-kickoff")[-1].detail)["refused"] == "BENHAN-8801"
    # Another token of the same client is held up too; another client is not.
    assert idle_api.get("/fhir/$export", headers={**ASYNC, **token_for(store, "system/*.rs")}).status_code == 429
    with store.db.write() as conn:
        install(conn, "another-client-token-0123456789", "system/*.rs", client_id="another-client")
    assert idle_api.get("/fhir/$export", headers={**ASYNC, "Authorization": "Bearer another-client-token-0123456789"}
                        ).status_code == 202
    assert idle_api.delete(url).status_code == 202
    assert idle_api.get(url).status_code == 404
    assert export_events(store, "bulk-export-delete")
    assert kick(idle_api, "/fhir/$export")     # free again


def test_status_and_files_are_answered_only_to_the_client_that_asked(store, api):
    world(store)
    url = kick(api, "/fhir/$export?_type=Patient")
    manifest = finished(api, url).json()
    with store.db.write() as conn:
        install(conn, "another-client-token-0123456789", "system/*.rs", client_id="another-client")
    stranger = {"Authorization": "Bearer another-client-token-0123456789"}
    assert api.get(url, headers=stranger).status_code == 404
    assert api.get(manifest["output"][0]["url"], headers=stranger).status_code == 404
    assert api.delete(url, headers=stranger).status_code == 404
    assert api.get(url).status_code == 200
    assert api.get(manifest["output"][0]["url"] + "x").status_code == 404


def test_a_user_session_or_user_token_may_not_export(store, api):
    world(store)
    user, _ = users.create_user(store, "bs.xuat", "Bác sĩ Xuất", ["doctor"], departments=["*"], password=PASSWORD)
    r = api.get("/fhir/$export", headers={**ASYNC, **token_for(store, "user/*.rs", user_pk=user.pk)})
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    anonymous = TestClient(api.app, raise_server_exceptions=False)
    assert anonymous.get("/fhir/$export", headers=ASYNC).status_code == 401
    assert export_events(store, "bulk-export-kickoff")[-1].outcome == "4"


def test_a_client_reads_only_the_types_its_scopes_name(store, api):
    w = world(store)
    narrow = token_for(store, "system/Patient.rs")
    got = contents(api, finished(api, kick(api, "/fhir/$export", narrow), narrow).json(), narrow)
    assert set(got) == {"Patient"} and ids(got["Patient"]) == {w["p1"], w["p2"]}
    r = api.get("/fhir/$export?_type=Observation", headers={**ASYNC, **narrow})
    assert r.status_code == 403


def test_patient_and_group_level_exports_hold_the_compartments(store, api):
    w = world(store)
    got = contents(api, finished(api, kick(api, "/fhir/Patient/$export")).json())
    assert set(got) == {"Patient", "Observation"}          # the Practitioner is in no compartment
    assert ids(got["Observation"]) == set(w["o1"] + w["o2"])
    repo = Repository(store, Actor.system("test"))
    group = repo.create("Group", {"resourceType": "Group", "type": "person", "actual": True,
                                  "member": [{"entity": {"reference": f"Patient/{w['p1']}"}}]}).res_id
    got = contents(api, finished(api, kick(api, f"/fhir/Group/{group}/$export")).json())
    assert ids(got["Patient"]) == {w["p1"]} and ids(got["Observation"]) == set(w["o1"])
    (event,) = [e for e in export_events(store, "bulk-export-kickoff") if e.patients]
    assert event.patients == w["p1"]
    assert api.get("/fhir/Group/no-such-group/$export", headers=ASYNC).status_code == 404
    assert api.get("/fhir/Patient/$export?_type=Practitioner", headers=ASYNC).status_code == 400


def test_a_large_type_is_split_into_files_and_a_deleted_job_writes_nothing(store):
    world(store)
    actor = Actor(name="benhan-tests", kind="client", client_id="benhan-tests")
    job = bulk_export.create(store, actor, bulk_export.ExportRequest("system", ("Observation",)), "x")
    assert bulk_export.claim(store) == job
    assert bulk_export.run_job(store, job, expiry_hours=1, max_lines=2) == "done"
    row = bulk_export.get(store, job)
    files = orjson.loads(row.output)
    assert [(f["file"], f["count"]) for f in files] == [("Observation.ndjson", 2), ("Observation.2.ndjson", 2),
                                                        ("Observation.3.ndjson", 1)]
    second = bulk_export.create(store, actor, bulk_export.ExportRequest("system", None), "x")
    assert bulk_export.claim(store) == second
    bulk_export.remove(store, second)
    assert bulk_export.run_job(store, second, expiry_hours=1) == "cancelled"
    assert not bulk_export.job_dir(store, second).exists()


def test_expired_exports_are_deleted_with_their_files(store, api):
    world(store)
    url = kick(api, "/fhir/$export")
    manifest = finished(api, url).json()
    job = url.rsplit("/", 1)[1]
    row = bulk_export.get(store, job)
    folder = bulk_export.job_dir(store, job)
    assert folder.is_dir() and row.expires - row.finished == int(store.config.export_expiry_hours * 3600 * 10**6)
    # The status says expired once the time has passed (the job's clock moved back instead of the real one).
    with store.db.write() as conn:
        conn.execute(bulk_export_job.update().where(bulk_export_job.c.id == job).values(expires=row.finished))
    assert api.get(url).status_code == 410
    assert api.get(manifest["output"][0]["url"]).status_code == 410
    assert bulk_export.cleanup(store, now=row.finished + 1) == [job]
    assert not folder.exists() and bulk_export.get(store, job) is None
    assert api.get(url).status_code == 404


def test_a_post_kick_off_takes_a_parameters_resource(store, api):
    w = world(store)
    r = api.post("/fhir/$export", headers=ASYNC, json={"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Observation"},
        {"name": "_typeFilter", "valueString": "Observation?code=8310-5"}]})
    assert r.status_code == 202, r.text
    got = contents(api, finished(api, r.headers["content-location"]).json())
    assert ids(got["Observation"]) == set(w["o2"])
    bad = api.post("/fhir/$export", headers=ASYNC, json={"resourceType": "Patient"})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_an_export_whose_process_died_is_taken_again(store):
    actor = Actor(name="benhan-tests", kind="client", client_id="benhan-tests")
    job = bulk_export.create(store, actor, bulk_export.ExportRequest("system", None), "x", now=1_000)
    assert bulk_export.claim(store, now=2_000) == job
    assert bulk_export.claim(store, now=3_000) is None          # running, alive
    assert bulk_export.claim(store, now=2_000 + bulk_export.STALE_US + 1) == job


def test_the_capability_statement_says_the_server_exports(store, api):
    cs = api.get("/fhir/metadata").json()
    assert "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data" in cs["instantiates"]
    assert "export" in {o["name"] for o in cs["rest"][0]["operation"]}
    by_type = {r["type"]: {o["name"] for o in r.get("operation", [])} for r in cs["rest"][0]["resource"]}
    assert "export" in by_type["Patient"] and "export" in by_type["Group"]


def test_an_export_that_fails_says_so_with_a_500_operation_outcome_and_is_not_retried(store, idle_api):
    world(store)
    url = kick(idle_api, "/fhir/$export")
    job = url.rsplit("/", 1)[1]
    with store.db.write() as conn:      # what the worker cannot read (a row from a broken release, say)
        conn.execute(bulk_export_job.update().where(bulk_export_job.c.id == job).values(params="{not json"))
    assert bulk_export.claim(store) == job
    assert bulk_export.run_job(store, job, expiry_hours=1) == "failed"
    r = idle_api.get(url)
    assert r.status_code == 500 and r.json()["issue"][0]["details"]["coding"][0]["code"] == "BENHAN-8804"
    assert bulk_export.claim(store) is None
    assert not bulk_export.job_dir(store, job).exists()
    assert kick(idle_api, "/fhir/$export")      # the client may ask again


def test_an_export_interrupted_by_a_server_stop_goes_back_to_the_queue(store):
    world(store)
    actor = Actor(name="benhan-tests", kind="client", client_id="benhan-tests")
    job = bulk_export.create(store, actor, bulk_export.ExportRequest("system", None), "x")
    assert bulk_export.claim(store) == job
    assert bulk_export.run_job(store, job, expiry_hours=1, stopping=lambda: True) == "cancelled"
    assert bulk_export.get(store, job).state == "queued" and not bulk_export.job_dir(store, job).exists()
    assert bulk_export.claim(store) == job
    assert bulk_export.run_job(store, job, expiry_hours=1) == "done"
