"""ValueSet/$expand as a type-ahead: accent- and case-insensitive word-prefix filters, the code
typed in, English names on request, paging, and clear refusals."""
from __future__ import annotations

from benhan.fhir.text import fold
from tests.factories import FHIR_JSON, issue_codes
from tests.terminology.conftest import CS_ICD10, codes, expand


def _folded_words(display: str) -> list[str]:
    return fold(display).replace(",", " ").replace("(", " ").split()


def test_viem_phoi_finds_pneumonia_at_the_start_and_in_the_middle_of_a_name(tx):
    found = expand(tx, filter="viem phoi", count="1000")
    displays = {c["code"]: c["display"] for c in found["contains"]}
    assert displays["J18.9"] == "Viêm phổi, không xác định"
    assert displays["J85.1"] == "Áp xe phổi kèm viêm phổi"
    for display in displays.values():
        ws = _folded_words(display)
        assert any(w.startswith("viem") for w in ws) and any(w.startswith("phoi") for w in ws)
    assert found["total"] == len(found["contains"])


def test_the_filter_is_the_same_with_or_without_accents_and_in_any_case(tx):
    plain = codes(expand(tx, filter="viem phoi", count="1000"))
    assert codes(expand(tx, filter="Viêm Phổi", count="1000")) == plain
    assert codes(expand(tx, filter="VIEM PHÔI", count="1000")) == plain


def test_every_typed_word_is_a_prefix_not_a_substring(tx):
    found = expand(tx, filter="vie pho", count="1000")
    assert "J18.9" in codes(found)
    assert expand(tx, filter="iem hoi")["total"] == 0     # inside words: no match


def test_names_that_start_with_the_words_come_first(tx):
    first = expand(tx, filter="dai thao duong tip 2", count="3")["contains"][0]
    assert (first["code"], first["display"]) == ("E11", "Bệnh đái tháo đường típ 2")
    top = expand(tx, filter="viem phoi", count="5")["contains"]
    assert all(fold(c["display"]).startswith("viem phoi") for c in top)


def test_a_code_typed_in_is_found_with_or_without_its_dot(tx):
    assert codes(expand(tx, filter="J18.9")) == ["J18.9"]
    assert codes(expand(tx, filter="j189")) == ["J18.9"]
    assert codes(expand(tx, filter="J18", count="3")) == ["J18", "J18.0", "J18.1"]


def test_english_names_with_display_language_en(tx):
    found = expand(tx, filter="pneumonia unspecified", displayLanguage="en", count="50")
    by_code = {c["code"]: c["display"] for c in found["contains"]}
    assert by_code["J18.9"] == "Pneumonia, unspecified"
    assert expand(tx, filter="pneumonia unspecified")["total"] == 0      # Vietnamese is the default


def test_the_older_list_answers_when_its_version_is_asked_for(tx):
    found = expand(tx, filter="J18.9", valueSetVersion="qd4469-2020")
    assert found["contains"][0]["display"] == "Viêm phổi, không đặc hiệu"
    assert found["contains"][0]["version"] == "qd4469-2020"
    assert {"name": "used-codesystem", "valueUri": f"{CS_ICD10}|qd4469-2020"} in found["parameter"]


def test_without_a_version_the_current_list_tt06_answers(tx):
    found = expand(tx, filter="E11", count="1")
    assert found["contains"][0] == {"system": CS_ICD10, "version": "tt06-2026", "code": "E11",
                                    "display": "Bệnh đái tháo đường típ 2"}


def test_pages_follow_each_other_with_count_and_offset(tx):
    whole = codes(expand(tx, filter="viem", count="60"))
    pages = [expand(tx, filter="viem", count="20", offset=str(o)) for o in (0, 20, 40)]
    assert sum((codes(p) for p in pages), []) == whole
    assert pages[1]["offset"] == 20 and pages[1]["total"] == pages[0]["total"] > 60


def test_count_zero_gives_the_total_only(tx):
    found = expand(tx, filter="viem phoi", count="0")
    assert found["total"] > 50 and "contains" not in found


def test_chapters_are_grouping_concepts_and_not_in_the_value_set(tx):
    found = expand(tx, count="5")
    assert codes(found) == ["A00", "A00.0", "A00.1", "A00.9", "A01"]
    assert found["total"] == 15_738


def test_a_whole_icd10_expansion_must_be_paged(tx):
    r = tx.get("/fhir/ValueSet/$expand", params={"url": "https://benhan.vn/fhir/ValueSet/vn-icd10"})
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1021"]
    assert "count" in r.json()["issue"][0]["diagnostics"]


def test_small_value_sets_expand_whole_by_id(tx):
    found = tx.get("/fhir/ValueSet/vn-province/$expand").json()["expansion"]
    assert found["total"] == 34 and found["contains"][0]["display"] == "Thành phố Hà Nội"


def test_provinces_wards_and_ethnic_groups_are_found_without_accents(tx):
    assert codes(tx.get("/fhir/ValueSet/vn-province/$expand", params={"filter": "ha noi"}).json()["expansion"]) == ["01"]
    wards = tx.get("/fhir/ValueSet/vn-ward/$expand", params={"filter": "phuong ba dinh"}).json()["expansion"]
    assert codes(wards) == ["00004"]
    hmong = tx.get("/fhir/ValueSet/vn-ethnicity/$expand", params={"filter": "hmong"}).json()["expansion"]
    assert [(c["code"], c["display"]) for c in hmong["contains"]] == [("08", "H'Mông")]


def test_the_operation_takes_a_parameters_resource_by_post(tx):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": "https://benhan.vn/fhir/ValueSet/vn-icd10"},
        {"name": "filter", "valueString": "viêm phổi"}, {"name": "count", "valueInteger": 2}]}
    r = tx.post("/fhir/ValueSet/$expand", json=body, headers=FHIR_JSON)
    assert r.status_code == 200 and len(r.json()["expansion"]["contains"]) == 2


def test_an_unknown_value_set_is_a_404_outcome(tx):
    r = tx.get("/fhir/ValueSet/$expand", params={"url": "https://example.org/ValueSet/nope"})
    assert r.status_code == 404 and issue_codes(r.json()) == ["BENHAN-2009"]
    assert tx.get("/fhir/ValueSet/nope/$expand").status_code == 404


def test_bad_parameters_are_400_outcomes_not_500s(tx):
    for params, code in [({"filter": "x"}, "BENHAN-1019"),
                         ({"url": "https://benhan.vn/fhir/ValueSet/vn-icd10", "count": "-1"}, "BENHAN-1019"),
                         ({"url": "https://benhan.vn/fhir/ValueSet/vn-icd10", "count": "²"}, "BENHAN-1019"),
                         ({"url": "https://benhan.vn/fhir/ValueSet/vn-icd10", "count": "5000"}, "BENHAN-1019"),
                         ({"url": "https://benhan.vn/fhir/ValueSet/vn-icd10", "colour": "red"}, "BENHAN-1020")]:
        r = tx.get("/fhir/ValueSet/$expand", params=params)
        assert r.status_code == 400 and issue_codes(r.json()) == [code], params
    r = tx.post("/fhir/ValueSet/$expand", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1019"]


def test_a_filter_of_punctuation_only_matches_nothing_rather_than_failing(tx):
    assert expand(tx, filter="%%%", count="5")["total"] == 0
