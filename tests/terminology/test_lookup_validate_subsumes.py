"""CodeSystem/$lookup, $validate-code (on value sets and code systems) and $subsumes over ICD-10."""
from __future__ import annotations

import pytest

from tests.factories import FHIR_JSON, issue_codes
from tests.terminology.conftest import CS_ICD10, VS_ICD10, parameter


def _get(tx, path: str, **params) -> dict:  # noqa: ANN001
    r = tx.get(f"/fhir/{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_lookup_gives_the_name_the_english_designation_and_the_hierarchy(tx):
    out = _get(tx, "CodeSystem/$lookup", system=CS_ICD10, code="J18.9")
    assert parameter(out, "display") == "Viêm phổi, không xác định"
    assert parameter(out, "version") == "tt06-2026"
    designation = next(p for p in out["parameter"] if p["name"] == "designation")
    assert designation["part"] == [{"name": "language", "valueCode": "en"},
                                   {"name": "value", "valueString": "Pneumonia, unspecified"}]
    props = {p["part"][0]["valueCode"]: p["part"][1] for p in out["parameter"] if p["name"] == "property"}
    assert props["chapter"] == {"name": "value", "valueString": "X"}
    assert props["parent"] == {"name": "value", "valueCode": "J18"}


def test_lookup_in_english_and_in_the_older_version(tx):
    out = _get(tx, "CodeSystem/$lookup", system=CS_ICD10, code="I10", version="qd4469-2020", displayLanguage="en")
    assert parameter(out, "display") == "Essential (primary) hypertension"


def test_lookup_of_an_unknown_code_is_a_clear_404(tx):
    r = tx.get("/fhir/CodeSystem/$lookup", params={"system": CS_ICD10, "code": "J18.99"})
    assert r.status_code == 404 and issue_codes(r.json()) == ["BENHAN-2010"]
    assert "J18.99 is not a code of ICD-10" in r.json()["issue"][0]["diagnostics"]


def test_lookup_of_an_unknown_system_is_a_clear_404(tx):
    r = tx.get("/fhir/CodeSystem/$lookup", params={"system": "http://example.org/cs", "code": "x"})
    assert r.status_code == 404 and issue_codes(r.json()) == ["BENHAN-2009"]


def test_lookup_by_post_with_a_coding(tx):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": "https://benhan.vn/fhir/CodeSystem/vn-ethnicity", "code": "01"}}]}
    r = tx.post("/fhir/CodeSystem/$lookup", json=body, headers=FHIR_JSON)
    assert r.status_code == 200 and parameter(r.json(), "display") == "Kinh"


def test_validate_code_accepts_a_code_of_the_value_set(tx):
    out = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, system=CS_ICD10, code="E11")
    assert parameter(out, "result") is True
    assert parameter(out, "display") == "Bệnh đái tháo đường típ 2"


def test_validate_code_rejects_an_unknown_code_with_a_message(tx):
    out = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, code="J18.99")
    assert parameter(out, "result") is False
    assert "J18.99 is not a code of" in parameter(out, "message")


def test_validate_code_rejects_a_chapter_which_is_not_in_the_value_set(tx):
    out = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, code="X")
    assert parameter(out, "result") is False and "not in the value set" in parameter(out, "message")


def test_validate_code_rejects_a_wrong_display(tx):
    out = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, code="J18.9", display="Viêm gan")
    assert parameter(out, "result") is False and "Viêm phổi, không xác định" in parameter(out, "message")
    ok = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, code="J18.9", display="Pneumonia, unspecified")
    assert parameter(ok, "result") is True


def test_validate_code_of_a_code_from_another_system_is_false(tx):
    out = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, system="http://snomed.info/sct", code="233604007")
    assert parameter(out, "result") is False


def test_validate_code_knows_codes_removed_or_added_between_versions(tx):
    # B18.00 is one of the 5-character Vietnamese codes TT 06/2026 added; QĐ 4469 has none.
    new = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, code="B18.00")
    old = _get(tx, "ValueSet/$validate-code", url=VS_ICD10, code="B18.00", valueSetVersion="qd4469-2020")
    assert (parameter(new, "result"), parameter(old, "result")) == (True, False)


def test_validate_code_with_a_codeable_concept_by_post(tx):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS_ICD10},
        {"name": "codeableConcept", "valueCodeableConcept": {"coding": [
            {"system": "http://snomed.info/sct", "code": "233604007"}, {"system": CS_ICD10, "code": "J18.9"}]}}]}
    r = tx.post("/fhir/ValueSet/$validate-code", json=body, headers=FHIR_JSON)
    assert r.status_code == 200 and parameter(r.json(), "result") is True


def test_validate_code_on_the_code_system_accepts_a_chapter_only_when_abstract_is_allowed(tx):
    strict = _get(tx, "CodeSystem/$validate-code", url=CS_ICD10, code="X")
    loose = _get(tx, "CodeSystem/$validate-code", url=CS_ICD10, code="X", abstract="true")
    assert (parameter(strict, "result"), parameter(loose, "result")) == (False, True)
    by_id = _get(tx, "CodeSystem/vn-ethnicity/$validate-code", code="55")
    assert parameter(by_id, "result") is False     # "Người nước ngoài": common, but not in the decision


@pytest.mark.parametrize(("a", "b", "outcome"), [
    ("X", "J18.9", "subsumes"),
    ("J18", "J18.9", "subsumes"),
    ("J18.9", "J18", "subsumed-by"),
    ("B18.00", "B18", "subsumed-by"),
    ("J18.9", "J18.9", "equivalent"),
    ("J18.9", "J12", "not-subsumed"),
    ("IX", "J18.9", "not-subsumed"),
])
def test_subsumes_follows_chapter_category_and_subcode(tx, a, b, outcome):
    out = _get(tx, "CodeSystem/$subsumes", system=CS_ICD10, codeA=a, codeB=b)
    assert parameter(out, "outcome") == outcome


def test_subsumes_on_an_unknown_code_is_a_clear_404(tx):
    r = tx.get("/fhir/CodeSystem/$subsumes", params={"system": CS_ICD10, "codeA": "J18", "codeB": "Z99.99"})
    assert r.status_code == 404 and issue_codes(r.json()) == ["BENHAN-2010"]
    assert r.json()["issue"][0]["expression"] == ["codeB"]


def test_subsumes_without_codes_is_a_400(tx):
    r = tx.get("/fhir/CodeSystem/$subsumes", params={"system": CS_ICD10, "codeA": "J18"})
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1019"]


def test_a_coding_with_a_code_that_is_not_a_string_is_a_400(tx):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": CS_ICD10, "code": ["J18.9"]}}]}
    r = tx.post("/fhir/CodeSystem/$lookup", json=body, headers=FHIR_JSON)
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1019"]
    body["parameter"][0] = {"name": "codeableConcept", "valueCodeableConcept": {"coding": "J18.9"}}
    r = tx.post("/fhir/ValueSet/$validate-code", json=body, headers=FHIR_JSON, params={"url": VS_ICD10})
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1019"]
