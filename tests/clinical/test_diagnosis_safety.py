"""Recording a diagnosis safely (issue 12 items 2 and 7), on real stores (SQLite and PostgreSQL) with
the TT 06/2026 ICD-10 list: nothing saved without a chosen code; the codes this facility uses
rank first; a code for the other sex or one not to be the main diagnosis warns until overridden
with a reason; a saved code is corrected as a new version (the old code stays in the history); a
cancelled diagnosis is neither the main disease nor a comorbidity anywhere it is listed."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benhan.auth.actor import Actor
from benhan.clinical import corrections, diagnoses, dx_ranking, registration, visits
from benhan.clinical.common import FormInvalid
from benhan.clinical.demo import facility_bundle
from benhan.clinical.overrides import OVERRIDE_REASON
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository
from benhan.terminology.load import load

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")
DAY = date(2026, 11, 26)


def _patient(system: Repository, fac, gender: str, cccd: str, name: str) -> tuple[str, str]:  # noqa: ANN001
    form = registration.PatientForm.from_mapping({"cccd": cccd, "name": name, "birth_date": "01/01/1990",
                                                  "gender": gender})
    pid = registration.register(system, form, DOCTOR, DAY, fac.organization_id).patient_id
    eid = visits.open_visit(system, DOCTOR, pid, "kham-benh", visits.locations(system)[0][0], "Khám", fac)
    return pid, eid


@pytest.fixture
def clinic(store):  # noqa: ANN001, ANN201
    """ICD-10 TT 06, the demo facility, a man and a woman each with an open visit."""
    load(store, ["icd10-tt06"])
    system = Repository(store, Actor.system("test"))
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    fac = visits.facility(system)
    man = _patient(system, fac, "male", "001090123456", "Nguyễn Văn An")
    woman = _patient(system, fac, "female", "001190123457", "Trần Thị Bình")
    return Repository(store, DOCTOR), man, woman


def _add(repo: Repository, who: tuple[str, str], code: str, rank: str = "main", **confirm: str) -> str:
    pid, eid = who
    return diagnoses.add(repo, DOCTOR, repo.read("Encounter", eid).json(), code, rank, "AD",
                         patient=repo.read("Patient", pid).json(), confirm=confirm)


def _warned(repo: Repository, who: tuple[str, str], code: str, rank: str = "main") -> list[str]:
    try:
        _add(repo, who, code, rank)
    except FormInvalid as exc:
        return [k for k, _ in exc.warnings]
    return []


def test_nothing_is_saved_without_a_chosen_code(clinic):  # noqa: ANN001
    repo, man, _ = clinic
    for chosen in ("", "   "):
        with pytest.raises(FormInvalid) as err:
            _add(repo, man, chosen)
        assert err.value.errors["dx_code"][0] == "ui.err.dx_required"
    assert repo.read("Encounter", man[1]).json().get("diagnosis") is None


def test_sex_specific_and_not_for_main_codes_warn_until_overridden_with_a_reason(clinic):  # noqa: ANN001
    repo, man, woman = clinic
    assert _warned(repo, man, "O80.0") == ["ui.warn.dx_female_only"]       # normal delivery, for a man
    assert _warned(repo, man, "N76.0", "secondary") == ["ui.warn.dx_female_only"]
    assert _warned(repo, woman, "C61") == ["ui.warn.dx_male_only"]          # prostate cancer, for a woman
    assert _warned(repo, woman, "G01") == ["ui.warn.dx_not_primary"]        # an asterisk code as the main one
    assert _warned(repo, woman, "G01", "secondary") == []
    assert _warned(repo, woman, "I15") == ["ui.warn.dx_primary_discouraged"]
    assert _warned(repo, woman, "O80.0") == []
    # Ticked without a reason: still refused; with both: saved, the override kept in the Condition.
    with pytest.raises(FormInvalid) as err:
        _add(repo, man, "O80.0", confirm_warnings="yes")
    assert set(err.value.errors) == {"override_reason"}
    cid = _add(repo, man, "N76.0", "secondary", confirm_warnings="yes", override_reason="ghi nhầm người bệnh, sẽ hủy")
    condition = repo.read("Condition", cid).json()
    assert "ghi nhầm người bệnh" in condition["note"][-1]["text"]
    assert {"url": OVERRIDE_REASON, "valueString": "ghi nhầm người bệnh, sẽ hủy"} in condition["extension"]


def test_the_codes_this_facility_uses_rank_first_and_the_count_follows_new_diagnoses(clinic):  # noqa: ANN001
    repo, man, woman = clinic
    assert dx_ranking.rank(repo, "viem phoi")[0].code == "J18.9"           # the national prior
    _add(repo, man, "J15.9")
    _add(repo, woman, "J15.9")
    assert dx_ranking.rank(repo, "viem phoi")[0].code == "J15.9"           # this facility's own habit
    assert dx_ranking.facility_usage(repo.store)["J15.9"] == 2


def test_a_saved_code_is_corrected_as_a_new_version_keeping_the_old_one(clinic):  # noqa: ANN001
    repo, man, _ = clinic
    cid = _add(repo, man, "J12")
    with pytest.raises(FormInvalid) as err:
        corrections.change(repo, DOCTOR, "Condition", cid, {"code": "X99.99", "note": ""}, "chọn nhầm mã")
    assert err.value.errors["code"][0] == "ui.err.dx_unknown"
    assert corrections.change(repo, DOCTOR, "Condition", cid, {"code": "j15", "note": ""}, "chọn nhầm mã") == 2
    versions = corrections.history(repo, "Condition", cid)
    assert [v.body["code"]["coding"][0]["code"] for v in versions] == ["J15", "J12"]
    assert versions[0].reason == "chọn nhầm mã"
    listed = diagnoses.listed(repo.read("Encounter", man[1]).json(), {cid: repo.read("Condition", cid).json()})
    assert [(d.code, d.kind) for d in listed] == [("J15", "main")]
    # A correction is no way around the checks: to a code for the other sex, the box must be ticked
    # (the correction's reason is the override's reason, kept in the new version).
    with pytest.raises(FormInvalid) as err:
        corrections.change(repo, DOCTOR, "Condition", cid, {"code": "O80.0", "note": ""}, "thử sửa sai")
    assert [k for k, _ in err.value.warnings] == ["ui.warn.dx_female_only"]
    assert set(err.value.errors) == {"confirm_warnings"}
    assert corrections.change(repo, DOCTOR, "Condition", cid, {"code": "O80.0", "note": "", "confirm_warnings": "yes"},
                              "thử sửa sai") == 3
    assert {"url": OVERRIDE_REASON, "valueString": "thử sửa sai"} in repo.read("Condition", cid).json()["extension"]


def test_a_cancelled_diagnosis_is_neither_main_nor_comorbidity(clinic):  # noqa: ANN001
    repo, man, _ = clinic
    wrong = _add(repo, man, "J12")                    # saved by accident as the main disease
    corrections.change(repo, DOCTOR, "Condition", wrong, None, "chọn nhầm")
    right = _add(repo, man, "J18.9")                  # the real one: the cancelled one is pushed to rank 2
    other = _add(repo, man, "I10", "secondary")
    encounter = repo.read("Encounter", man[1]).json()
    conditions = {c: repo.read("Condition", c).json() for c in (wrong, right, other)}
    items = diagnoses.listed(encounter, conditions)
    assert {d.code: d.kind for d in items} == {"J12": "cancelled", "J18.9": "main", "I10": "secondary"}
    assert diagnoses.text_of(items, "AD", True) == "Viêm phổi, không xác định (J18.9)"
    assert "J12" not in diagnoses.text_of(items, "AD", False)
    assert diagnoses.has_main(items, "AD") and not diagnoses.has_main(items, "DD")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ranks=st.lists(st.tuples(st.integers(1, 4), st.booleans()), min_size=1, max_size=6))
def test_no_cancelled_entry_is_ever_listed_as_a_diagnosis(ranks):  # noqa: ANN001
    """Any mix of ranks and cancellations: the printed main/comorbidity texts never hold a
    cancelled entry, and every live one is in exactly one of them."""
    encounter = {"diagnosis": [{"condition": {"reference": f"Condition/c{i}"}, "rank": rank,
                                "use": {"coding": [{"code": "AD"}]}} for i, (rank, _) in enumerate(ranks)]}
    conditions = {f"c{i}": {"code": {"coding": [{"code": f"X{i}", "display": f"d{i}"}]},
                            "verificationStatus": {"coding": [{"code": "entered-in-error" if gone else "confirmed"}]}}
                  for i, (_, gone) in enumerate(ranks)}
    items = diagnoses.listed(encounter, conditions)
    printed = diagnoses.text_of(items, "AD", True) + "; " + diagnoses.text_of(items, "AD", False)
    for i, (_, gone) in enumerate(ranks):
        assert (f"(X{i})" in printed) is not gone
