"""Chained parameters and _has see only what a direct search would: every resource a chain or _has
step looks at is subject to the actor's access rules, so a search cannot be narrowed by the
properties of records the user may not see (issue 4).

The ward (tests/auth/ward.py): nurse Lan works in medicine (p1 Trần) and cares for p3 (Phạm);
p2 (Lê) lies in surgery, outside her scope. o1 is p1's observation with p2 named as performer — a
reference she may see, to a patient she may not."""
from __future__ import annotations

import pytest

from tests.auth import ward as ward_mod
from tests.auth_helpers import token_for
from tests.factories import FHIR_JSON, issue_codes, observation, patient

HIV = "75622-1"     # LOINC: HIV 1 and 2 tests (a result nobody outside the care team may infer)


@pytest.fixture
def ward(store):  # noqa: ANN001, ANN201
    w = ward_mod.build(store)
    # A medicine patient who names p2 in Patient.link, and her encounter in medicine.
    w.create(dict(patient(family="Đỗ"), link=[{"other": {"reference": f"Patient/{w.ids['p2']}"}, "type": "seealso"}]),
             "p4")
    w.create(ward_mod.encounter(w.ids["p4"], w.ids["medicine"]), "e4")
    # p1's observation filed (wrongly) under p2's encounter in surgery.
    w.create(dict(observation(f"Patient/{w.ids['p1']}", value=74), encounter={"reference": f"Encounter/{w.ids['e2']}"}),
             "o5")
    # A practitioner who ran p2's HIV test (practitioners are reference data: everyone may search them).
    w.create({"resourceType": "Practitioner", "name": [{"family": "Vũ", "given": ["Minh"]}]}, "vu")
    w.create(observation(f"Patient/{w.ids['p2']}", code=HIV, value=1,
                         performer=[{"reference": f"Practitioner/{w.ids['vu']}"}]), "o6")
    return w


def ids(bundle: dict) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"}


def names(w: ward_mod.Ward, *keys: str) -> set[str]:
    return {w.ids[k] for k in keys}


