"""Reference and uri search (http://hl7.org/fhir/R4/search.html#reference, #uri): Type/id, id,
absolute URL, :[type], :identifier, canonical with |version; uri exact, :below, :above; :missing —
on every store."""
from __future__ import annotations

from urllib.parse import quote

from benhan.vn.identifiers import CCCD_SYSTEM
from tests.factories import FHIR_JSON, patient

CANONICAL = "http://benhan.vn/fhir/Questionnaire/kham-benh"


def create(client, resource: dict) -> str:
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def put(client, resource: dict) -> str:
    r = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource, headers=FHIR_JSON)
    assert r.status_code in (200, 201), r.text
    return resource["id"]


def found(client, query: str) -> set[str]:
    r = client.get(f"/fhir/{query}")
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "match"}


def observation(subject: dict | None) -> dict:
    obs = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}
    if subject is not None:
        obs["subject"] = subject
    return obs


def about(reference: str) -> dict:
    return observation({"reference": reference})


def answers(questionnaire: str) -> dict:
    return {"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": questionnaire}


def value_set(url: str) -> dict:
    return {"resourceType": "ValueSet", "status": "active", "url": url}


def test_type_and_id_find_references_to_that_resource_only(client):
    put(client, {**patient(), "id": "p1"})
    to_patient = create(client, about("Patient/p1"))
    create(client, about("Group/p1"))
    create(client, about("Patient/p2"))
    assert found(client, "Observation?subject=Patient/p1") == {to_patient}
    assert found(client, "Observation?patient=Patient/p1") == {to_patient}


def test_an_id_alone_finds_references_to_any_type_unless_a_type_modifier_narrows_it(client):
    to_patient = create(client, about("Patient/p1"))
    to_group = create(client, about("Group/p1"))
    create(client, about("Patient/p2"))
    assert found(client, "Observation?subject=p1") == {to_patient, to_group}
    assert found(client, "Observation?subject:Patient=p1") == {to_patient}
    assert found(client, "Observation?subject:Group=p1") == {to_group}
    assert found(client, "Observation?patient=p1") == {to_patient}      # patient targets Patient only
    assert found(client, "Observation?subject=p1,p2") == found(client, "Observation?subject:missing=false")


def test_a_type_modifier_must_name_a_type_the_parameter_can_point_to(client):
    for modifier in ("Foo", "Medication"):
        r = client.get(f"/fhir/Observation?subject:{modifier}=p1")
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", modifier


def test_an_absolute_url_finds_the_reference_written_with_it(client):
    elsewhere = create(client, about("http://other.example/fhir/Patient/p9"))
    assert found(client, "Observation?subject=" + quote("http://other.example/fhir/Patient/p9")) == {elsewhere}
    assert found(client, "Observation?subject=" + quote("http://other.example/fhir/Patient/p8")) == set()


def test_an_absolute_url_on_this_server_finds_the_local_references(client):
    local = create(client, about("Patient/p1"))
    assert found(client, "Observation?subject=" + quote("http://testserver/fhir/Patient/p1")) == {local}


def test_identifier_finds_references_made_by_identifier(client):
    by_identifier = create(client, observation({"identifier": {"system": CCCD_SYSTEM, "value": "001085000777"}}))
    create(client, about("Patient/p1"))
    assert found(client, f"Observation?subject:identifier={CCCD_SYSTEM}|001085000777") == {by_identifier}
    assert found(client, "Observation?subject:identifier=001085000777") == {by_identifier}
    assert found(client, "Observation?subject:identifier=001085000778") == set()


def test_missing_finds_resources_without_the_reference(client):
    with_subject = create(client, about("Patient/p1"))
    without = create(client, observation(None))
    assert found(client, "Observation?subject:missing=true") == {without}
    assert found(client, "Observation?subject:missing=false") == {with_subject}


