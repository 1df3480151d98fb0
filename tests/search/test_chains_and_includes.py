"""Chained parameters, reverse chaining (_has), _include/_revinclude (with :iterate) and keyset
paging while others write — on every store."""
from __future__ import annotations

from tests.factories import FHIR_JSON, issue_codes, observation, patient


def create(client, resource: dict) -> dict:
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    return r.json()


def ids(bundle: dict, mode: str = "match") -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == mode}


def encounter(subject: str) -> dict:
    return {"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": subject}}


def test_a_chained_parameter_finds_observations_by_their_patients_name(client):
    an = create(client, patient(family="Nguyễn", given=("Văn", "An")))
    binh = create(client, patient(family="Trần", given=("Thị", "Bình")))
    o1 = create(client, observation(f"Patient/{an['id']}"))
    create(client, observation(f"Patient/{binh['id']}"))
    assert ids(client.get("/fhir/Observation?subject:Patient.family=nguyen").json()) == {o1["id"]}
    assert ids(client.get("/fhir/Observation?subject.family=nguyen").json()) == {o1["id"]}
    assert ids(client.get("/fhir/Observation?patient.given=an").json()) == {o1["id"]}


def test_a_two_level_chain_follows_encounter_then_subject(client):
    an = create(client, patient(family="Lê", cccd="001085777001"))
    other = create(client, patient(family="Phạm"))
    enc = create(client, encounter(f"Patient/{an['id']}"))
    enc2 = create(client, encounter(f"Patient/{other['id']}"))
    o1 = create(client, dict(observation(f"Patient/{an['id']}"), encounter={"reference": f"Encounter/{enc['id']}"}))
    create(client, dict(observation(f"Patient/{other['id']}"), encounter={"reference": f"Encounter/{enc2['id']}"}))
    found = client.get("/fhir/Observation?encounter.subject:Patient.identifier=001085777001").json()
    assert ids(found) == {o1["id"]}


def test_a_chain_does_not_follow_references_to_deleted_resources(client):
    an = create(client, patient(family="Võ"))
    create(client, observation(f"Patient/{an['id']}"))
    client.delete(f"/fhir/Patient/{an['id']}")
    assert ids(client.get("/fhir/Observation?subject:Patient.family=vo").json()) == set()


def test_has_finds_patients_by_their_observations(client):
    febrile = create(client, patient(family="Đặng"))
    well = create(client, patient(family="Bùi"))
    create(client, observation(f"Patient/{febrile['id']}", code="8310-5", value=39.2))
    create(client, observation(f"Patient/{well['id']}", code="8867-4", value=70))
    found = client.get("/fhir/Patient?_has:Observation:patient:code=8310-5").json()
    assert ids(found) == {febrile["id"]}
    fever = client.get("/fhir/Patient?_has:Observation:subject:value-quantity=gt38.5").json()
    assert ids(fever) == {febrile["id"], well["id"]}      # 39.2 and 70 are both above 38.5
    normal = client.get("/fhir/Patient?_has:Observation:subject:value-quantity=lt60").json()
    assert ids(normal) == {febrile["id"]}


def test_include_brings_the_referenced_patients_once(client):
    an = create(client, patient())
    for _ in range(3):
        create(client, observation(f"Patient/{an['id']}"))
    bundle = client.get(f"/fhir/Observation?subject=Patient/{an['id']}&_include=Observation:subject").json()
    assert len(ids(bundle)) == 3
    assert ids(bundle, "include") == {an["id"]}
    assert sum(1 for e in bundle["entry"] if e["search"]["mode"] == "include") == 1


def test_revinclude_brings_the_resources_pointing_at_the_page(client):
    an = create(client, patient(cccd="001085777010"))
    obs = {create(client, observation(f"Patient/{an['id']}"))["id"] for _ in range(2)}
    bundle = client.get("/fhir/Patient?identifier=001085777010&_revinclude=Observation:subject").json()
    assert ids(bundle) == {an["id"]}
    assert ids(bundle, "include") == obs


def test_include_iterate_follows_the_included_resources_references(client):
    an = create(client, patient())
    enc = create(client, encounter(f"Patient/{an['id']}"))
    obs = create(client, dict(observation(f"Patient/{an['id']}"), encounter={"reference": f"Encounter/{enc['id']}"}))
    plain = client.get(f"/fhir/Observation?_id={obs['id']}&_include=Observation:encounter").json()
    assert ids(plain, "include") == {enc["id"]}
    deep = client.get(f"/fhir/Observation?_id={obs['id']}&_include=Observation:encounter"
                      "&_include:iterate=Encounter:subject").json()
    assert ids(deep, "include") == {enc["id"], an["id"]}


def test_include_of_a_parameter_the_type_lacks_is_400(client):
    r = client.get("/fhir/Observation?_include=Observation:nonsense")
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["BENHAN-1012"]


def test_paging_neither_skips_nor_repeats_while_others_write(client):
    first = [create(client, patient(family="Hồ"))["id"] for _ in range(9)]
    page = client.get("/fhir/Patient?family=ho&_count=4&_sort=-_lastUpdated").json()
    seen = [e["resource"]["id"] for e in page["entry"]]
    while (nxt := next((link["url"] for link in page["link"] if link["relation"] == "next"), None)):
        # Between pages: a new match arrives and one already seen is deleted.
        create(client, patient(family="Hồ"))
        client.delete(f"/fhir/Patient/{seen[0]}")
        page = client.get(nxt.replace("http://testserver", "")).json()
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
    assert len(seen) == len(set(seen))
    assert set(first) <= set(seen)


def test_sort_by_a_date_parameter_puts_missing_values_last_and_ties_in_a_stable_order(client):
    a = create(client, patient(birthDate="1990-01-01"))
    b = create(client, patient(birthDate="1980-05-05"))
    c = create(client, patient(birthDate="1980-05-05"))
    d = create(client, {k: v for k, v in patient().items() if k != "birthDate"})
    order = [e["resource"]["id"] for e in client.get("/fhir/Patient?_sort=birthdate").json()["entry"]]
    assert order[:2] in ([b["id"], c["id"]], [c["id"], b["id"]]) and order[2:] == [a["id"], d["id"]]
    again = [e["resource"]["id"] for e in client.get("/fhir/Patient?_sort=birthdate").json()["entry"]]
    assert again == order
    desc = [e["resource"]["id"] for e in client.get("/fhir/Patient?_sort=-birthdate").json()["entry"]]
    assert desc[0] == a["id"] and desc[-1] == d["id"]


def test_a_forged_cursor_is_400(client):
    r = client.get("/fhir/Patient?_cursor=bm9wZQ")
    assert r.status_code == 400


def test_a_system_search_over_several_types_with_common_parameters(client):
    p = create(client, dict(patient(), meta={"tag": [{"system": "urn:benhan:test", "code": "demo"}]}))
    o = create(client, dict(observation(f"Patient/{p['id']}"), meta={"tag": [{"system": "urn:benhan:test", "code": "demo"}]}))
    create(client, observation(f"Patient/{p['id']}"))
    both = client.get("/fhir?_type=Patient,Observation&_tag=urn:benhan:test|demo").json()
    assert ids(both) == {p["id"], o["id"]}
    only = client.get("/fhir?_type=Observation&_tag=demo").json()
    assert ids(only) == {o["id"]}
    everything_tagged = client.get("/fhir?_tag=demo").json()
    assert ids(everything_tagged) == {p["id"], o["id"]}
    assert client.get("/fhir?_type=Nonsense").status_code == 400
    assert client.get("/fhir?family=x").status_code == 400
