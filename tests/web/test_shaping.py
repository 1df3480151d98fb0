"""_summary and _elements trim resources as the spec says, and mark them SUBSETTED."""
from __future__ import annotations

from tests.factories import FHIR_JSON, observation, patient


def test_summary_true_keeps_the_elements_marked_summary_in_the_definition(client):
    p = client.post("/fhir/Patient", json=patient(maritalStatus={"text": "Đã kết hôn"},
                                                  photo=[{"contentType": "image/png"}]),
                    headers=FHIR_JSON).json()
    got = client.get(f"/fhir/Patient/{p['id']}?_summary=true").json()
    assert {"identifier", "name", "gender", "birthDate"} <= set(got)
    assert "maritalStatus" not in got and "photo" not in got
    assert any(t["code"] == "SUBSETTED" for t in got["meta"]["tag"])


def test_summary_true_keeps_a_summary_choice_element(client):
    o = client.post("/fhir/Observation", json=observation("Patient/x"), headers=FHIR_JSON).json()
    got = client.get(f"/fhir/Observation?_id={o['id']}&_summary=true").json()["entry"][0]["resource"]
    assert "valueQuantity" in got and "effectiveDateTime" in got


def test_elements_keeps_only_the_named_elements(client):
    o = client.post("/fhir/Observation", json=observation("Patient/x"), headers=FHIR_JSON).json()
    got = client.get(f"/fhir/Observation?_id={o['id']}&_elements=status,value").json()["entry"][0]["resource"]
    assert set(got) == {"resourceType", "id", "meta", "status", "valueQuantity"}


def test_summary_text_and_data(client):
    p = client.post("/fhir/Patient", json=patient(text={"status": "generated",
                    "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Nguyễn Văn An</div>"}),
                    headers=FHIR_JSON).json()
    text = client.get(f"/fhir/Patient/{p['id']}?_summary=text").json()
    assert set(text) == {"resourceType", "id", "meta", "text"}
    data = client.get(f"/fhir/Patient/{p['id']}?_summary=data").json()
    assert "text" not in data and "name" in data
