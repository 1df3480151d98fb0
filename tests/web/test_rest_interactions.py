"""The FHIR REST interactions, run against every store (SQLite and PostgreSQL)."""
from __future__ import annotations

from tests.factories import FHIR_JSON, issue_codes, issue_expressions, observation, patient


def create(client, resource: dict) -> dict:
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_returns_201_with_location_etag_and_the_stored_resource(client):
    r = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON)
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert r.headers["etag"] == 'W/"1"'
    assert "last-modified" in r.headers
    assert body["meta"]["versionId"] == "1"
    assert body["name"][0]["family"] == "Nguyễn"
    assert r.headers["content-type"].startswith("application/fhir+json")


def test_read_returns_what_create_stored(client):
    created = create(client, patient())
    r = client.get(f"/fhir/Patient/{created['id']}")
    assert r.status_code == 200
    assert r.json() == created
    assert r.headers["etag"] == 'W/"1"'


def test_read_of_an_unknown_id_is_404_with_an_operation_outcome(client):
    r = client.get("/fhir/Patient/does-not-exist")
    assert r.status_code == 404
    assert r.json()["resourceType"] == "OperationOutcome"
    assert issue_codes(r.json()) == ["BENHAN-2001"]


def test_an_unknown_resource_type_is_404(client):
    r = client.get("/fhir/Patiente/1")
    assert r.status_code == 404
    assert issue_codes(r.json()) == ["BENHAN-1006"]


def test_update_makes_a_new_version_and_vread_returns_each(client):
    created = create(client, patient())
    changed = dict(created, gender="female")
    r = client.put(f"/fhir/Patient/{created['id']}", json=changed, headers=FHIR_JSON)
    assert r.status_code == 200
    assert r.headers["etag"] == 'W/"2"'
    v1 = client.get(f"/fhir/Patient/{created['id']}/_history/1").json()
    v2 = client.get(f"/fhir/Patient/{created['id']}/_history/2").json()
    assert (v1["gender"], v2["gender"]) == ("male", "female")
    assert client.get(f"/fhir/Patient/{created['id']}/_history/3").status_code == 404


def test_an_update_with_the_same_content_creates_no_version(client):
    created = create(client, patient())
    r = client.put(f"/fhir/Patient/{created['id']}", json=created, headers=FHIR_JSON)
    assert r.status_code == 200
    assert r.headers["etag"] == 'W/"1"'
    history = client.get(f"/fhir/Patient/{created['id']}/_history").json()
    assert len(history["entry"]) == 1


def test_update_as_create_with_a_client_id_returns_201(client):
    r = client.put("/fhir/Patient/bn-0001", json=dict(patient(), id="bn-0001"), headers=FHIR_JSON)
    assert r.status_code == 201
    assert client.get("/fhir/Patient/bn-0001").json()["id"] == "bn-0001"


