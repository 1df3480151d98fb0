"""The synthetic Vietnamese data: identifiers that pass benhan's own validators, resources that pass
the server's validation, real ICD-10 codes and addresses, and the same data for the same seed."""
from __future__ import annotations

from datetime import date

import pytest

from benhan.clinical.synth.catalog import ICD10, icd10_names
from benhan.clinical.synth.generator import TODAY, data_set, patient_record
from benhan.clinical.synth.people import make_person, wards_by_province
from benhan.fhir.validation import default_validator
from benhan.terminology import sources
from benhan.vn.bhyt import bhyt_problems
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, cccd_problems
from benhan.vn.phone import phone_problems

SEED = 11


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    facs, fac_resources = data_set(SEED, 150, 2)
    return fac_resources + [r for n in range(150) for r in patient_record(SEED, n, facs[n % 2])]


def _patients(resources: list[dict]) -> list[dict]:
    return [r for r in resources if r["resourceType"] == "Patient"]


def _identifier(patient: dict, system: str) -> str | None:
    return next((i["value"] for i in patient["identifier"] if i["system"] == system), None)


def test_every_generated_resource_passes_the_servers_validation(sample):  # noqa: ANN001
    validator = default_validator()
    failures = [(r["resourceType"], [i.message for i in validator.validate(r) if i.severity == "error"])
                for r in sample]
    assert [f for f in failures if f[1]] == []
    assert {r["resourceType"] for r in sample} >= {
        "Organization", "Location", "Practitioner", "Patient", "Encounter", "Observation", "Condition",
        "DiagnosticReport", "MedicationRequest"}


def test_cccd_bhyt_and_phone_numbers_pass_the_validators():
    import random
    for n in range(2000):
        p = make_person(random.Random(n), n, TODAY)
        assert cccd_problems(p.cccd, p.birth, p.female, today=TODAY) == [], p
        assert p.bhyt is None or bhyt_problems(p.bhyt) == [], p
        assert phone_problems(p.phone, mobile_only=True) == [], p


def test_patients_carry_valid_identifiers_and_a_real_commune(sample):  # noqa: ANN001
    wards = {name for ws in wards_by_province().values() for _, name, _ in ws}
    cccds = []
    for p in _patients(sample):
        cccd = _identifier(p, CCCD_SYSTEM)
        cccds.append(cccd)
        birth = date.fromisoformat(p["birthDate"])
        assert cccd_problems(cccd, birth, p["gender"] == "female", today=TODAY) == []
        bhyt = _identifier(p, BHYT_SYSTEM)
        assert bhyt is None or bhyt_problems(bhyt) == []
        assert p["address"][0]["city"] in wards
        assert any(ch in p["name"][0]["text"] for ch in "ăâđêôơưàáạảãằắặẳẵầấậẩẫèéẹẻẽềếệểễìíịỉĩòóọỏõồốộổỗờớợởỡùúụủũừứựửữỳýỵỷỹ"
                   "ĂÂĐÊÔƠƯÀÁẠẢÃÈÉÌÍÒÓÙÚỲÝ") or p["name"][0]["text"].isascii()
    assert len(set(cccds)) == len(cccds)


def test_names_have_diacritics_and_differ_by_region():
    import random
    from benhan.clinical.synth.names import NORTH, SOUTH, person_name
    north = [person_name(random.Random(i), NORTH, "male", 1970)[0] for i in range(3000)]
    south = [person_name(random.Random(i), SOUTH, "male", 1970)[0] for i in range(3000)]
    assert north.count("Nguyễn") > 800 and south.count("Nguyễn") > 800
    assert north.count("Hoàng") > 3 * north.count("Huỳnh") and south.count("Huỳnh") > 3 * south.count("Hoàng")


def test_every_diagnosis_is_a_code_of_the_loaded_icd10(sample):  # noqa: ANN001
    tt06 = {r["code"]: r["name_vi"] for r in sources.rows(sources.ICD10_TT06)}
    assert icd10_names()                                  # every code of the catalogue exists (else KeyError)
    codings = [c for r in sample if r["resourceType"] == "Condition" for c in r["code"]["coding"]]
    assert codings and all(c["system"] == ICD10 and tt06[c["code"]] == c["display"] for c in codings)


def test_lab_results_have_units_ranges_and_flags(sample):  # noqa: ANN001
    labs = [r for r in sample if r["resourceType"] == "Observation"
            and r["category"][0]["coding"][0]["code"] == "laboratory"]
    assert len(labs) > 100
    for o in labs:
        q, rr, flag = o["valueQuantity"], o["referenceRange"][0], o["interpretation"][0]["coding"][0]["code"]
        assert q["system"] == "http://unitsofmeasure.org" and q["code"]
        low, high = rr.get("low", {}).get("value"), rr.get("high", {}).get("value")
        expected = "L" if low is not None and q["value"] < low else "H" if high is not None and q["value"] > high else "N"
        assert flag == expected
    assert {o["interpretation"][0]["coding"][0]["code"] for o in labs} == {"L", "N", "H"}


def test_blood_pressure_is_a_panel_with_systolic_and_diastolic_components(sample):  # noqa: ANN001
    bp = next(r for r in sample if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]


def test_inpatient_stays_have_a_progress_note_a_day():
    facs, _ = data_set(SEED, 1, 1)
    for n in range(400):
        record = patient_record(SEED, n, facs[0])
        stays = [r for r in record if r["resourceType"] == "Encounter" and r["class"]["code"] == "IMP"]
        if stays:
            notes = [r for r in record if r["resourceType"] == "ClinicalImpression"
                     and r["encounter"]["reference"] == f"Encounter/{stays[0]['id']}"]
            assert len(notes) == stays[0]["length"]["value"]
            return
    pytest.fail("no inpatient stay among 400 patients")


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    facs, _ = data_set(SEED, 1, 1)
    assert patient_record(SEED, 5, facs[0]) == patient_record(SEED, 5, facs[0])
    assert data_set(SEED, 1, 1) == data_set(SEED, 1, 1)
    other_facs, _ = data_set(SEED + 1, 1, 1)
    assert patient_record(SEED + 1, 5, other_facs[0]) != patient_record(SEED, 5, facs[0])
    assert patient_record(SEED, 6, facs[0]) != patient_record(SEED, 5, facs[0])