def test_a_canonical_reference_matches_with_or_without_its_version(client):
    v1 = create(client, answers(f"{CANONICAL}|1.0"))
    v2 = create(client, answers(f"{CANONICAL}|2.0"))
    unversioned = create(client, answers(CANONICAL))
    create(client, answers(CANONICAL + "-nhi"))
    create(client, answers(CANONICAL.upper() + "|1.0"))        # another URL: canonicals are case-sensitive
    create(client, answers(CANONICAL + "}"))                   # just past the versions in byte order
    assert found(client, "QuestionnaireResponse?questionnaire=" + quote(CANONICAL)) == {v1, v2, unversioned}
    assert found(client, "QuestionnaireResponse?questionnaire=" + quote(f"{CANONICAL}|1.0")) == {v1}
    assert found(client, "QuestionnaireResponse?questionnaire=" + quote(f"{CANONICAL}|3.0")) == set()
    assert found(client, "QuestionnaireResponse?questionnaire=" + quote(CANONICAL + ",x")) == {v1, v2, unversioned}


def test_a_uri_matches_exactly_and_case_sensitively(client):
    dan_toc = create(client, value_set("http://benhan.vn/fhir/ValueSet/dan-toc"))
    create(client, value_set("http://benhan.vn/fhir/ValueSet/dan-toc-cu"))
    assert found(client, "ValueSet?url=http://benhan.vn/fhir/ValueSet/dan-toc") == {dan_toc}
    assert found(client, "ValueSet?url=http://benhan.vn/fhir/ValueSet/DAN-TOC") == set()
    assert found(client, "ValueSet?url=http://benhan.vn/fhir/ValueSet") == set()


def test_below_finds_uris_under_the_value_and_above_finds_uris_the_value_is_under(client):
    root = create(client, value_set("http://benhan.vn/fhir"))
    dan_toc = create(client, value_set("http://benhan.vn/fhir/ValueSet/dan-toc"))
    other = create(client, value_set("http://other.example/fhir/ValueSet/x"))
    assert found(client, "ValueSet?url:below=http://benhan.vn/fhir/ValueSet") == {dan_toc}
    assert found(client, "ValueSet?url:below=http://benhan.vn/") == {root, dan_toc}
    assert found(client, "ValueSet?url:below=http://benhan.vn/fhir/Value_et") == set()     # _ is no wildcard
    assert found(client, "ValueSet?url:below=http://benhan.vn/fhir/%25") == set()           # nor is %
    assert found(client, "ValueSet?url:above=http://benhan.vn/fhir/ValueSet/dan-toc/2024") == {root, dan_toc}
    assert found(client, "ValueSet?url:above=http://benhan.vn/fhir") == {root}
    assert found(client, "ValueSet?url:above=http://other.example/fhir/ValueSet/x") == {other}


def test_above_takes_wildcard_characters_in_stored_uris_literally(client):
    odd = create(client, value_set("http://benhan.vn/a_b%c"))
    assert found(client, "ValueSet?url:above=http://benhan.vn/a_b%25c/d") == {odd}
    assert found(client, "ValueSet?url:above=http://benhan.vn/aXbYc/d") == set()


def test_missing_finds_resources_without_the_uri(client):
    with_url = create(client, value_set("http://benhan.vn/fhir/ValueSet/x"))
    without = create(client, {"resourceType": "ValueSet", "status": "draft"})
    assert found(client, "ValueSet?url:missing=true") == {without}
    assert found(client, "ValueSet?url:missing=false") == {with_url}


def test_another_servers_patient_is_not_taken_for_a_local_one_with_the_same_id(client):
    local = create(client, observation({"reference": "Patient/p1"}))
    remote = create(client, observation({"reference": "http://other.example/fhir/Patient/p1"}))
    assert found(client, "Observation?subject=Patient/p1") == {local}
    assert found(client, "Observation?subject=p1") == {local}
    assert found(client, "Observation?subject=http://other.example/fhir/Patient/p1") == {remote}
    # This server's own absolute URL means the local resource.
    assert found(client, "Observation?subject=http://testserver/fhir/Patient/p1") == {local}
