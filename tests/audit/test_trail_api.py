"""Auditors' view of the trail: GET /fhir/AuditEvent with each search parameter, paging, read by
id, the append-only refusal, access, and the report "who looked at this patient's record"."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from benhan.audit import trail
from benhan.auth.actor import Actor
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository
from tests import factories
from tests.audit.helpers import DOCTOR, NURSE


def us(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(timezone.utc).timestamp()) * 1_000_000


@pytest.fixture
def trail_data(store):  # noqa: ANN001, ANN201
    doctor, nurse = Repository(store, DOCTOR), Repository(store, NURSE)
    an = doctor.create("Patient", factories.patient()).res_id
    binh = doctor.create("Patient", factories.patient(given=("Thị", "Bình"))).res_id
    obs = doctor.create("Observation", factories.observation(f"Patient/{an}")).res_id
    nurse.read("Observation", obs)
    nurse.read("Patient", binh)
    with pytest.raises(Exception):
        nurse.read("Observation", "missing")
    store.read_audit.flush()
    # Events at known times (after the reads above in the trail's order, before them in time: the
    # trail is ordered as written, docs/audit.md), from the login screen and a break-the-glass grant.
    audit_log.append(store.db, [
        AuditRecord(recorded=us("2026-01-10T08:00:00+07:00"), interaction="login", subtype="login", agent="clock.test",
                    source_address="10.9.9.9", detail=json.dumps({"user": "clock.test"})),
        AuditRecord(recorded=us("2026-01-11T08:00:00+07:00"), interaction="login", subtype="login", agent="clock.test",
                    outcome="4", detail=json.dumps({"user": "clock.test", "reason": "wrong password"})),
        AuditRecord(recorded=us("2026-01-12T08:00:00+07:00"), interaction="read", agent="clock.test", role="doctor",
                    res_type="Patient", res_id=binh, version=1, patients=(binh,), purpose="BTG"),
    ])
    store.read_audit.flush()
    return {"an": an, "binh": binh, "obs": obs}


def search(client, query: str) -> list[dict]:  # noqa: ANN001
    r = client.get(f"/fhir/AuditEvent?{query}")
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def subtypes(events: list[dict]) -> list[str]:
    return [e["subtype"][0]["code"] if e["type"]["code"] == "rest" else e["subtype"][-1]["code"] for e in events]


def refs(event: dict) -> list[str]:
    return [e["what"]["reference"] for e in event.get("entity", []) if "reference" in e.get("what", {})]


def test_patient_finds_every_event_that_touched_the_record_newest_first(client, trail_data):
    events = search(client, f"patient={trail_data['an']}")
    assert subtypes(events) == ["read", "create", "create"]
    assert all(f"Patient/{trail_data['an']}" in " ".join(refs(e)) for e in events)
    assert search(client, f"patient=Patient/{trail_data['an']}") == events


def test_agent_and_agent_name_find_a_users_events(client, trail_data):
    assert subtypes(search(client, "agent=dd.hoa")) == ["read", "read", "read"]
    assert subtypes(search(client, "agent-name=DD.H")) == ["read", "read", "read"]
    assert search(client, "agent=nobody") == []


@pytest.mark.parametrize("query, expected", [
    ("date=2026-01-11", ["login"]),
    ("date=ge2026-01-11", ["read", "login", "read", "read", "read", "create", "create", "create"]),
    ("date=ge2026-01-10&date=lt2026-01-12", ["login", "login"]),
    ("date=le2026-01-11T08:00:00%2B07:00&agent=clock.test", ["login", "login"]),
    ("date=gt2026-01-10&agent=clock.test", ["read", "login"]),
    ("date=2026-01", ["read", "login", "login"]),
])
def test_date_takes_fhir_prefixes_on_the_time_recorded(client, trail_data, query, expected):
    assert subtypes(search(client, query)) == expected


def test_entity_and_entity_type_find_events_about_a_resource(client, trail_data):
    obs = trail_data["obs"]
    assert subtypes(search(client, f"entity=Observation/{obs}")) == ["read", "create"]
    assert subtypes(search(client, f"entity=Observation/{obs}/_history/1")) == ["read", "create"]
    assert subtypes(search(client, "entity-type=Observation&agent=bs.lan")) == ["create"]


def test_action_outcome_subtype_and_type(client, trail_data):
    assert subtypes(search(client, "action=C")) == ["create", "create", "create"]
    assert subtypes(search(client, "outcome=4")) == ["login", "read"]
    assert subtypes(search(client, "subtype=http://hl7.org/fhir/restful-interaction|create")) == ["create"] * 3
    assert subtypes(search(client, "subtype=http://dicom.nema.org/resources/ontology/DCM|110122")) == ["login", "login"]
    assert subtypes(search(client, "type=http://dicom.nema.org/resources/ontology/DCM|110114")) == ["login", "login"]
    assert "login" not in subtypes(search(client, "type=rest"))


def test_purpose_btg_finds_break_the_glass_access(client, trail_data):
    events = search(client, "purpose=BTG")
    assert len(events) == 1 and events[0]["purposeOfEvent"][0]["coding"][0]["code"] == "BTG"


def test_pages_follow_next_links_through_every_event_once(client, trail_data):
    r = client.get("/fhir/AuditEvent?_count=2&_total=accurate")
    total = r.json()["total"]
    seen = []
    while True:
        bundle = r.json()
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not nxt:
            break
        assert "_count=2" in nxt[0]
        r = client.get(nxt[0])
        assert r.status_code == 200
    assert len(seen) == len(set(seen)) == total
    seqs = [int(i.rsplit("-", 1)[1]) for i in seen]
    assert seqs == sorted(seqs, reverse=True)


def test_sort_by_date_gives_the_oldest_first(client, trail_data):
    events = search(client, "_sort=date&_count=3")
    assert subtypes(events) == ["create", "create", "create"]


def test_an_event_is_read_by_its_id_and_an_unknown_one_is_404(client, trail_data):
    event = search(client, "_count=1")[0]
    r = client.get(f"/fhir/AuditEvent/{event['id']}")
    assert r.status_code == 200 and r.json() == event
    assert r.headers["etag"] == 'W/"1"'
    assert client.get("/fhir/AuditEvent/node-x-1").status_code == 404
    assert client.get("/fhir/AuditEvent/whatever").status_code == 404


@pytest.mark.parametrize("method, path", [("POST", "/fhir/AuditEvent"), ("PUT", "/fhir/AuditEvent/x-1"),
                                          ("PATCH", "/fhir/AuditEvent/x-1"), ("DELETE", "/fhir/AuditEvent/x-1"),
                                          ("DELETE", "/fhir/AuditEvent?agent=bs.lan")])
def test_the_trail_cannot_be_written_through_the_api(client, method, path):
    r = client.request(method, path, content=b"{}", headers=factories.FHIR_JSON)
    assert r.status_code == 405
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "append-only" in r.json()["issue"][0]["diagnostics"]


def test_an_unknown_parameter_is_refused_unless_lenient(client, trail_data):
    r = client.get("/fhir/AuditEvent?colour=blue")
    assert r.status_code == 400 and factories.issue_codes(r.json()) == ["BENHAN-1013"]
    r = client.get("/fhir/AuditEvent?colour=blue", headers={"Prefer": "handling=lenient"})
    assert r.status_code == 200
    assert r.json()["entry"][-1]["search"]["mode"] == "outcome"


def test_a_bad_date_is_400(client):
    r = client.get("/fhir/AuditEvent?date=yesterday")
    assert r.status_code == 400 and factories.issue_codes(r.json()) == ["BENHAN-1012"]


def test_the_patient_compartment_lists_the_patients_events(client, trail_data):
    r = client.get(f"/fhir/Patient/{trail_data['binh']}/AuditEvent")
    assert r.status_code == 200
    assert subtypes([e["resource"] for e in r.json()["entry"]]) == ["read", "read", "create"]
    assert r.json()["link"][0]["url"].endswith(f"/Patient/{trail_data['binh']}/AuditEvent")


def test_reading_the_trail_is_itself_audited(client, store, trail_data):
    search(client, f"patient={trail_data['an']}")
    store.read_audit.flush()
    audited = search(client, "entity-type=AuditEvent")
    assert audited, "the search of the trail left no event"
    query = next(e for e in audited[0]["entity"] if e.get("role", {}).get("code") == "24")
    import base64
    assert base64.b64decode(query["query"]).decode() == f"AuditEvent?patient={trail_data['an']}"


def test_a_role_without_the_audit_permission_is_refused_with_403(store, trail_data):
    from benhan.store.access import ALL, Access
    nurse = Actor(name="dd.hoa", roles=("nurse",), access=Access(modes={("Observation", "s"): ALL}))
    auditor = Actor(name="kt.minh", roles=("auditor",), access=Access(modes={("AuditEvent", "s"): ALL,
                                                                            ("AuditEvent", "r"): ALL}))
    from benhan import errors
    with pytest.raises(errors.Forbidden):
        trail.search(store, nurse, [("patient", trail_data["an"])])
    assert trail.search(store, auditor, [("patient", trail_data["an"])]).rows
    store.read_audit.flush()
    refused = trail.search(store, auditor, [("agent", "dd.hoa"), ("entity-type", "AuditEvent"), ("outcome", "4")])
    assert len(refused.rows) == 1


def test_over_http_a_token_without_the_audit_scope_gets_403(client, store, trail_data):
    helpers = pytest.importorskip("tests.auth_helpers")
    r = client.get("/fhir/AuditEvent", headers=helpers.token_for(store, "system/Patient.rs"))
    assert r.status_code == 403
    assert r.json()["resourceType"] == "OperationOutcome"


def test_the_patient_report_says_who_looked_when_from_where_and_flags_break_the_glass(store, trail_data):
    report = trail.report_for_patient(store, trail_data["binh"])
    assert [(a.username, a.interaction, a.resource) for a in report] == [
        ("clock.test", "read", f"Patient/{trail_data['binh']}/_history/1"),
        ("dd.hoa", "read", f"Patient/{trail_data['binh']}/_history/1"),
        ("bs.lan", "create", f"Patient/{trail_data['binh']}/_history/1")]
    assert [a.break_glass for a in report] == [True, False, False]
    assert report[1].roles == ("nurse",) and report[1].source_address == "10.0.0.6"
    assert report[1].client_id == "ward-tablet"
