"""Composite parameters (http://hl7.org/fhir/R4/search.html#composite): all parts must hold in the
same element — the same Observation, or the same component of it."""
from __future__ import annotations

from tests.factories import FHIR_JSON

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def blood_pressure(systolic: float, diastolic: float) -> dict:
    def component(code: str, value: float) -> dict:
        return {"code": {"coding": [{"system": LOINC, "code": code}]},
                "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "subject": {"reference": "Patient/p1"},
            "component": [component("8480-6", systolic), component("8462-4", diastolic)]}


def heart_rate(value: float) -> dict:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
            "subject": {"reference": "Patient/p1"},
            "valueQuantity": {"value": value, "unit": "/min", "system": UCUM, "code": "/min"}}


def ids(client, query: str) -> set[str]:
    r = client.get(f"/fhir/Observation?{query}")
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", [])}


def test_component_code_and_value_must_match_in_the_same_component(client):
    high = client.post("/fhir/Observation", json=blood_pressure(160, 95), headers=FHIR_JSON).json()["id"]
    # Systolic 100, but diastolic 150: "systolic > 140" must not be satisfied by the diastolic value.
    odd = client.post("/fhir/Observation", json=blood_pressure(100, 150), headers=FHIR_JSON).json()["id"]
    assert ids(client, "component-code-value-quantity=http://loinc.org|8480-6$gt140") == {high}
    assert ids(client, "component-code-value-quantity=8462-4$gt140") == {odd}
    assert ids(client, f"component-code-value-quantity=8480-6$gt140|{UCUM}|mm[Hg]") == {high}
    assert ids(client, "component-code-value-quantity=8480-6$gt140,8462-4$gt140") == {high, odd}


def test_code_value_quantity_matches_the_observation_itself(client):
    fast = client.post("/fhir/Observation", json=heart_rate(130), headers=FHIR_JSON).json()["id"]
    client.post("/fhir/Observation", json=heart_rate(70), headers=FHIR_JSON)
    assert ids(client, "code-value-quantity=http://loinc.org|8867-4$ge100") == {fast}
    assert ids(client, "combo-code-value-quantity=8867-4$ge100") == {fast}
    assert ids(client, "code-value-quantity=8480-6$ge100") == set()


def test_a_composite_value_with_the_wrong_number_of_parts_is_400(client):
    r = client.get("/fhir/Observation?code-value-quantity=8867-4")
    assert r.status_code == 400