def found(client, ward, url: str, params: dict, who: str | None) -> set[str]:  # noqa: ANN001
    headers = ward.headers(who) if who else token_for(ward.store, "system/*.rs")
    r = client.get(url, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return ids(r.json())


# --- chains ---------------------------------------------------------------------------------------

def test_a_chain_through_a_patient_outside_the_scope_finds_nothing(client, ward):
    # o1 is hers, but whether its performer p2 is called Lê is not for her to learn.
    by_name = {"performer:Patient.family": "Lê"}
    assert found(client, ward, "/fhir/Observation", by_name, "lan") == set()
    r = client.get("/fhir/Observation", params={**by_name, "_summary": "count"}, headers=ward.headers("lan"))
    assert r.json()["total"] == 0
    # Through a patient she may see, the chain works as before.
    own = found(client, ward, "/fhir/Observation", {"subject:Patient.family": "Trần"}, "lan")
    assert own == names(ward, "o1", "o5")
    # A system token sees every chain.
    assert found(client, ward, "/fhir/Observation", by_name, None) == {ward.ids["o1"]}


def test_every_level_of_a_chain_is_limited_to_what_the_user_may_see(client, ward):
    # Last level out of scope: e4 and p4 are hers, p4's linked patient p2 is not.
    linked = {"subject:Patient.link:Patient.family": "Lê"}
    assert found(client, ward, "/fhir/Encounter", linked, "lan") == set()
    assert found(client, ward, "/fhir/Encounter", linked, None) == {ward.ids["e4"]}
    # Middle level out of scope: o5 is hers, its encounter e2 (surgery) is not.
    through_e2 = {"encounter.service-provider:Organization.name": "Khoa Ngoại"}
    assert found(client, ward, "/fhir/Observation", through_e2, "lan") == set()
    assert found(client, ward, "/fhir/Observation", through_e2, None) == {ward.ids["o5"]}
    # Through what she may see, two levels answer as before.
    assert found(client, ward, "/fhir/Observation", {"subject:Patient.link:Patient.family": "Lê"}, None) == set()
    assert found(client, ward, "/fhir/Encounter", {"subject:Patient.family": "Đỗ"}, "lan") == {ward.ids["e4"]}


def test_break_the_glass_opens_the_chain_too(client, ward, store):
    from benhan.auth import break_glass
    break_glass.open_grant(store, ward.accounts["lan"], ward.ids["p2"], "Cấp cứu: người bệnh ngừng thở tại hành lang")
    assert found(client, ward, "/fhir/Observation", {"performer:Patient.family": "Lê"}, "lan") == {ward.ids["o1"]}


# --- _has ----------------------------------------------------------------------------------------

def test_has_does_not_count_resources_the_user_may_not_see(client, ward):
    # Practitioners are hers to search; that Vũ ran an HIV test on a patient outside her scope is not.
    ran_hiv = {"_has:Observation:performer:code": HIV}
    assert found(client, ward, "/fhir/Practitioner", ran_hiv, "lan") == set()
    assert found(client, ward, "/fhir/Practitioner", ran_hiv, None) == {ward.ids["vu"]}
    # Her own patients' observations still answer a _has.
    assert found(client, ward, "/fhir/Patient", {"_has:Observation:subject:value-quantity": "71"}, "lan") \
        == {ward.ids["p1"]}


def test_a_chain_inside_has_and_has_on_a_visible_target_are_limited_alike(client, ward):
    # p1 is hers and so is o1, but o1's performer p2 is not: "p1 has an observation performed by
    # someone called Lê" would tell her p2's name.
    by_performer = {"_has:Observation:subject:performer:Patient.family": "Lê"}
    assert found(client, ward, "/fhir/Patient", by_performer, "lan") == set()
    assert found(client, ward, "/fhir/Patient", by_performer, None) == {ward.ids["p1"]}
    # The other way round: the patients whose encounters lie in surgery — p3 (she cares for him)
    # is found, p2 is not.
    in_surgery = {"_has:Encounter:subject:service-provider:Organization.name": "Khoa Ngoại"}
    assert found(client, ward, "/fhir/Patient", in_surgery, "lan") == {ward.ids["p3"]}
    assert found(client, ward, "/fhir/Patient", in_surgery, None) == {ward.ids["p2"], ward.ids["p3"]}


# --- _include:iterate ----------------------------------------------------------------------------

def test_include_iterate_never_follows_a_reference_out_of_what_the_user_may_not_see(client, ward):
    # p2 (outside her scope) names Vũ as general practitioner; o1 (hers) names p2 as performer.
    system = token_for(ward.store, "system/*.cruds")
    p2 = client.get(f"/fhir/Patient/{ward.ids['p2']}", headers=system).json()
    p2["generalPractitioner"] = [{"reference": f"Practitioner/{ward.ids['vu']}"}]
    assert client.put(f"/fhir/Patient/{p2['id']}", json=p2, headers={**system, **FHIR_JSON}).status_code == 200
    params = {"_id": ward.ids["o1"], "_include": "Observation:performer",
              "_include:iterate": "Patient:general-practitioner"}

    def included(headers: dict) -> set[str]:
        r = client.get("/fhir/Observation", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return {e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "include"}
    assert included(ward.headers("lan")) == set()
    assert included(system) == names(ward, "p2", "vu")


# --- types the user may not search at all ----------------------------------------------------------

def test_a_chain_or_has_into_a_type_the_role_may_not_search_is_refused(client, ward):
    registrar = ward.headers("tiepdon")          # patients and encounters, facility-wide; no observations
    for url, params in (("/fhir/Patient", {"_has:Observation:subject:code": HIV}),
                        ("/fhir/Encounter", {"diagnosis:Condition.code": "B20"}),
                        ("/fhir/Encounter", {"diagnosis.code": "B20"})):   # Condition or Procedure: neither
        r = client.get(url, params=params, headers=registrar)
        assert r.status_code == 403, (url, params, r.text)
        assert issue_codes(r.json()) == ["BENHAN-5002"]
        assert ward.ids["p2"] not in r.text
    # Each refusal is in the trail, as a direct search's would be.
    from sqlalchemy import select

    from benhan.store.schema import audit_event
    ward.store.read_audit.flush()
    with ward.store.db.read() as conn:
        refused = conn.execute(select(audit_event.c.res_type, audit_event.c.query).where(
            (audit_event.c.agent == "tiepdon") & (audit_event.c.outcome == "4"))).all()
    assert sorted(refused) == [("Condition", "diagnosis.code"), ("Condition", "diagnosis:Condition.code"),
                               ("Observation", "_has:Observation:subject:code")]
    # An untyped chain keeps the targets she may search (subject: a Patient; a Group she may not).
    r = client.get("/fhir/Encounter", params={"subject.name": "Lê"}, headers=registrar)
    assert r.status_code == 200, r.text
    assert ids(r.json()) == {ward.ids["e2"]}
