"""The parts of a visit only the doctor's discharge writes (store.act_rules), refused through the
FHIR API to every other role — by PUT, PATCH and inside a transaction — while the same roles keep
their ordinary writes of the Encounter. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from benhan.clinical.discharge import RESULT_EXT
from tests.auth import ward as ward_mod
from tests.factories import FHIR_JSON, issue_codes

RESULT = {"url": RESULT_EXT, "valueCoding": {"system": "https://benhan.vn/fhir/CodeSystem/treatment-result",
                                             "code": "1", "display": "Khỏi"}}
DISPOSITION = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "home"}]}


@pytest.fixture
def ward(store):  # noqa: ANN001, ANN201
    return ward_mod.build(store)


def _encounter(client, ward, name: str, headers: dict) -> dict:  # noqa: ANN001
    r = client.get(f"/fhir/Encounter/{ward.ids[name]}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _refused(r) -> None:  # noqa: ANN001
    assert r.status_code == 403, r.text
    assert issue_codes(r.json()) == ["BENHAN-5002"]
    assert "discharge" in r.json()["issue"][0]["diagnostics"]


def test_a_nurse_may_not_record_the_treatment_result_or_disposition_by_any_path(client, ward):
    nurse = ward.headers("lan")
    enc = _encounter(client, ward, "e1", nurse)
    with_result = {**enc, "extension": [RESULT]}
    _refused(client.put(f"/fhir/Encounter/{enc['id']}", json=with_result, headers={**nurse, **FHIR_JSON}))
    patch = [{"op": "add", "path": "/hospitalization", "value": {"dischargeDisposition": DISPOSITION}}]
    _refused(client.patch(f"/fhir/Encounter/{enc['id']}", json=patch,
                          headers={**nurse, "Content-Type": "application/json-patch+json"}))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": with_result, "request": {"method": "PUT", "url": f"Encounter/{enc['id']}"}}]}
    _refused(client.post("/fhir", json=bundle, headers={**nurse, **FHIR_JSON}))
    after = _encounter(client, ward, "e1", nurse)
    assert after["meta"]["versionId"] == enc["meta"]["versionId"]
    assert "extension" not in after and "hospitalization" not in after


def test_a_nurse_still_updates_the_visits_status_and_location(client, ward):
    nurse = ward.headers("lan")
    enc = _encounter(client, ward, "e1", nurse)
    moved = {**enc, "status": "onleave",
             "location": [{"location": {"display": "Giường 12"}, "status": "active"}]}
    r = client.put(f"/fhir/Encounter/{enc['id']}", json=moved, headers={**nurse, **FHIR_JSON})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "onleave"


def test_the_front_desk_may_not_create_a_visit_that_carries_a_result(client, ward):
    desk = ward.headers("tiepdon")
    body = ward_mod.encounter(ward.ids["p1"], ward.ids["medicine"])
    plain = client.post("/fhir/Encounter", json=body, headers={**desk, **FHIR_JSON})
    assert plain.status_code == 201, plain.text
    _refused(client.post("/fhir/Encounter", json={**body, "extension": [RESULT]}, headers={**desk, **FHIR_JSON}))


def test_the_doctor_records_the_result_and_the_nurse_may_then_keep_it_unchanged(client, ward):
    doctor = ward.headers("hung")
    enc = _encounter(client, ward, "e3", doctor)
    done = {**enc, "status": "finished", "extension": [RESULT], "hospitalization": {"dischargeDisposition": DISPOSITION}}
    r = client.put(f"/fhir/Encounter/{enc['id']}", json=done, headers={**doctor, **FHIR_JSON})
    assert r.status_code == 200, r.text
    # Lan cares for p3: an update that keeps the doctor's result as it is passes.
    nurse = ward.headers("lan")
    current = _encounter(client, ward, "e3", nurse)
    r = client.put(f"/fhir/Encounter/{enc['id']}", json={**current, "location": [{"location": {"display": "Giường 3"}}]},
                   headers={**nurse, **FHIR_JSON})
    assert r.status_code == 200, r.text
    # … but removing it is refused.
    stripped = {k: v for k, v in current.items() if k not in ("extension", "meta")}
    _refused(client.put(f"/fhir/Encounter/{enc['id']}", json=stripped, headers={**nurse, **FHIR_JSON}))
