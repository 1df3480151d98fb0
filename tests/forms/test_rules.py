"""The rules every form definition keeps, checked over all of them:

- no literal clinical or administrative value in a form definition (issue 14: "Tự đến", "Khoa điều
  trị", "Giám đốc bệnh viện" … whatever happened): option words and signers' titles come from the
  vocabulary file or the settings, values from sources;
- keys unique within a form (a golden test finds each value by its key);
- documents given to the patient carry no abbreviation, in their labels either; on them a listed
  abbreviation is printed in full words and an unlisted one is reported (TT 32 Đ52 k2 c);
- the national prescription code: 14 characters, the facility's code, the kind, never repeated;
- a page never holds only a signature, however long the prescription."""
from __future__ import annotations

import ast
import random
import re
from pathlib import Path

import pytest

from benhan.auth.actor import Actor
from benhan.documents import prescription_code
from benhan.documents.forms import FORMS, abbreviations, vocabulary
from benhan.documents.layout.model import Signatures, Ticks
from benhan.store.repository import Repository
from tests.forms import seed
from tests.forms.conftest import render, text_in

FORM_MODULES = sorted((Path(__file__).resolve().parents[2] / "benhan" / "documents" / "forms").glob("*.py"))
DEFINITIONS = [p for p in FORM_MODULES
               if p.stem in ("outpatient", "prescription", "referral", "followup", "sick_leave", "blocks",
                             "specialty_inpatient", "specialty_sources")]
# Values a form must never carry as text: what the old 01/BV1 defaulted, titles that depend on the
# facility, route and result words, and every option word and title of the vocabulary file.
FORBIDDEN = ["Tự đến", "Khoa điều trị", "Giám đốc", "Trạm trưởng", "Thủ trưởng", "Cấp cứu", "Khỏi", "Tử vong",
             "Nam", "Nữ", "BHYT giá trị", *vocabulary.all_words()]
ICD = re.compile(r"\b[A-Z]\d\d(\.\d+)?\b")


def _strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module, docstrings left out (they explain, they do not print)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_the_form_definitions_hold_no_literal_clinical_or_administrative_value():
    assert {p.stem for p in DEFINITIONS} == {"outpatient", "prescription", "referral", "followup", "sick_leave",
                                             "blocks", "specialty_inpatient", "specialty_sources"}
    found = []
    for path in DEFINITIONS:
        for line, text in _strings(path):
            # A label may contain an option word as part of itself ("Giới tính"); a value is a whole string.
            found += [(path.name, line, text) for word in FORBIDDEN if text.strip() == word]
            found += [(path.name, line, text) for _ in ICD.findall(text)]
            if re.search(r"\b(Giám đốc|Trạm trưởng|Tự đến|Khoa điều trị)\b", text):
                found.append((path.name, line, text))
    assert found == []


def test_the_check_finds_a_literal_when_there_is_one(tmp_path):
    # The check itself can fail: a definition that writes the route in gets caught.
    bad = tmp_path / "bad.py"
    bad.write_text('X = Field("Nơi giới thiệu", lambda d: "Tự đến")\nY = "J18.9"\n', encoding="utf-8")
    texts = [t for _, t in _strings(bad)]
    assert "Tự đến" in texts and any(ICD.findall(t) for t in texts)


@pytest.mark.parametrize("key", sorted(FORMS))
def test_keys_are_unique_and_every_signature_has_its_own(key):
    form = FORMS[key]
    names = [f.name for f in form.fields()]
    names += [s.key for el in (*form.body, *form.closing) if isinstance(el, Signatures) for s in el.items]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


@pytest.mark.parametrize("key", [k for k, f in sorted(FORMS.items()) if f.given_to_patient])
def test_a_document_given_to_the_patient_has_no_abbreviation_in_its_labels(key):
    form = FORMS[key]
    words = [w for f in form.fields() for w in re.findall(r"\w+", f.label)]
    words += [w for f in form.fields() if isinstance(f, Ticks) for _, t in vocabulary.options(f.options)
              for w in re.findall(r"\w+", t)]
    assert [w for w in words if abbreviations.is_abbreviation(w)] == []


