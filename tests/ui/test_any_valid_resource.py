"""The clinician pages render any valid resource the API accepts (issue 11.10: an Encounter without
`period` — valid FHIR — made the patient page and every page of that visit answer 500).

Hypothesis draws, for each type the pages show, a resource with its required elements and any
subset of the optional ones (all absent: the minimal resource; all present: the maximal one), with
the odd-but-valid shapes real systems send: a date of only a year, a CodeableConcept of only text
or only a code, a Quantity without a value, a component measured as a string, a reference with only
a display. Each is created through the FHIR API (what it accepts is what the pages must show),
then every page of the patient is opened as a doctor, a nurse and a registrar: the patient page,
the visit page, the four printouts (HTML and PDF), the history and correction pages of each entry.
None may answer 5xx."""
from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from benhan.auth import users
from tests.auth_helpers import install_in_store
from tests.factories import FHIR_JSON

PASSWORD = "một câu mật khẩu thật dài"
ROLES = {"bacsi": "doctor", "dieuduong": "nurse", "tiepdon": "registrar"}
# No shrinking phase: one example renders ~75 pages, and the failing page is named in the message anyway.
SETTINGS = settings(max_examples=6, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate), suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])

dates = st.sampled_from(["2026", "2026-12", "2026-12-06", "2026-12-06T08:30:00+07:00", "2026-12-06T08:30:15.123Z"])
words = st.sampled_from(["Sốt", "Ho khan", "x", "Đau thượng vị kéo dài 3 ngày"])
# Vital-sign LOINC codes too (8310-5 temperature, 85354-9 the blood pressure panel, 8480-6 systolic):
# the chart reads those Observations' values and components.
codings = st.fixed_dictionaries({"code": st.sampled_from(["J18.9", "8310-5", "85354-9", "8480-6", "x"])},
                                optional={"system": st.sampled_from(["http://loinc.org", "http://hl7.org/fhir/sid/icd-10"]),
                                          "display": words})
concepts = st.one_of(st.fixed_dictionaries({"text": words}),
                     st.fixed_dictionaries({"coding": st.lists(codings, min_size=1, max_size=2)}, optional={"text": words}))
quantities = st.fixed_dictionaries({"unit": st.sampled_from(["Cel", "10*9/L", "viên", "%"])}, optional={
                                   "value": st.sampled_from([38.5, 0, 12, 1e2, 0.4]),
                                                 "system": st.just("http://unitsofmeasure.org"),
                                                 "code": st.sampled_from(["Cel", "10*9/L"])})
periods = st.one_of(st.fixed_dictionaries({"start": dates}), st.just({"end": "2026-12-31"}),
                    st.fixed_dictionaries({"start": dates, "end": st.just("2026-12-31")}))


def refs(target: str) -> st.SearchStrategy[dict]:
    return st.one_of(st.just({"reference": target}), st.just({"reference": target, "display": "Tên hiển thị"}))


def resource(res_type: str, required: dict, optional: dict) -> st.SearchStrategy[dict]:
    """Required elements always; each optional element present or not (hypothesis shrinks towards
    the minimal resource, and draws the maximal one too)."""
    return st.fixed_dictionaries({"resourceType": st.just(res_type), **required}, optional=optional)


