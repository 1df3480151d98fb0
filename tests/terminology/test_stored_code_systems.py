"""The operations work over any CodeSystem and ValueSet a client stores, and see changes at once:
the in-memory indexes follow the database, not the other way round."""
from __future__ import annotations

from tests.factories import FHIR_JSON, issue_codes

URL = "https://example.org/fhir/CodeSystem/triage"


def _triage(version: str = "1", red: str = "Cấp cứu ngay") -> dict:
    # Nested concepts: the hierarchy comes from the nesting, not from a parent property.
    return {"resourceType": "CodeSystem", "id": "triage", "url": URL, "version": version, "status": "active",
            "content": "complete", "hierarchyMeaning": "is-a", "language": "vi",
            "concept": [{"code": "urgent", "display": "Khẩn cấp",
                         "designation": [{"language": "en", "value": "Urgent"}],
                         "concept": [{"code": "red", "display": red}, {"code": "yellow", "display": "Ưu tiên"}]},
                        {"code": "green", "display": "Chờ khám thường"}]}


def _value_set(**compose) -> dict:
    return {"resourceType": "ValueSet", "id": "triage-urgent", "url": "https://example.org/fhir/ValueSet/urgent",
            "status": "active", "compose": compose}


def _expand(client, path: str = "/fhir/ValueSet/$expand", **params) -> dict:  # noqa: ANN001
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()["expansion"]


def test_a_stored_code_system_is_searchable_by_its_value_set(client):
    client.put("/fhir/CodeSystem/triage", json=_triage(), headers=FHIR_JSON)
    client.put("/fhir/ValueSet/triage-urgent", json=_value_set(include=[{"system": URL}]), headers=FHIR_JSON)
    found = _expand(client, "/fhir/ValueSet/triage-urgent/$expand", filter="cap cuu")
    assert [c["code"] for c in found["contains"]] == ["red"]
    english = _expand(client, "/fhir/ValueSet/triage-urgent/$expand", filter="urg", displayLanguage="en-GB")
    assert english["contains"] == [{"system": URL, "version": "1", "code": "urgent", "display": "Urgent"}]


def test_an_update_is_seen_by_the_next_request(client):
    client.put("/fhir/CodeSystem/triage", json=_triage(), headers=FHIR_JSON)
    client.put("/fhir/ValueSet/triage-urgent", json=_value_set(include=[{"system": URL}]), headers=FHIR_JSON)
    assert _expand(client, url="https://example.org/fhir/ValueSet/urgent", filter="do")["total"] == 0
    client.put("/fhir/CodeSystem/triage", json=_triage(red="Đỏ: cấp cứu ngay"), headers=FHIR_JSON)
    assert _expand(client, url="https://example.org/fhir/ValueSet/urgent", filter="do")["total"] == 1


def test_a_deleted_code_system_is_no_longer_known(client):
    client.put("/fhir/CodeSystem/triage", json=_triage(), headers=FHIR_JSON)
    params = {"system": URL, "code": "red"}
    assert client.get("/fhir/CodeSystem/$lookup", params=params).status_code == 200
    client.delete("/fhir/CodeSystem/triage")
    r = client.get("/fhir/CodeSystem/$lookup", params=params)
    assert r.status_code == 404 and issue_codes(r.json()) == ["BENHAN-2009"]


def test_nesting_gives_the_hierarchy_for_subsumes_and_is_a_filters(client):
    client.put("/fhir/CodeSystem/triage", json=_triage(), headers=FHIR_JSON)
    out = client.get("/fhir/CodeSystem/triage/$subsumes", params={"codeA": "urgent", "codeB": "yellow"}).json()
    assert out["parameter"] == [{"name": "outcome", "valueCode": "subsumes"}]
    client.put("/fhir/ValueSet/triage-urgent", headers=FHIR_JSON, json=_value_set(
        include=[{"system": URL, "filter": [{"property": "concept", "op": "descendent-of", "value": "urgent"}]}]))
    found = _expand(client, "/fhir/ValueSet/triage-urgent/$expand")
    assert [c["code"] for c in found["contains"]] == ["red", "yellow"]


def test_an_inline_value_set_is_expanded_by_post(client):
    client.put("/fhir/CodeSystem/triage", json=_triage(), headers=FHIR_JSON)
    body = {"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": _value_set(
        include=[{"system": URL, "concept": [{"code": "green"}, {"code": "red", "display": "Đỏ"}]}])}]}
    r = client.post("/fhir/ValueSet/$expand", json=body, headers=FHIR_JSON)
    assert [(c["code"], c["display"]) for c in r.json()["expansion"]["contains"]] == [("red", "Đỏ"), ("green", "Chờ khám thường")]


def test_a_value_set_this_server_cannot_evaluate_is_refused_clearly(client):
    client.put("/fhir/ValueSet/triage-urgent", headers=FHIR_JSON,
               json=_value_set(include=[{"valueSet": ["https://example.org/fhir/ValueSet/other"]}]))
    r = client.get("/fhir/ValueSet/triage-urgent/$expand")
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1022"]
    client.put("/fhir/ValueSet/triage-urgent", headers=FHIR_JSON, json=_value_set(include=[{"system": URL}]))
    r = client.get("/fhir/ValueSet/triage-urgent/$expand")
    assert r.status_code == 404 and "terminology load" in r.json()["issue"][0]["diagnostics"]