def test_listed_abbreviations_are_written_out_on_patient_papers_and_unlisted_ones_reported(world, tmp_path):
    store, ids = world
    listed = tmp_path / "viet-tat.toml"
    listed.write_text('"THA" = "tăng huyết áp"\n', encoding="utf-8")
    repo = Repository(store, Actor.system())
    sr = next(m.json() for m in repo.search_type("ServiceRequest", [("encounter", f"Encounter/{ids['encounter']}")]).matches)
    sr["extension"] = [e for e in sr["extension"] if not e["url"].endswith("treatment-direction")] + [
        {"url": "https://benhan.vn/fhir/StructureDefinition/referral-treatment-direction",
         "valueString": "Kiểm soát THA, theo dõi NMCT"}]
    repo.update("ServiceRequest", sr["id"], sr)
    settings = {"form_abbreviations_file": str(listed)}
    slip = render(world, "referral", settings)
    direction = text_in(slip.pdf, slip.rendered.regions["direction"])
    assert "tăng huyết áp" in direction and "THA" not in direction.split()
    assert "NMCT" in direction and slip.warnings == ["direction: “NMCT”"]
    assert "không được viết tắt" in slip.message
    # Not a paper for the patient: the listed abbreviation stays as written, the unlisted one is reported.
    record = abbreviations.Checker(abbreviations.allowed(listed), given_to_patient=False)
    assert record("x", "THA độ 2, NMCT cũ") == "THA độ 2, NMCT cũ" and record.warnings == ["x: “NMCT”"]
    # Names in capitals, codes, Roman numerals and units are not abbreviations.
    assert not any(abbreviations.is_abbreviation(w) for w in ("J18", "II", "mmHg", "Ông", "X"))


def test_the_national_prescription_code():
    rng = random.Random(7)
    seen: set[str] = set()
    for kind in "NHCT":
        for _ in range(50):
            code = prescription_code.generate("45123", kind, taken=seen.__contains__,
                                              choice=lambda s: rng.choice(s))
            assert len(code) == 14 and code.startswith("45123") and code[12] == "-" and code[-1] == kind
            assert prescription_code.valid(code) and prescription_code.kind_of(code) == kind
            assert re.fullmatch(r"[0-9a-z]{7}", code[5:12]) and code not in seen
            seen.add(code)
    # A code already used at the facility is never handed out again.
    first = iter(["a"] * 7 + ["b"] * 7)
    assert prescription_code.generate("45123", "C", taken=lambda c: c == "45123aaaaaaa-C",
                                      choice=lambda s: next(first)) == "45123bbbbbbb-C"
    for bad in ("4512", "451234", "45 12"):
        with pytest.raises(prescription_code.CodeError):
            prescription_code.generate(bad)
    with pytest.raises(prescription_code.CodeError):
        prescription_code.generate("45123", "X")
    assert not prescription_code.valid("45123ABCDEFG-C") and not prescription_code.valid("45123abcdefg-Z")


def test_no_page_holds_only_the_signature_however_many_drugs(world):
    store, ids = world
    repo = Repository(store, Actor.system())
    pages_seen = set()
    for n in range(1, 22):
        repo.create("MedicationRequest", {
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": f"Thuốc thử số {n}"}, "subject": {"reference": f"Patient/{ids['patient']}"},
            "encounter": {"reference": f"Encounter/{ids['encounter']}"}, "authoredOn": f"2026-12-18T15:{30 + n:02d}:00+07:00",
            "dosageInstruction": [{"text": "Uống 1 viên mỗi sáng sau ăn, theo dõi mạch và huyết áp"}],
            "dispenseRequest": {"quantity": {"value": n, "unit": "viên"}}})
        p = render(world, "prescription")
        pages_seen.add(p.rendered.pages)
        by_page: dict[int, set[str]] = {}
        for key, r in p.rendered.regions.items():
            by_page.setdefault(r.page, set()).add(key)
        last = by_page[max(by_page)]
        assert last - {"date-line", "prescriber", "prescriber.title"}, (n, last)
        assert p.rendered.regions["date-line"].page == p.rendered.regions["prescriber"].page
    assert max(pages_seen) >= 2              # the drugs did run onto another sheet


