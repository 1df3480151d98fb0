"""`benhan terminology load`: every source row becomes a concept, names keep their diacritics, and a
second load changes nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.versions import current_versions
from benhan.terminology import sources
from benhan.terminology.load import load
from tests.terminology.conftest import CS_ICD10, Loaded

# Rows of each packaged file (data/README.md), and the CodeSystem each becomes. ICD-10 systems also
# hold one grouping concept per WHO chapter (22), which the source files do not have as rows.
EXPECTED = [
    ("vn-icd10-cs-qd4469-2020", sources.ICD10_QD4469, 12_137, 22),
    ("vn-icd10-cs-tt06-2026", sources.ICD10_TT06, 15_738, 22),
    ("vn-province", sources.PROVINCES_2025, 34, 0),
    ("vn-ward", sources.WARDS_2025, 3_321, 0),
    ("vn-ethnicity", sources.ETHNICITY_1979, 54, 0),
]


def _cs(loaded: Loaded, res_id: str) -> dict:
    return Repository(loaded.store, Actor.system("test")).read("CodeSystem", res_id).json()


def _concept(cs: dict, code: str) -> dict:
    return next(c for c in cs["concept"] if c["code"] == code)


def _prop(concept: dict, code: str):  # noqa: ANN202
    return next((next(v for k, v in p.items() if k.startswith("value"))
                 for p in concept.get("property", []) if p["code"] == code), None)


@pytest.mark.parametrize(("res_id", "source", "rows", "chapters"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_every_source_row_is_a_concept(loaded: Loaded, res_id, source, rows, chapters):  # noqa: ANN001
    assert len(sources.rows(source)) == rows
    cs = _cs(loaded, res_id)
    assert cs["count"] == len(cs["concept"]) == rows + chapters
    assert {c["code"] for c in cs["concept"]} >= {r["code"] for r in sources.rows(source)}


def test_the_legacy_list_gives_63_provinces_696_districts_and_10051_wards(loaded: Loaded):
    assert [_cs(loaded, i)["count"] for i in ("vn-province-legacy", "vn-district-cs", "vn-ward-legacy")] == \
        [63, 696, 10_051]


def test_icd10_names_keep_their_diacritics_and_the_corrected_i10(loaded: Loaded):
    tt06, qd4469 = _cs(loaded, "vn-icd10-cs-tt06-2026"), _cs(loaded, "vn-icd10-cs-qd4469-2020")
    assert _concept(tt06, "J18.9")["display"] == "Viêm phổi, không xác định"
    assert _concept(qd4469, "J18.9")["display"] == "Viêm phổi, không đặc hiệu"
    assert _concept(qd4469, "J18.9")["designation"] == [{"language": "en", "value": "Pneumonia, unspecified"}]
    i10 = _concept(qd4469, "I10")
    assert i10["display"] == "Bệnh tăng huyết áp vô căn (nguyên phát)"
    assert i10["designation"][0]["value"] == "Essential (primary) hypertension"
    assert _concept(tt06, "E11")["display"] == "Bệnh đái tháo đường típ 2"
    assert _concept(qd4469, "E11")["display"] == "Bệnh đái tháo đường không phụ thuộc insuline"


def test_icd10_concepts_carry_chapter_parent_and_the_source_flags(loaded: Loaded):
    tt06, qd4469 = _cs(loaded, "vn-icd10-cs-tt06-2026"), _cs(loaded, "vn-icd10-cs-qd4469-2020")
    assert (_prop(_concept(tt06, "J18.9"), "chapter"), _prop(_concept(tt06, "J18.9"), "parent")) == ("X", "J18")
    assert _prop(_concept(tt06, "J18"), "parent") == "X"
    assert _prop(_concept(tt06, "B18.00"), "parent") == "B18.0"
    assert _prop(_concept(tt06, "X"), "notSelectable") is True
    assert _concept(tt06, "X")["display"] == "Chương X (J00–J99)"
    assert _prop(_concept(tt06, "A00"), "use_more_specific_code") is True
    assert _prop(_concept(tt06, "A17"), "name-source") == "QD4469"
    assert _prop(_concept(qd4469, "A17"), "dagger-asterisk") == "†"
    assert "display" not in _concept(tt06, "M49.06")     # a † code the name source left out


def test_both_icd10_lists_are_versions_of_the_vn_core_code_system(loaded: Loaded):
    tt06, qd4469 = _cs(loaded, "vn-icd10-cs-tt06-2026"), _cs(loaded, "vn-icd10-cs-qd4469-2020")
    assert tt06["url"] == qd4469["url"] == CS_ICD10
    assert (tt06["version"], tt06["status"], qd4469["version"], qd4469["status"]) == \
        ("tt06-2026", "active", "qd4469-2020", "retired")
    assert "Unofficial extraction" in tt06["description"] and tt06["publisher"].startswith("Bộ Y tế")


def test_administrative_units_and_ethnic_groups(loaded: Loaded):
    assert _concept(_cs(loaded, "vn-province"), "01")["display"] == "Thành phố Hà Nội"
    ward = _concept(_cs(loaded, "vn-ward"), "00004")
    assert (ward["display"], _prop(ward, "province")) == ("Phường Ba Đình", "01")
    old = _concept(_cs(loaded, "vn-ward-legacy"), "00004")
    assert (old["display"], _prop(old, "district"), _prop(old, "deprecated")) == \
        ("Phường Trúc Bạch", "001", "2025-07-01")
    assert _prop(_concept(_cs(loaded, "vn-province-legacy"), "02"), "province") == "08"   # Hà Giang → Tuyên Quang
    assert _prop(_concept(_cs(loaded, "vn-district-cs"), "001"), "province") == "01"
    ethnicity = _cs(loaded, "vn-ethnicity")
    assert _concept(ethnicity, "01")["display"] == "Kinh"
    assert _concept(ethnicity, "08")["designation"] == [{"language": "vi", "value": "Hmông"}]


def test_the_bhyt_card_types_are_marked_as_a_fragment(loaded: Loaded):
    cs = _cs(loaded, "vn-bhyt-card-type-cs")
    assert cs["content"] == "fragment" and len(cs["concept"]) == 15


def test_the_first_load_writes_every_resource_once(loaded: Loaded):
    assert {r.outcome for r in loaded.results} == {"created"}
    assert len(loaded.results) == 2 * 14    # fourteen code systems, each with its value set


def test_loading_again_changes_nothing(loaded: Loaded):
    before = current_versions(loaded.store, ("CodeSystem", "ValueSet"))
    again = load(loaded.store)
    assert {r.outcome for r in again} == {"unchanged"}
    assert current_versions(loaded.store, ("CodeSystem", "ValueSet")) == before


def test_the_cli_loads_and_a_second_run_writes_nothing(tmp_path: Path):
    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "benhan.cli", "terminology", "load", "--data-dir",
                               str(tmp_path), "--only", "ethnicity", "--only", "provinces"],
                              capture_output=True, text=True, timeout=120)
    first, second = run(), run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "4 resources: 4 written, 0 unchanged"
    assert second.stdout.splitlines()[-1] == "4 resources: 0 written, 4 unchanged"


def test_the_cli_refuses_an_unknown_list_in_one_line(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "benhan.cli", "terminology", "load", "--data-dir", str(tmp_path),
                           "--only", "snomed"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "BENHAN-1019" in done.stderr