def chart_resources(pid: str, eid: str) -> dict[str, st.SearchStrategy[dict]]:
    patient, encounter = refs(f"Patient/{pid}"), refs(f"Encounter/{eid}")
    return {
        "Condition": resource("Condition", {"subject": patient}, {
            "encounter": encounter, "code": concepts, "onsetDateTime": dates, "recordedDate": dates,
            "clinicalStatus": st.just({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                   "code": "active"}]}),
            "category": st.lists(concepts, min_size=1, max_size=2), "note": st.just([{"text": "ghi chú"}])}),
        "Observation": resource("Observation", {"status": st.sampled_from(["final", "preliminary", "amended"]),
                                                "code": concepts}, {
            "subject": patient, "encounter": encounter, "effectiveDateTime": dates,
            "category": st.sampled_from([[{"coding": [{"code": "vital-signs"}]}], [{"coding": [{"code": "laboratory"}]}],
                                         [{"text": "khác"}]]),
            "valueQuantity": quantities,
            "component": st.lists(st.one_of(
                st.fixed_dictionaries({"code": concepts}), st.fixed_dictionaries({"code": concepts, "valueQuantity": quantities}),
                st.fixed_dictionaries({"code": concepts, "valueString": words})), min_size=1, max_size=2),
            "referenceRange": st.just([{"text": "bình thường"}]),
            "interpretation": st.just([{"text": "cao"}])}),
        "MedicationRequest": resource("MedicationRequest", {
            "status": st.sampled_from(["active", "completed", "stopped"]), "intent": st.just("order"),
            "medicationCodeableConcept": concepts, "subject": patient}, {
            "encounter": encounter, "authoredOn": dates, "requester": refs("Practitioner/x"),
            "dosageInstruction": st.lists(st.one_of(st.fixed_dictionaries({"text": words}), st.just({"sequence": 1})),
                                          min_size=1, max_size=2),
            "dispenseRequest": st.one_of(st.fixed_dictionaries({"quantity": quantities}),
                                         st.just({"numberOfRepeatsAllowed": 1}))}),
        "AllergyIntolerance": resource("AllergyIntolerance", {"patient": patient}, {
            "encounter": encounter, "code": concepts, "criticality": st.sampled_from(["low", "high", "unable-to-assess"]),
            "clinicalStatus": st.just({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                                   "code": "active"}]}),
            "reaction": st.lists(st.fixed_dictionaries({"manifestation": st.lists(concepts, min_size=1, max_size=2)}),
                                 min_size=1, max_size=2)}),
        "ServiceRequest": resource("ServiceRequest", {"status": st.sampled_from(["active", "completed", "revoked"]),
                                                      "intent": st.just("order"), "subject": patient}, {
            "encounter": encounter, "code": concepts, "authoredOn": dates, "category": st.lists(concepts, min_size=1)}),
        "DiagnosticReport": resource("DiagnosticReport", {"status": st.just("final"), "code": concepts}, {
            "subject": patient, "encounter": encounter, "conclusion": words, "effectiveDateTime": dates}),
        "Procedure": resource("Procedure", {"status": st.just("completed"), "subject": patient}, {
            "encounter": encounter, "code": concepts, "performedDateTime": dates}),
        "CarePlan": resource("CarePlan", {"status": st.just("active"), "intent": st.just("plan"), "subject": patient}, {
            "encounter": encounter, "title": words, "period": periods}),
        "Composition": resource("Composition", {
            "status": st.just("final"), "type": concepts, "date": dates, "author": st.lists(refs("Practitioner/x"), min_size=1,
                                                                                          max_size=1),
            "title": words}, {
            "subject": patient, "encounter": encounter,
            "section": st.lists(st.fixed_dictionaries({"title": words}, optional={"code": concepts}), min_size=1,
                                max_size=2)}),
        "ClinicalImpression": resource("ClinicalImpression", {"status": st.just("completed"), "subject": patient}, {
            "encounter": encounter, "code": concepts, "date": dates, "effectiveDateTime": dates, "summary": words,
            "assessor": refs("Practitioner/x"), "note": st.just([{"text": "y lệnh"}])}),
        "Flag": resource("Flag", {"status": st.just("active"), "code": concepts, "subject": patient}, {"period": periods}),
        "Coverage": resource("Coverage", {"status": st.just("active"), "beneficiary": patient,
                                          "payor": st.just([{"display": "BHXH"}])}, {
            "subscriberId": st.just("HT4790123456789"), "period": periods}),
        "Appointment": resource("Appointment", {"status": st.just("booked"), "participant": st.just(
            [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"}])}, {
            "start": st.just("2026-12-20T08:00:00+07:00"), "end": st.just("2026-12-20T08:30:00+07:00"),
            "description": words, "supportingInformation": st.just([{"reference": f"Encounter/{eid}"}])}),
    }


_CCCD = itertools.count(1)
patients = resource("Patient", {}, {
    "name": st.one_of(st.just([{"text": "Nguyễn Văn Đủ"}]), st.just([{"family": "Lê"}]), st.just([{"given": ["An"]}])),
    "gender": st.sampled_from(["male", "female", "other", "unknown"]), "birthDate": st.sampled_from(["1989", "1989-03",
                                                                                                   "1989-03-15"]),
    # A CCCD of its own each time: the API refuses a second patient with the same one.
    "identifier": st.builds(lambda: [{"system": "http://fhir.hl7.org.vn/core/sid/cccd",
                                      "value": f"0011890{next(_CCCD):05d}"}]),
    "address": st.just([{"city": "Phường Ba Đình"}]), "contact": st.just([{"relationship": [{"text": "mẹ"}]}]),
    "extension": st.just([{"url": "https://benhan.vn/fhir/StructureDefinition/no-identifier-reason",
                           "valueCodeableConcept": {"text": "không rõ"}}])})


def encounters(pid: str) -> st.SearchStrategy[dict]:
    return resource("Encounter", {"status": st.sampled_from(["arrived", "in-progress", "finished", "cancelled"]),
                                  "class": st.sampled_from([{"code": "AMB"}, {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                                                              "code": "IMP"}])}, {
        "subject": refs(f"Patient/{pid}"), "period": periods, "type": st.lists(concepts, min_size=1, max_size=2),
        "location": st.just([{"location": {"reference": "Location/nowhere"}}]),
        "reasonCode": st.lists(concepts, min_size=1, max_size=1),
        "identifier": st.just([{"system": "https://benhan.vn/sid/ma-lk"}]),
        "length": st.just({"value": 3}),
        "hospitalization": st.just({"dischargeDisposition": {"text": "về nhà"}}),
        "extension": st.just([{"url": "https://benhan.vn/fhir/StructureDefinition/treatment-result",
                               "valueCoding": {"code": "9"}}])})


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN001, ANN201
    from starlette.testclient import TestClient

    from benhan import config
    from benhan.store.store import Store
    from benhan.web.app import create_app
    store = Store.open(config.load(env={}, data_dir=tmp_path_factory.mktemp("anyres") / "data"))
    for username, role in ROLES.items():
        users.create_user(store, username, username, [role], password=PASSWORD)
    app = create_app(store.config, store)
    api = TestClient(app, raise_server_exceptions=False)
    api.headers.update(install_in_store(store))
    clients = {}
    for username in ROLES:
        c = TestClient(app, raise_server_exceptions=False)
        c.cookies.set("lang", "vi")
        page = c.get("/login")
        c.post("/login", data={"username": username, "password": PASSWORD,
                               "csrf": re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)})
        clients[username] = c
    yield {"api": api, "clients": clients}
    for c in (api, *clients.values()):
        c.close()
    store.close()