def test_a_visit_with_almost_nothing_recorded_prints_every_form_with_dotted_lines(store):  # noqa: ANN001
    # A bare visit (no period, no name, a year-only birth date, a drug line with a decimal quantity and
    # no unit, a follow-up with no date): every form still prints, the empty fields as dotted lines.
    from benhan.clinical.printouts import forms as printouts
    from benhan.documents.forms import printing
    repo = Repository(store, Actor.system())
    pid = repo.create("Patient", {"resourceType": "Patient", "birthDate": "1990"}).res_id
    eid = repo.create("Encounter", {"resourceType": "Encounter", "status": "in-progress",
                                    "class": {"code": "AMB"}, "subject": {"reference": f"Patient/{pid}"}}).res_id
    repo.create("MedicationRequest", {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                                      "subject": {"reference": f"Patient/{pid}"},
                                      "encounter": {"reference": f"Encounter/{eid}"},
                                      "medicationCodeableConcept": {"text": "Siro ho"},
                                      "dispenseRequest": {"quantity": {"value": 2.5}}})
    repo.create("Appointment", {"resourceType": "Appointment", "status": "booked",
                                "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"}],
                                "supportingInformation": [{"reference": f"Encounter/{eid}"}]})
    ctx = printouts.gather(repo, eid, seed.TODAY)
    for key in FORMS:
        p = printing.print_form(repo, ctx, key, seed.DOCTOR, seed.PRINTED, "http://benhan.test")
        assert p.pdf.startswith(b"%PDF") and p.rendered.pages >= 1, key
        dotted = [k for k, v in p.rendered.values.items() if not v]
        assert dotted and set(text_in(p.pdf, p.rendered.regions["name"]).replace(" ", "")) == {"."}, key
    drugs = printing.print_form(repo, ctx, "prescription", seed.DOCTOR, seed.PRINTED, "http://b").rendered.values
    assert "2,5" in drugs["drugs"] and "Siro ho" in drugs["drugs"]


def test_15bv1_referrer_comes_from_what_was_recorded_never_a_default():
    """Item 13 "Nơi giới thiệu": the clinician's recorded referrer first, then the desk's BHYT route,
    then a client's HL7 admitSource; nothing recorded ticks nothing. The department is the current
    stay after a transfer."""
    from types import SimpleNamespace

    from benhan.clinical import admission, transfers, visits
    from benhan.documents.forms import sources

    def ticked(encounter: dict, stays: list | None = None) -> str:
        return sources.referred_by(SimpleNamespace(ctx=SimpleNamespace(encounter=encounter, stays=stays or [])))

    recorded = {"hospitalization": {"extension": [{"url": admission.SOURCE_EXT, "valueCoding": {
        "system": admission.SOURCE_SYSTEM, "code": "tu-den"}}], "admitSource": {"coding": [{"code": "gp"}]}}}
    assert ticked(recorded) == "tu-den"                                   # recorded beats the HL7 code
    assert ticked({"extension": [{"url": visits.BHYT_ROUTE_EXT, "valueCode": "chuyen-tuyen"}]}) == "y-te"
    assert ticked({"hospitalization": {"admitSource": {"coding": [{"code": "gp"}]}}}) == "y-te"
    assert ticked({}) == "" and ticked({"extension": [{"url": visits.BHYT_ROUTE_EXT, "valueCode": "dang-ky"}]}) == ""
    stays = [transfers.Stay("a", "Khoa Nội", "2026-12-01", "2026-12-03", 2),
             transfers.Stay("b", "Khoa Ngoại", "2026-12-03", "", None)]
    now_in = sources.department(SimpleNamespace(ctx=SimpleNamespace(
        encounter={"location": [{"location": {"display": "Khoa Nội"}}]}, stays=stays)))
    assert now_in == "Khoa Ngoại"
