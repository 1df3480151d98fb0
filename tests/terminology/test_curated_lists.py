"""The lists curated by us (BHYT beneficiary groups, occupation groups, encounter types, common lab
tests) load completely, say that they are curated, and answer the terminology operations."""
from __future__ import annotations

from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.terminology import curated, labs
from tests.terminology.conftest import Loaded, codes, expand, parameter


def _cs(loaded: Loaded, res_id: str) -> dict:
    return Repository(loaded.store, Actor.system("test")).read("CodeSystem", res_id).json()


def _concept(cs: dict, code: str) -> dict:
    return next(c for c in cs["concept"] if c["code"] == code)


def _props(concept: dict) -> dict:
    return {p["code"]: next(v for k, v in p.items() if k.startswith("value")) for p in concept.get("property", [])}


def test_each_curated_list_loads_every_row_and_says_it_is_curated(loaded: Loaded):
    for res_id, rows in (("bhyt-beneficiary-group", curated.BENEFICIARY_GROUPS),
                         ("vn-occupation-group", curated.OCCUPATION_GROUPS),
                         ("benhan-encounter-type", curated.ENCOUNTER_TYPES), ("lab-loinc-vn", labs.LABS)):
        cs = _cs(loaded, res_id)
        assert cs["count"] == len(cs["concept"]) == len(rows), res_id
        assert cs["publisher"] == "benhan (curated)" and cs["version"]
        assert "CURATED BY US" in cs["description"] or "WRITTEN OUT BY US" in cs["description"] \
            or "DESIGNED BY US" in cs["description"]


def test_there_are_between_40_and_80_lab_tests_with_units_and_ranges(loaded: Loaded):
    cs = _cs(loaded, "lab-loinc-vn")
    assert 40 <= len(cs["concept"]) <= 80
    hgb = _concept(cs, "718-7")
    assert hgb["display"] == "Huyết sắc tố (HGB)"
    assert hgb["designation"] == [{"language": "en", "value": "Hemoglobin [Mass/volume] in Blood"}]
    assert _props(hgb) == {"unit": "g/L", "panel": "hematology", "reference-low": 130, "reference-high": 170,
                           "reference-low-female": 120, "reference-high-female": 155}
    assert _props(_concept(cs, "4548-4"))["unit"] == "%"
    assert "reference-high" not in _props(_concept(cs, "62238-1"))     # eGFR: a lower limit only


def test_every_panel_is_made_of_listed_tests():
    assert {c for panel in labs.PANELS.values() for c in panel} <= set(labs.BY_CODE)


def test_the_beneficiary_groups_hold_the_codes_of_the_card_fragment_with_their_levels(loaded: Loaded):
    cs = _cs(loaded, "bhyt-beneficiary-group")
    fragment = {c["code"] for c in _cs(loaded, "vn-bhyt-card-type-cs")["concept"]}
    assert fragment <= {c["code"] for c in cs["concept"]}
    assert _concept(cs, "TE")["display"] == "Trẻ em dưới 6 tuổi"
    assert {code for code, _, level in curated.BENEFICIARY_GROUPS if level == 5} == {"QN", "CA", "CY"}


def test_encounter_types_map_to_an_encounter_class_and_a_bhyt_visit_type(loaded: Loaded):
    noi_tru = _props(_concept(_cs(loaded, "benhan-encounter-type"), "noi-tru"))
    assert noi_tru == {"class": "IMP", "ma-loai-kcb": "03"}


def test_expand_finds_a_lab_test_by_its_vietnamese_name_without_accents(tx):  # noqa: ANN001
    found = codes(expand(tx, url="https://benhan.vn/fhir/ValueSet/lab-loinc-vn", filter="huyet sac to"))
    assert found[0] == "718-7"
    found = codes(expand(tx, url="https://benhan.vn/fhir/ValueSet/vn-occupation-group", filter="nong nghiep"))
    assert found == ["6"]


def test_validate_code_refuses_a_beneficiary_group_that_is_not_listed(tx):  # noqa: ANN001
    r = tx.get("/fhir/ValueSet/$validate-code", params={
        "url": "https://benhan.vn/fhir/ValueSet/bhyt-beneficiary-group",
        "system": curated.BENEFICIARY_URL, "code": "ZZ"})
    assert r.status_code == 200 and parameter(r.json(), "result") is False