def create(api, body: dict) -> str:  # noqa: ANN001
    r = api.post(f"/fhir/{body['resourceType']}", json=body, headers=FHIR_JSON)
    assert r.status_code == 201, (body, r.text)     # valid: the API takes it, so the pages must show it
    return r.json()["id"]


@SETTINGS
@given(data=st.data())
def test_every_page_renders_any_valid_resource_of_the_types_it_shows(world, data):  # noqa: ANN001
    api = world["api"]
    pid = create(api, data.draw(patients, label="Patient"))
    enc = data.draw(encounters(pid), label="Encounter")
    eid = create(api, enc)
    entries = [("Encounter", eid)]
    for res_type, strategy in chart_resources(pid, eid).items():
        body = data.draw(strategy, label=res_type)
        entries.append((res_type, create(api, body)))
    cid = next(i for t, i in entries if t == "Condition")
    if "subject" in enc:        # the visit lists its diagnosis (the Condition drawn above)
        enc = api.get(f"/fhir/Encounter/{eid}").json()
        enc["diagnosis"] = [{"condition": {"reference": f"Condition/{cid}"}}]
        assert api.put(f"/fhir/Encounter/{eid}", json=enc, headers=FHIR_JSON).status_code == 200
    pages = [f"/ui/patients/{pid}", f"/ui/encounters/{eid}", f"/ui/encounters/{eid}?notes=all"]
    pages += [f"/ui/encounters/{eid}/{view}?form={f}" for f in ("outpatient", "inpatient", "prescription", "discharge")
              for view in ("print", "print.pdf")]
    pages += [f"/ui/{what}/{t}/{i}" for t, i in entries for what in ("history", "correct")
              if t in ("Observation", "Condition", "MedicationRequest", "AllergyIntolerance", "ServiceRequest",
                       "ClinicalImpression", "Composition", "Encounter")]
    for username, client in world["clients"].items():
        for path in pages:
            r = client.get(path)
            assert r.status_code < 500, (username, path, r.text[:2000])
            if r.status_code == 200 and r.headers["content-type"].startswith("text/html"):
                assert "Traceback" not in r.text


def test_a_visit_without_period_shows_that_no_time_was_recorded(world):  # noqa: ANN001
    api = world["api"]
    pid = create(api, {"resourceType": "Patient", "name": [{"text": "Hà Thị Giờ"}]})
    eid = create(api, {"resourceType": "Encounter", "status": "in-progress", "class": {"code": "AMB"},
                       "subject": {"reference": f"Patient/{pid}"}})
    doctor = world["clients"]["bacsi"]
    patient_page = doctor.get(f"/ui/patients/{pid}")
    assert patient_page.status_code == 200 and "chưa ghi thời gian" in patient_page.text
    visit = doctor.get(f"/ui/encounters/{eid}")
    assert visit.status_code == 200 and "chưa ghi thời gian" in visit.text
    assert "Ngoại trú" in patient_page.text          # the class, for a visit without a type


def test_vital_signs_from_another_system_without_values_or_codings_render(world):  # noqa: ANN001
    """The shapes the generated cases may miss, always: a blood pressure panel whose components have
    only text or a string value, a temperature whose Quantity has no value."""
    api = world["api"]
    pid = create(api, {"resourceType": "Patient", "name": [{"text": "Đỗ Văn Đo"}]})
    eid = create(api, {"resourceType": "Encounter", "status": "in-progress", "class": {"code": "AMB"},
                       "subject": {"reference": f"Patient/{pid}"}, "period": {"start": "2026-12-06"}})
    vital = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}]
    common = {"resourceType": "Observation", "status": "final", "category": vital, "effectiveDateTime": "2026-12-06",
              "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"}}
    create(api, {**common, "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                 "component": [{"code": {"text": "tâm thu"}, "valueString": "cao"},
                               {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}}]})
    create(api, {**common, "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
                 "valueQuantity": {"unit": "Cel"}})
    for client in world["clients"].values():
        for path in (f"/ui/patients/{pid}", f"/ui/encounters/{eid}", f"/ui/encounters/{eid}/print?form=outpatient"):
            assert client.get(path).status_code < 500, path
