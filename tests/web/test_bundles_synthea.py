"""Synthea-shaped transaction Bundles (bench/synthea_like.py): conditional creates of the shared
Practitioner/Organization/Location, conditional references to them in the same Bundle, urn:uuid
references everywhere (contained resources too), on every store."""
from __future__ import annotations

import sys
from pathlib import Path

from tests.factories import FHIR_JSON

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthea_like import NPI, World, patient_bundle  # noqa: E402


def post(client, bundle: dict):
    return client.post("/fhir", json=bundle, headers=FHIR_JSON)


def ids(client, query: str) -> list[str]:
    found = client.get(f"/fhir/{query}").json()
    return [e["resource"]["id"] for e in found.get("entry", [])]


def test_a_small_synthea_like_bundle_ingests_and_its_references_point_at_what_it_made(client):
    bundle = patient_bundle(World(seed=3), entries=120, seed=11)
    r = post(client, bundle)
    assert r.status_code == 200, r.text[:2000]
    out = r.json()["entry"]
    assert len(out) == len(bundle["entry"])
    assert {e["response"]["status"] for e in out} == {"201 Created"}
    made = {e["fullUrl"]: o["response"]["location"].split("/_history/")[0] for e, o in zip(bundle["entry"], out)}
    eob_at = next(made[e["fullUrl"]] for e in bundle["entry"] if e["resource"]["resourceType"] == "ExplanationOfBenefit")
    eob = client.get(f"/fhir/{eob_at}").json()
    assert eob["claim"]["reference"] in made.values()
    assert eob["patient"]["reference"] in made.values()
    # A reference inside a contained resource was resolved as well.
    assert eob["contained"][1]["beneficiary"]["reference"] == eob["patient"]["reference"]
    # The conditional reference means the Practitioner this Bundle created by its conditional create.
    practitioner = eob["provider"]["reference"]
    assert practitioner.startswith("Practitioner/") and practitioner in made.values()


def test_a_second_bundle_matches_the_shared_practitioner_and_refers_to_the_one_existing(client):
    world = World(seed=4)
    first = post(client, patient_bundle(world, entries=100, seed=1))
    assert first.status_code == 200, first.text[:2000]
    bundle = patient_bundle(world, entries=100, seed=2)
    shared = [e for e in bundle["entry"] if e["request"].get("ifNoneExist")]
    assert shared and all(e["resource"]["resourceType"] in ("Organization", "Location", "Practitioner")
                          for e in shared)
    r = post(client, bundle)
    assert r.status_code == 200, r.text[:2000]
    out = r.json()["entry"]
    # Every shared resource already there (the world has 4 organizations, each Bundle uses 2 of
    # them: some may be new) — those found answer 200 with the existing one.
    for e, o in zip(bundle["entry"], out):
        if e["request"].get("ifNoneExist"):
            assert o["response"]["status"] in ("200 OK", "201 Created")
    for org in world.organizations:
        for npi, _ in org.practitioners:
            assert len(ids(client, f"Practitioner?identifier={NPI}|{npi}")) <= 1
    # Each Encounter's performer is the one Practitioner holding that NPI.
    enc_at = next(o["response"]["location"].split("/_history/")[0]
                  for e, o in zip(bundle["entry"], out) if e["resource"]["resourceType"] == "Encounter")
    enc = client.get(f"/fhir/{enc_at}").json()
    wanted = bundle["entry"][[o["response"]["location"].split("/_history/")[0] for o in out].index(enc_at)]
    conditional = wanted["resource"]["participant"][0]["individual"]["reference"]
    npi = conditional.rsplit("|", 1)[1]
    assert ids(client, f"Practitioner?identifier={NPI}|{npi}") == [enc["participant"][0]["individual"]["reference"].split("/")[1]]


