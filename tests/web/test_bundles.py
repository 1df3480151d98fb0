"""Batch and transaction Bundles (http://hl7.org/fhir/R4/http.html#transaction), on every store."""
from __future__ import annotations

import uuid

from tests.factories import FHIR_JSON, issue_codes, observation, patient


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def post_bundle(client, kind: str, entries: list[dict]):
    return client.post("/fhir", json={"resourceType": "Bundle", "type": kind, "entry": entries}, headers=FHIR_JSON)


def entry(resource: dict, method: str = "POST", url: str | None = None, full_url: str | None = None, **request) -> dict:
    e = {"resource": resource, "request": {"method": method, "url": url or resource["resourceType"], **request}}
    if full_url:
        e["fullUrl"] = full_url
    return e


def count(client, query: str) -> int:
    return client.get(f"/fhir/{query}{'&' if '?' in query else '?'}_total=accurate&_count=0").json()["total"]


def test_a_transaction_resolves_urn_uuid_references_to_the_created_ids(client):
    p = urn()
    r = post_bundle(client, "transaction", [
        entry(observation(p), full_url=urn()),
        entry(patient(), full_url=p),
    ])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "transaction-response"
    obs_loc, pat_loc = (e["response"]["location"] for e in out["entry"])
    assert all(e["response"]["status"] == "201 Created" for e in out["entry"])
    pat_id = pat_loc.split("/")[1]
    obs = client.get("/fhir/" + obs_loc.split("/_history")[0]).json()
    assert obs["subject"]["reference"] == f"Patient/{pat_id}"


def test_a_transaction_with_one_invalid_entry_stores_nothing(client):
    before = count(client, "Patient")
    r = post_bundle(client, "transaction", [
        entry(patient(), full_url=urn()),
        entry(patient(birthDate="not-a-date"), full_url=urn()),
    ])
    assert r.status_code == 422
    expressions = {e for i in r.json()["issue"] for e in i.get("expression", [])}
    assert expressions == {"Bundle.entry[1].resource.ofType(Patient).birthDate"}
    assert count(client, "Patient") == before


def test_a_transaction_is_processed_in_the_spec_order_delete_post_put_get(client):
    old = client.post("/fhir/Patient", json=patient(family="Cũ"), headers=FHIR_JSON).json()
    r = post_bundle(client, "transaction", [
        {"request": {"method": "GET", "url": "Patient?family=moi"}},
        entry(dict(patient(family="Sửa"), id="tx-put-1"), method="PUT", url="Patient/tx-put-1"),
        entry(patient(family="Mới"), full_url=urn()),
        {"request": {"method": "DELETE", "url": f"Patient/{old['id']}"}},
    ])
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["200 OK", "201 Created", "201 Created", "204 No Content"]
    # The GET ran after the POST in the same transaction, so it sees the new patient.
    found = r.json()["entry"][0]["resource"]
    assert [e["resource"]["name"][0]["family"] for e in found["entry"]] == ["Mới"]
    assert client.get(f"/fhir/Patient/{old['id']}").status_code == 410


def test_a_transaction_resolves_conditional_references(client):
    client.post("/fhir/Patient", json=patient(cccd="079190000001"), headers=FHIR_JSON)
    ref = "Patient?identifier=http://fhir.hl7.org.vn/core/sid/cccd|079190000001"
    r = post_bundle(client, "transaction", [entry(observation(ref), full_url=urn())])
    assert r.status_code == 200, r.text
    loc = r.json()["entry"][0]["response"]["location"].split("/_history")[0]
    subject = client.get(f"/fhir/{loc}").json()["subject"]["reference"]
    assert subject.startswith("Patient/") and "?" not in subject


def test_a_conditional_reference_matching_nothing_fails_the_transaction(client):
    r = post_bundle(client, "transaction", [
        entry(patient(), full_url=urn()),
        entry(observation("Patient?identifier=nobody"), full_url=urn()),
    ])
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-2007"]
    assert count(client, "Patient") == 0


def test_conditional_create_in_a_transaction_reuses_the_match(client):
    existing = client.post("/fhir/Patient", json=patient(cccd="001190000009"), headers=FHIR_JSON).json()
    p = urn()
    r = post_bundle(client, "transaction", [
        entry(patient(cccd="001190000009"), full_url=p, ifNoneExist="identifier=001190000009"),
        entry(observation(p), full_url=urn()),
    ])
    assert r.status_code == 200, r.text
    first, second = r.json()["entry"]
    assert first["response"]["status"] == "200 OK"
    obs = client.get("/fhir/" + second["response"]["location"].split("/_history")[0]).json()
    assert obs["subject"]["reference"] == f"Patient/{existing['id']}"
    assert count(client, "Patient") == 1


def test_the_same_resource_twice_in_a_transaction_is_refused(client):
    body = dict(patient(), id="twice")
    r = post_bundle(client, "transaction", [
        entry(body, method="PUT", url="Patient/twice"),
        entry(body, method="PUT", url="Patient/twice"),
    ])
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1015"]


def test_a_stale_if_match_fails_the_whole_transaction(client):
    created = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).json()
    client.put(f"/fhir/Patient/{created['id']}", json=dict(created, gender="female"), headers=FHIR_JSON)
    r = post_bundle(client, "transaction", [
        entry(patient(), full_url=urn()),
        entry(dict(created, gender="other"), method="PUT", url=f"Patient/{created['id']}", ifMatch='W/"1"'),
    ])
    assert r.status_code == 412
    assert count(client, "Patient") == 1


def test_a_batch_processes_entries_independently_with_an_outcome_each(client):
    r = post_bundle(client, "batch", [
        entry(patient()),
        entry(patient(birthDate="31/12/1990")),
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
        entry(patient()),
    ])
    assert r.status_code == 200
    out = r.json()
    assert out["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses[0] == "201 Created" and statuses[3] == "201 Created"
    assert statuses[1] == "422 Unprocessable Entity" and statuses[2] == "404 Not Found"
    assert out["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert count(client, "Patient") == 2


def test_a_large_transaction_is_stored_whole(client):
    entries = []
    for _ in range(300):
        p = urn()
        entries.append(entry(patient(), full_url=p))
        entries.append(entry(observation(p), full_url=urn()))
    r = post_bundle(client, "transaction", entries)
    assert r.status_code == 200, r.text[:500]
    assert count(client, "Patient") == 300 and count(client, "Observation") == 300


def test_a_bundle_of_another_type_is_refused(client):
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": "collection"}, headers=FHIR_JSON)
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1015"]


def test_a_transaction_posted_to_the_base_without_a_slash_is_not_redirected(client):
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": "batch", "entry": []}, headers=FHIR_JSON,
                    follow_redirects=False)
    assert r.status_code == 200
    assert r.json()["type"] == "batch-response"
