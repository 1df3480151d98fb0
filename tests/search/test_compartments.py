"""The Patient compartment: compartment search (GET Patient/{id}/{type}) and Patient/$everything,
on every store."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select

from benhan.store.schema import audit_event
from tests.factories import FHIR_JSON, issue_codes, observation, patient


def create(client, resource: dict) -> dict:
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    return r.json()


def ref(resource: dict) -> dict:
    return {"reference": f"{resource['resourceType']}/{resource['id']}"}


def encounter(subject: str) -> dict:
    return {"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": subject}}


def condition(subject: str, icd10: str = "J06.9") -> dict:
    return {"resourceType": "Condition", "subject": {"reference": subject},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": icd10}]}}


def practitioner(family: str = "Trần") -> dict:
    return {"resourceType": "Practitioner", "name": [{"family": family, "given": ["Thị", "Bình"]}]}


def medication(code: str = "paracetamol-500") -> dict:
    return {"resourceType": "Medication", "code": {"coding": [{"system": "https://benhan.vn/thuoc", "code": code}]}}


def medication_request(subject: str, med: str, prescriber: str) -> dict:
    return {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "subject": {"reference": subject}, "medicationReference": {"reference": med},
            "requester": {"reference": prescriber}}


def keys(bundle: dict, mode: str | None = None) -> list[tuple[str, str]]:
    return [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle.get("entry", [])
            if mode is None or e["search"]["mode"] == mode]


def key(resource: dict) -> tuple[str, str]:
    return resource["resourceType"], resource["id"]


def next_url(bundle: dict) -> str | None:
    url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    return "/fhir" + url.split("/fhir", 1)[1] if url else None


@dataclass
class Records:
    an: dict
    matches: set          # An, and everything in An's compartment
    includes: set         # what An's resources reference that is not in the compartment
    observations: set
    other: set            # Bình's record and what only it references


def store_all(client, resources: list[dict]) -> list[dict]:
    """Store the resources in one transaction; references may name them by their place in the list
    ("#3"). Returns each as {"resourceType", "id"}."""
    urns = [f"urn:uuid:{uuid.uuid4()}" for _ in resources]
    text = json.dumps(resources)
    for i in reversed(range(len(resources))):
        text = text.replace(f'"#{i}"', f'"{urns[i]}"')
    entries = [{"fullUrl": u, "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
               for u, r in zip(urns, json.loads(text))]
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
                    headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    return [dict(zip(("resourceType", "id"), e["response"]["location"].split("/")[:2])) for e in r.json()["entry"]]


@pytest.fixture
def records(client) -> Records:
    an, binh = "#3", "#15"
    made = store_all(client, [
        practitioner(), {"resourceType": "Organization", "name": "Trạm y tế xã Tân Lập"}, medication(),  # 0-2
        patient(family="Nguyễn", managingOrganization={"reference": "#1"}),                             # 3
        encounter(an), encounter(an),                                                                    # 4-5
        *(dict(observation(an, value=70 + i), encounter={"reference": f"#{4 + i % 2}"}) for i in range(3)),  # 6-8
        dict(observation(an, code="8310-5", value=38.5), performer=[{"reference": "#0"}]),             # 9
        condition(an, "J06.9"), condition(an, "I10"),                                                   # 10-11
        medication_request(an, "#2", "#0"),                                                              # 12
        practitioner("Lê"), medication("amoxicillin-500"),                                               # 13-14
        patient(family="Trần"), encounter(binh), observation(binh), condition(binh),                    # 15-18
        medication_request(binh, "#14", "#13"),                                                          # 19
    ])
    k = [key(r) for r in made]
    return Records(made[3], set(k[3:13]), set(k[0:3]), set(k[6:10]), set(k[13:20]))


# --- compartment search --------------------------------------------------------------------------

def test_a_compartment_search_returns_the_patients_resources_of_that_type_only(client, records):
    found = client.get(f"/fhir/Patient/{records.an['id']}/Observation").json()
    assert found["type"] == "searchset"
    assert set(keys(found)) == records.observations
    assert found["link"][0]["url"].endswith(f"/fhir/Patient/{records.an['id']}/Observation?_count=20")


def test_a_compartment_search_also_applies_the_other_search_parameters(client, records):
    found = client.get(f"/fhir/Patient/{records.an['id']}/Observation?code=8310-5&_total=accurate").json()
    assert len(keys(found)) == 1 and found["total"] == 1
    assert client.get(f"/fhir/Patient/{records.an['id']}/Condition?code=I10").json()["entry"][0]["resource"][
        "code"]["coding"][0]["code"] == "I10"


def test_a_resource_is_in_the_compartment_through_any_of_its_compartment_parameters(client, records):
    # Observation's compartment parameters are subject and performer: a patient who performed
    # an observation (a home reading about somebody else) has it in their compartment.
    reading = create(client, dict(observation(f"Group/{records.an['id']}"), performer=[ref(records.an)]))
    found = client.get(f"/fhir/Patient/{records.an['id']}/Observation").json()
    assert set(keys(found)) == records.observations | {key(reading)}


def test_a_compartment_search_pages_through_every_match_once(client, records):
    url, seen = f"/fhir/Patient/{records.an['id']}/Observation?_count=3", []
    while url:
        page = client.get(url).json()
        seen += keys(page)
        url = next_url(page)
    assert sorted(seen) == sorted(records.observations)


def test_the_patient_is_in_its_own_compartment(client, records):
    found = client.get(f"/fhir/Patient/{records.an['id']}/Patient").json()
    assert keys(found) == [key(records.an)]


def test_a_compartment_search_can_include_what_the_matches_reference(client, records):
    found = client.get(f"/fhir/Patient/{records.an['id']}/MedicationRequest"
                       "?_include=MedicationRequest:medication").json()
    assert len(keys(found, "match")) == 1
    assert [t for t, _ in keys(found, "include")] == ["Medication"]


def test_a_compartment_search_of_an_unknown_patient_is_404(client, records):
    r = client.get("/fhir/Patient/nobody/Observation")
    assert r.status_code == 404
    assert issue_codes(r.json()) == ["BENHAN-2001"]


def test_a_compartment_search_of_a_deleted_patient_is_410(client, records):
    # A patient with a visit is kept for the visit's retention period (TT 33/2025: the store refuses
    # the deletion); one registered by mistake, with no visit yet, can be deleted.
    pid = client.post("/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": "Nhầm"}]}).json()["id"]
    assert client.delete(f"/fhir/Patient/{pid}").status_code in (200, 204)
    assert client.get(f"/fhir/Patient/{pid}/Observation").status_code == 410
    assert client.delete(f"/fhir/Patient/{records.an['id']}").status_code == 409


def test_a_type_outside_the_patient_compartment_is_400(client, records):
    r = client.get(f"/fhir/Patient/{records.an['id']}/Practitioner")
    assert r.status_code == 400
    assert r.json()["resourceType"] == "OperationOutcome"


def test_an_unknown_type_or_parameter_in_a_compartment_search_is_refused(client, records):
    assert client.get(f"/fhir/Patient/{records.an['id']}/Observatio").status_code == 404
    r = client.get(f"/fhir/Patient/{records.an['id']}/Observation?colour=blue")
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1013"]


def test_the_compartment_route_leaves_a_patients_history_alone(client, records):
    r = client.get(f"/fhir/Patient/{records.an['id']}/_history")
    assert r.status_code == 200
    assert r.json()["type"] == "history"


# --- $everything -------------------------------------------------------------------------------------

def everything(client, patient_id: str, query: str = "") -> dict:
    r = client.get(f"/fhir/Patient/{patient_id}/$everything{query}")
    assert r.status_code == 200, r.text
    return r.json()


def test_everything_is_the_patient_its_compartment_and_what_they_reference(client, records):
    found = everything(client, records.an["id"], "?_count=1000")
    assert found["type"] == "searchset"
    assert keys(found)[0] == key(records.an)
    assert set(keys(found, "match")) == records.matches
    assert set(keys(found, "include")) == records.includes
    assert len(keys(found)) == len(records.matches | records.includes)     # each once
    assert not set(keys(found)) & records.other
    assert all(e["fullUrl"].endswith("/fhir/{}/{}".format(*k)) for e, k in zip(found["entry"], keys(found)))


def test_everything_never_brings_in_another_patient(client, records):
    # A Group naming both patients is in An's compartment; Bình is not brought in through it.
    group = create(client, {"resourceType": "Group", "type": "person", "actual": True, "member": [
        {"entity": ref(records.an)}, {"entity": {"reference": "Patient/" + binh_id(records)}}]})
    found = set(keys(everything(client, records.an["id"], "?_count=1000")))
    assert key(group) in found
    assert ("Patient", binh_id(records)) not in found


def binh_id(records: Records) -> str:
    return next(i for t, i in records.other if t == "Patient")


def test_everything_with_type_returns_only_those_types(client, records):
    found = everything(client, records.an["id"], "?_type=Observation,Condition&_type=Medication&_count=1000")
    assert {t for t, _ in keys(found)} == {"Observation", "Condition", "Medication"}
    assert set(keys(found)) == {k for k in records.matches | records.includes
                                if k[0] in ("Observation", "Condition", "Medication")}


def test_everything_since_returns_what_changed_since_then(client, records):
    since = datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    visit = next(e["resource"] for e in everything(client, records.an["id"], "?_type=Encounter")["entry"])
    changed = client.put(f"/fhir/Encounter/{visit['id']}", json=dict(visit, status="cancelled"),
                         headers=FHIR_JSON).json()
    new = create(client, observation(f"Patient/{records.an['id']}", value=99))
    found = everything(client, records.an["id"], f"?_since={since}")
    assert set(keys(found)) == {key(changed), key(new)}


def test_everything_pages_through_every_resource_once_while_others_write(client, records):
    expected = records.matches | records.includes
    url, seen, written, pages = f"/fhir/Patient/{records.an['id']}/$everything?_count=3", [], set(), 0
    while url:
        page = client.get(url).json()
        seen += keys(page)
        url = next_url(page)
        pages += 1
        # Between pages: a new observation, an edited encounter and somebody else's new record.
        written.add(key(create(client, observation(f"Patient/{records.an['id']}", value=60 + pages))))
        create(client, observation(f"Patient/{binh_id(records)}"))
        visit = next(r for r in client.get(f"/fhir/Patient/{records.an['id']}/Encounter").json()["entry"])["resource"]
        client.put(f"/fhir/Encounter/{visit['id']}", json=dict(visit, status=["finished", "cancelled"][pages % 2]),
                   headers=FHIR_JSON)
    assert pages >= len(expected) // 3
    assert len(seen) == len(set(seen))                       # nothing twice
    assert expected <= set(seen) <= expected | written      # nothing skipped; nobody else's
    assert seen[0] == key(records.an)


def test_everything_of_an_unknown_patient_is_404(client, records):
    r = client.get("/fhir/Patient/nobody/$everything")
    assert r.status_code == 404
    assert issue_codes(r.json()) == ["BENHAN-2001"]


@pytest.mark.parametrize("query", ["?_since=yesterday", "?_type=Observatio", "?_count=many", "?_cursor=-1",
                                   "?start=2026-01-01"])
def test_everything_refuses_parameters_it_cannot_honour_with_400(client, records, query):
    r = client.get(f"/fhir/Patient/{records.an['id']}/$everything{query}")
    assert r.status_code == 400, r.text
    assert r.json()["resourceType"] == "OperationOutcome"


def test_everything_is_audited_as_an_operation_on_the_patient(client, store, records):
    everything(client, records.an["id"])
    store.read_audit.flush()
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event.c.interaction, audit_event.c.query).where(
            audit_event.c.res_id == records.an["id"])).all()
    assert ("operation", "$everything?_count=20") in [tuple(r) for r in rows]


def test_everything_of_a_patient_with_500_resources_takes_a_few_statements(client, store):
    an = create(client, patient())
    doctor = create(client, practitioner())
    subject = f"Patient/{an['id']}"
    made = [dict(observation(subject, value=i), performer=[ref(doctor)]) if i % 3 else
            (encounter(subject) if i % 2 else condition(subject)) for i in range(500)]
    for start in range(0, len(made), 250):
        store_all(client, made[start:start + 250])
    statements = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        statements.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", count)
    try:
        found = everything(client, an["id"], "?_count=1000")
    finally:
        event.remove(store.db.engine, "before_cursor_execute", count)
    assert len(found["entry"]) == 502           # the patient, 500 resources, the doctor
    # BEGIN, the patient, the page, whose records the page holds (store.release: the audit names
    # every patient) — and perhaps a read-audit flush landing meanwhile (BEGIN, INSERT).
    assert len(statements) <= 6, statements


# --- the compartment's references drive the search: the same answers as before ------------------

COMPARTMENT_SHAPES = [
    [], [("code", "http://loinc.org|8867-4")], [("code", "8867-4"), ("_total", "accurate")],
    [("code", "8867-4,8310-5"), ("_count", "2")], [("code:not", "8867-4")],
    [("date", "ge2026-11-01"), ("date", "lt2026-12-01"), ("_total", "accurate")],
    [("_sort", "-date"), ("_count", "3")], [("_sort", "code"), ("_total", "accurate")],
    [("value-quantity", "gt71")], [("encounter:missing", "false")],
    [("code", "8867-4"), ("_include", "Observation:encounter")], [("_summary", "count")],
    [("subject:Patient.family", "Nguyễn")],
]


def test_the_compartment_search_answers_as_the_undriven_search_and_as_the_records_say(store):
    """The patient's compartment references start a compartment search (search.where_clause,
    driven): every query shape gives the same pages, ids and totals as the same search with the
    criteria driving (the shape before), for the system and for a department doctor whose access
    rules filter the rows, and the ids the records say."""
    from benhan.auth import users
    from benhan.auth.actor import Actor
    from benhan.auth.policy import actor_for_user
    from benhan.fhir import search as fhir_search
    from benhan.store import compartments
    from benhan.store.repository import Repository
    from tests.auth.test_every_path_filters import PASSWORD, _encounter

    system = Repository(store, Actor.system("test-setup"))
    medicine = system.create("Organization", {"resourceType": "Organization", "name": "Khoa Nội"}).res_id
    surgery = system.create("Organization", {"resourceType": "Organization", "name": "Khoa Ngoại"}).res_id
    an = system.create("Patient", patient(family="Nguyễn")).res_id
    binh = system.create("Patient", patient(family="Trần")).res_id
    e_an = system.create("Encounter", _encounter(an, medicine, "E")).res_id
    e_binh = system.create("Encounter", _encounter(binh, surgery, "E")).res_id
    made: dict[str, set] = {"an": set(), "binh": set()}
    pulse: set[str] = set()
    for i in range(9):
        for who, pid, enc in (("an", an, e_an), ("binh", binh, e_binh)):
            body = observation(f"Patient/{pid}", code=("8867-4", "8310-5", "8480-6")[i % 3], value=70 + i,
                               effectiveDateTime=f"2026-{10 + i % 2}-{10 + i}T08:30:00+07:00",
                               **({"encounter": {"reference": f"Encounter/{enc}"}} if i % 2 else {}))
            rid = system.create("Observation", body).res_id
            made[who].add(rid)
            if i % 3 == 0:
                pulse.add(rid)
    # In An's compartment through performer only; Bình's (subject) too.
    shared = system.create("Observation", dict(observation(f"Patient/{binh}"), performer=[
        {"reference": f"Patient/{an}"}])).res_id
    gone = system.create("Observation", observation(f"Patient/{an}")).res_id
    system.delete("Observation", gone)
    user, _ = users.create_user(store, "bs.noi", "Bác sĩ khoa Nội", ["doctor"], departments=[medicine],
                                password=PASSWORD)
    doctor = actor_for_user(store, user)

    def pages(repo: Repository, pid: str, items: list, driven: bool) -> list:
        """Every page's (match ids, include ids, total), following the cursor."""
        config = store.config
        out, cursor = [], None
        for _ in range(20):
            req = fhir_search.parse("Observation", items + ([("_cursor", cursor)] if cursor else []),
                                    default_count=config.default_page_size, max_count=config.max_page_size)
            with store.db.read() as conn:
                r = repo.run_search_in(conn, req, compartments.in_compartment("Observation", pid),
                                       extra_drives=driven)
            out.append(([m.res_id for m in r.matches], sorted(i.res_id for i in r.included), r.total))
            if not r.has_next:
                return out
            cursor = r.next_cursor
        raise AssertionError("more than 20 pages")

    seen: dict[str, set] = {"system": set(), "doctor": set()}
    for actor in (Actor.system("test"), doctor):
        repo = Repository(store, actor)
        for pid in (an, binh):
            for items in COMPARTMENT_SHAPES:
                driven, before = pages(repo, pid, items, True), pages(repo, pid, items, False)
                assert driven == before, (actor, pid, items)
                if pid == binh:
                    seen["doctor" if actor is doctor else "system"].update(i for ids, _, _ in driven for i in ids)
        # Through the public path: the ids the records say.
        if actor is doctor:
            continue
        got = compartments.search(repo, an, "Observation", [("_count", "100"), ("_total", "accurate")])
        assert {m.res_id for m in got.matches} == made["an"] | {shared} and got.total == 10
        got = compartments.search(repo, an, "Observation", [("code", "http://loinc.org|8867-4"), ("_count", "100")])
        assert {m.res_id for m in got.matches} == (made["an"] & pulse) | {shared}
    # The doctor of internal medicine gets nothing of the surgery patient's own record (only the
    # reading An performed): the access filter still applies to the driven search.
    assert seen["system"] == made["binh"] | {shared} and seen["doctor"] == {shared}