def test_an_if_none_exist_written_with_its_type_is_taken_as_its_query(client):
    org = {"resourceType": "Organization", "identifier": [{"system": "urn:test:org", "value": "o-1"}], "name": "A"}
    entry = {"fullUrl": "urn:uuid:3b7c55a8-6a0e-4c8f-9d3e-2a1c0f5e8b11", "resource": org,
             "request": {"method": "POST", "url": "Organization", "ifNoneExist": "Organization?identifier=urn:test:org|o-1"}}
    for expected in ("201 Created", "200 OK"):
        r = post(client, {"resourceType": "Bundle", "type": "transaction", "entry": [entry]})
        assert r.status_code == 200, r.text
        assert r.json()["entry"][0]["response"]["status"] == expected
    assert len(ids(client, "Organization?identifier=urn:test:org|o-1")) == 1


def test_a_conditional_reference_to_a_conditional_create_of_the_same_bundle_resolves_to_it(client):
    org = {"resourceType": "Organization", "identifier": [{"system": "urn:test:org", "value": "o-2"}], "name": "B"}
    loc = {"resourceType": "Location", "name": "L",
           "managingOrganization": {"reference": "Organization?identifier=urn:test:org|o-2"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:8a4e0c3d-1f2b-4c5d-8e9f-0a1b2c3d4e5f", "resource": loc,
         "request": {"method": "POST", "url": "Location"}},
        {"fullUrl": "urn:uuid:9b5f1d4e-2a3c-4d6e-9f0a-1b2c3d4e5f60", "resource": org,
         "request": {"method": "POST", "url": "Organization", "ifNoneExist": "identifier=urn:test:org|o-2"}}]}
    r = post(client, bundle)
    assert r.status_code == 200, r.text
    loc_at, org_at = (e["response"]["location"].split("/_history/")[0] for e in r.json()["entry"])
    assert client.get(f"/fhir/{loc_at}").json()["managingOrganization"]["reference"] == org_at
    # Once stored, the same Bundle again matches it: the Location of the second points at the same one.
    r = post(client, bundle)
    assert r.status_code == 200, r.text
    loc2_at, org2_at = (e["response"]["location"].split("/_history/")[0] for e in r.json()["entry"])
    assert org2_at == org_at
    assert client.get(f"/fhir/{loc2_at}").json()["managingOrganization"]["reference"] == org_at


def test_two_conditional_creates_with_the_same_criteria_in_one_bundle_make_one_resource(client):
    # Two entries both creating "the Practitioner with this NPI if none exists" (an exporter that
    # writes the shared resource once per encounter): one Practitioner, both entries answer with it,
    # and references to either fullUrl point at it.
    npi = "9999999991"

    def practitioner(n: int) -> dict:
        return {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}",
                "resource": {"resourceType": "Practitioner",
                             "identifier": [{"system": NPI, "value": npi}], "name": [{"family": "Trần"}]},
                "request": {"method": "POST", "url": "Practitioner", "ifNoneExist": f"identifier={NPI}|{npi}"}}

    def encounter(n: int) -> dict:
        return {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-0000000001{n}",
                "resource": {"resourceType": "Encounter", "status": "finished",
                             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                             "participant": [{"individual": {
                                 "reference": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"}}]},
                "request": {"method": "POST", "url": "Encounter"}}

    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [practitioner(1), encounter(1), practitioner(2), encounter(2)]}
    r = post(client, bundle)
    assert r.status_code == 200, r.text[:2000]
    out = [o["response"] for o in r.json()["entry"]]
    assert [o["status"] for o in out] == ["201 Created", "201 Created", "200 OK", "201 Created"]
    one = out[0]["location"].split("/_history/")[0]
    assert out[2]["location"].split("/_history/")[0] == one
    assert ids(client, f"Practitioner?identifier={NPI}|{npi}") == [one.split("/")[1]]
    for o in (out[1], out[3]):
        enc = client.get(f"/fhir/{o['location'].split('/_history/')[0]}").json()
        assert enc["participant"][0]["individual"]["reference"] == one