def test_if_match_with_a_stale_version_is_refused_with_412(client):
    created = create(client, patient())
    ok = client.put(f"/fhir/Patient/{created['id']}", json=dict(created, gender="female"),
                    headers={**FHIR_JSON, "If-Match": 'W/"1"'})
    assert ok.status_code == 200
    stale = client.put(f"/fhir/Patient/{created['id']}", json=dict(created, gender="other"),
                       headers={**FHIR_JSON, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert issue_codes(stale.json()) == ["BENHAN-2004"]
    assert client.get(f"/fhir/Patient/{created['id']}").json()["gender"] == "female"


def test_update_refuses_an_id_that_differs_from_the_url(client):
    created = create(client, patient())
    r = client.put(f"/fhir/Patient/{created['id']}", json=dict(created, id="other"), headers=FHIR_JSON)
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1004"]


def test_update_without_an_id_in_the_body_is_refused(client):
    r = client.put("/fhir/Patient/x1", json=patient(), headers=FHIR_JSON)
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1005"]


def test_a_body_of_another_type_than_the_url_is_refused(client):
    r = client.post("/fhir/Observation", json=patient(), headers=FHIR_JSON)
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1003"]


def test_delete_is_versioned_and_a_read_afterwards_is_410(client):
    created = create(client, patient())
    assert client.delete(f"/fhir/Patient/{created['id']}").status_code == 204
    r = client.get(f"/fhir/Patient/{created['id']}")
    assert r.status_code == 410
    assert issue_codes(r.json()) == ["BENHAN-2002"]
    history = client.get(f"/fhir/Patient/{created['id']}/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert client.get(f"/fhir/Patient/{created['id']}/_history/1").status_code == 200


def test_a_deleted_resource_can_be_brought_back_by_update(client):
    created = create(client, patient())
    client.delete(f"/fhir/Patient/{created['id']}")
    r = client.put(f"/fhir/Patient/{created['id']}", json=created, headers=FHIR_JSON)
    assert r.status_code == 201
    assert r.headers["etag"] == 'W/"3"'


def test_patch_applies_a_json_patch_and_makes_a_version(client):
    created = create(client, patient())
    ops = [{"op": "replace", "path": "/gender", "value": "female"},
           {"op": "add", "path": "/telecom", "value": [{"system": "phone", "value": "0912345678"}]}]
    r = client.patch(f"/fhir/Patient/{created['id']}", json=ops,
                     headers={"content-type": "application/json-patch+json"})
    assert r.status_code == 200, r.text
    assert r.json()["gender"] == "female"
    assert r.json()["meta"]["versionId"] == "2"


def test_a_patch_that_makes_the_resource_invalid_is_refused_and_changes_nothing(client):
    created = create(client, patient())
    ops = [{"op": "replace", "path": "/birthDate", "value": "15/03/1985"}]
    r = client.patch(f"/fhir/Patient/{created['id']}", json=ops,
                     headers={"content-type": "application/json-patch+json"})
    assert r.status_code == 422
    assert "Patient.birthDate" in issue_expressions(r.json())
    assert client.get(f"/fhir/Patient/{created['id']}").json()["birthDate"] == "1985-03-15"


def test_a_patch_that_cannot_apply_is_400(client):
    created = create(client, patient())
    r = client.patch(f"/fhir/Patient/{created['id']}", json=[{"op": "remove", "path": "/nothing"}],
                     headers={"content-type": "application/json-patch+json"})
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1014"]


def test_conditional_create_returns_the_existing_match_instead_of_a_duplicate(client):
    p = patient(cccd="001085999001")
    first = client.post("/fhir/Patient", json=p, headers={
        **FHIR_JSON, "If-None-Exist": "identifier=http://fhir.hl7.org.vn/core/sid/cccd|001085999001"})
    again = client.post("/fhir/Patient", json=p, headers={
        **FHIR_JSON, "If-None-Exist": "identifier=http://fhir.hl7.org.vn/core/sid/cccd|001085999001"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(client.get("/fhir/Patient?identifier=001085999001").json()["entry"]) == 1


def test_conditional_create_with_several_matches_is_412(client):
    create(client, patient(family="Trần"))
    create(client, patient(family="Trần"))
    # Header values are ASCII: the condition is URL-encoded ("Trần").
    r = client.post("/fhir/Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": "family=Tr%E1%BA%A7n"})
    assert r.status_code == 412
    assert issue_codes(r.json()) == ["BENHAN-2005"]


def test_conditional_update_updates_the_match_or_creates(client):
    url = "/fhir/Patient?identifier=http://fhir.hl7.org.vn/core/sid/cccd|001085999002"
    r1 = client.put(url, json=patient(cccd="001085999002"), headers=FHIR_JSON)
    assert r1.status_code == 201
    r2 = client.put(url, json=patient(cccd="001085999002", gender="female"), headers=FHIR_JSON)
    assert r2.status_code == 200
    assert r2.json()["id"] == r1.json()["id"]
    assert r2.json()["gender"] == "female"


def test_conditional_delete_removes_the_single_match(client):
    created = create(client, patient(cccd="001085999003"))
    r = client.delete("/fhir/Patient?identifier=001085999003")
    assert r.status_code == 204
    assert client.get(f"/fhir/Patient/{created['id']}").status_code == 410


def test_history_of_a_type_and_of_the_system_pages_with_next_links(client):
    for i in range(5):
        create(client, patient(family=f"Lê{i}"))
    first = client.get("/fhir/Patient/_history?_count=2").json()
    assert first["type"] == "history"
    assert len(first["entry"]) == 2
    seen = [e["resource"]["id"] for e in first["entry"]]
    url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while url:
        page = client.get(url.replace("http://testserver", "")).json()
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == 5
    system = client.get("/fhir/_history?_count=100").json()
    assert len(system["entry"]) == 5


def test_history_since_leaves_out_older_versions(client):
    old = create(client, patient())
    cutoff = client.get(f"/fhir/Patient/{old['id']}").json()["meta"]["lastUpdated"]
    import time
    time.sleep(0.01)
    new = create(client, patient())
    page = client.get(f"/fhir/Patient/_history?_since={cutoff}").json()
    ids = {e["resource"]["id"] for e in page["entry"]}
    assert new["id"] in ids


def test_prefer_return_minimal_and_operation_outcome(client):
    r = client.post("/fhir/Patient", json=patient(), headers={**FHIR_JSON, "Prefer": "return=minimal"})
    assert r.status_code == 201 and r.content == b"" and r.headers["location"]
    r = client.post("/fhir/Patient", json=patient(), headers={**FHIR_JSON, "Prefer": "return=OperationOutcome"})
    assert r.status_code == 201 and r.json()["resourceType"] == "OperationOutcome"


def test_metadata_is_a_capability_statement_listing_what_the_server_does(client):
    cs = client.get("/fhir/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in cs["rest"][0]["resource"]}
    assert len(types) == 146
    patient_params = {p["name"] for p in types["Patient"]["searchParam"]}
    assert {"identifier", "name", "birthdate", "_id", "_lastUpdated"} <= patient_params
    assert {i["code"] for i in cs["rest"][0]["interaction"]} == {"transaction", "batch", "history-system", "search-system"}
    assert "Observation:subject" in types["Observation"]["searchInclude"]
    assert "Observation:subject" in types["Patient"]["searchRevInclude"]
    assert "code-value-quantity" in {p["name"] for p in types["Observation"]["searchParam"]}
    assert {o["name"] for o in types["ValueSet"]["operation"]} == {"expand", "validate-code"}


def test_format_json_is_honoured_and_xml_is_refused_with_406(client):
    assert client.get("/fhir/metadata?_format=json").status_code == 200
    r = client.get("/fhir/metadata?_format=xml")
    assert r.status_code == 406
    assert r.json()["resourceType"] == "OperationOutcome"


def test_malformed_json_is_400_not_500(client):
    r = client.post("/fhir/Patient", content=b'{"resourceType": "Patient",', headers=FHIR_JSON)
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1001"]


def test_a_wrong_content_type_is_415(client):
    r = client.post("/fhir/Patient", content=b"<Patient/>", headers={"content-type": "application/xml"})
    assert r.status_code == 415


def test_an_oversized_body_is_413(client, store):
    limit = store.config.max_body_bytes
    r = client.post("/fhir/Patient", content=b" " * (limit + 1), headers=FHIR_JSON)
    assert r.status_code == 413
    assert issue_codes(r.json()) == ["BENHAN-1009"]


def test_an_invalid_resource_is_422_with_each_problem_and_its_path(client):
    bad = patient(birthDate="1985-02-30", foo="bar")
    r = client.post("/fhir/Patient", json=bad, headers=FHIR_JSON)
    assert r.status_code == 422
    expressions = issue_expressions(r.json())
    assert "Patient.birthDate" in expressions and "Patient.foo" in expressions


def test_an_unknown_route_or_method_is_an_operation_outcome(client):
    r = client.get("/fhir/Patient/1/_history/1/extra")
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    r = client.put("/fhir/Patient", json=patient(), headers=FHIR_JSON)
    assert r.status_code == 405 and r.json()["resourceType"] == "OperationOutcome"


def test_search_finds_vietnamese_names_without_accents(client):
    created = create(client, patient(family="Nguyễn", given=("Thị", "Đức")))
    for query in ("family=nguyen", "name=duc", "name=NGUYỄN", "given=thi"):
        ids = [e["resource"]["id"] for e in client.get(f"/fhir/Patient?{query}").json().get("entry", [])]
        assert created["id"] in ids, query
    exact = client.get("/fhir/Patient?family:exact=Nguyen").json()
    assert "entry" not in exact


def test_search_by_reference_and_token_and_quantity(client):
    p = create(client, patient())
    create(client, observation(f"Patient/{p['id']}", value=72))
    create(client, observation(f"Patient/{p['id']}", code="8310-5", value=38.5))
    by_subject = client.get(f"/fhir/Observation?subject=Patient/{p['id']}").json()
    assert len(by_subject["entry"]) == 2
    by_code = client.get(f"/fhir/Observation?patient={p['id']}&code=http://loinc.org|8310-5").json()
    assert len(by_code["entry"]) == 1
    fever = client.get("/fhir/Observation?value-quantity=lt40").json()
    assert len(fever["entry"]) == 1


def test_an_unknown_search_parameter_is_400_unless_lenient(client):
    r = client.get("/fhir/Patient?shoe-size=42")
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1013"]
    lenient = client.get("/fhir/Patient?shoe-size=42", headers={"Prefer": "handling=lenient"})
    assert lenient.status_code == 200
    assert "shoe-size" not in lenient.json()["link"][0]["url"]


def test_search_pages_with_count_and_next_links(client):
    for i in range(7):
        create(client, patient(family="Phạm"))
    page = client.get("/fhir/Patient?family=pham&_count=3").json()
    ids = [e["resource"]["id"] for e in page["entry"]]
    while (nxt := next((link["url"] for link in page["link"] if link["relation"] == "next"), None)):
        page = client.get(nxt.replace("http://testserver", "")).json()
        ids += [e["resource"]["id"] for e in page.get("entry", [])]
    assert len(ids) == len(set(ids)) == 7
    total = client.get("/fhir/Patient?family=pham&_total=accurate&_count=1").json()
    assert total["total"] == 7


def test_count_zero_gives_the_total_and_no_next_page(client):
    create(client, patient())
    create(client, patient())
    page = client.get("/fhir/Patient?_count=0").json()
    assert page["total"] == 2
    assert "entry" not in page
    assert [link["relation"] for link in page["link"]] == ["self"]


def test_a_condition_with_result_parameters_is_refused_rather_than_duplicating(client):
    p = patient(cccd="001085999077")
    client.post("/fhir/Patient", json=p, headers=FHIR_JSON)
    r = client.post("/fhir/Patient", json=p, headers={**FHIR_JSON,
                    "If-None-Exist": "identifier=001085999077&_summary=count"})
    assert r.status_code == 400
    assert len(client.get("/fhir/Patient?identifier=001085999077").json()["entry"]) == 1


def test_post_with_search_parameters_in_the_url_is_refused_rather_than_duplicating(client):
    p = patient(cccd="001085999078")
    client.post("/fhir/Patient", json=p, headers=FHIR_JSON)
    r = client.post("/fhir/Patient?identifier=001085999078", json=p, headers=FHIR_JSON)
    assert r.status_code == 400
    assert "If-None-Exist" in r.json()["issue"][0]["diagnostics"]
    assert len(client.get("/fhir/Patient?identifier=001085999078").json()["entry"]) == 1
