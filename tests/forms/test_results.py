"""The result sheets (PL XXIX), one per DiagnosticReport, from results entered through the app
(clinical.orders.place / enter_results; tests/forms/results_seed.py): the complete blood count on
17/BV2 with each test's result, unit, reference range and H/L flag in its row, the technician and the
validating doctor by full name, the specimen's and the result's times; the ultrasound on 11/BV2 with
the technique, description, conclusion and doctor. Each is a signable document ("labresult:<id>").
On SQLite and PostgreSQL; PDF and PNG kept."""
from __future__ import annotations

import io

import pdfplumber
import pytest

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms as printouts
from benhan.documents.composition import document_type
from benhan.documents.forms import printing
from benhan.store.repository import Repository
from benhan.terminology.labs import BY_CODE
from tests.forms import results_seed, seed
from tests.forms.conftest import keep, pages, text_in

V = seed.V


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    return repo, ids, printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=V["head-title"])


def _print(world, key: str) -> printing.Printed:  # noqa: ANN001
    repo, _, ctx = world
    return printing.print_form(repo, ctx, key, seed.DOCTOR, seed.PRINTED, "http://benhan.test")


def _row_words(pdf: bytes, region) -> list[list[str]]:  # noqa: ANN001
    """The table's rows as pdfplumber reads them: words grouped by their line."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        words = [w for w in doc.pages[region.page - 1].extract_words()
                 if region.holds((w["x0"] + w["x1"]) / 2, w["top"], w["bottom"])]
    lines: dict[int, list[dict]] = {}
    for w in words:
        lines.setdefault(round(w["top"]), []).append(w)
    return [[w["text"] for w in sorted(ws, key=lambda w: w["x0"])] for _, ws in sorted(lines.items())]


def test_the_blood_count_on_17_bv2_every_test_in_its_row(world):  # noqa: ANN001
    _, ids, _ = world
    p = _print(world, f"labresult:{ids['lab_report']}")
    keep("17-BV2-lab-result", p.pdf)
    text = pages(p.pdf)[0][2]
    assert "MS: 17/BV2" in text and "PHIẾU XÉT NGHIỆM HUYẾT HỌC" in text
    assert f"Người bệnh: {V['name']} — {V['ma-lk']}" in text
    regions = p.rendered.regions
    for key, value in {"name": V["name"].upper(), "age": "39", "gender": "Nữ", "address": V["address"],
                       "bhyt": V["bhyt"], "report-number": "XN-26-00417", "record-number": V["ma-lk"],
                       "requested": "Tổng phân tích tế bào máu ngoại vi", "requested-by": V["doctor"],
                       "specimen-at": "06:40 15/12/2026", "requested-at": "16:45 14/12/2026",
                       "reported-at": "09:05 15/12/2026",
                       "technician": results_seed.LAB_TECH, "technician.title": "Kỹ thuật viên xét nghiệm",
                       "validator": results_seed.VALIDATOR, "validator.title": "Bác sĩ duyệt kết quả",
                       "date-line": "Ngày 15 tháng 12 năm 2026"}.items():
        assert value in " ".join(text_in(p.pdf, regions[key]).split()), key
    assert V["dx-dd"][1] in " ".join(text_in(p.pdf, regions["diagnosis"]).split())
    rows = [" ".join(r) for r in _row_words(p.pdf, regions["results"])]
    # Each seeded test: its name, the result as entered, the range for a woman, the flag from the range.
    expected_flags = {"6690-2": "H", "789-8": "L", "718-7": "L", "777-3": "H"}
    for loinc, value in results_seed.CBC.items():
        test = BY_CODE[loinc]
        low, high = test.range_for(True)
        row = next((r for r in rows if r.startswith(test.name_vi.split()[0]) and f" {value} " in f" {r} "), None)
        assert row is not None, (test.name_vi, rows)
        assert row.endswith(expected_flags[loinc]), row
        assert f"{low:g}".replace(".", ",") in row and f"{high:g}".replace(".", ",") in row, row


def test_the_ultrasound_on_11_bv2_with_technique_description_conclusion(world):  # noqa: ANN001
    _, ids, _ = world
    p = _print(world, f"imagingresult:{ids['imaging_report']}")
    keep("11-BV2-imaging-result", p.pdf)
    text = pages(p.pdf)[0][2]
    assert "MS: 11/BV2" in text and "PHIẾU SIÊU ÂM" in text
    regions = p.rendered.regions
    for key, value in {"technique": results_seed.US["name"], "description": results_seed.US["description"],
                       "conclusion": results_seed.US["conclusion"], "doctor": results_seed.RADIOLOGIST,
                       "doctor.title": "Bác sĩ chuyên khoa", "reported-at": "10:20 16/12/2026",
                       "requested-by": V["doctor"], "requested-at": "08:30 16/12/2026",
                       "date-line": "Ngày 16 tháng 12 năm 2026"}.items():
        assert value in " ".join(text_in(p.pdf, regions[key]).split()), key


def test_a_report_entered_in_the_app_only_names_who_entered_it(world):  # noqa: ANN001
    """Without a laboratory system's additions: the technician is who entered the results; no
    validating doctor and no specimen time are made up (dotted lines)."""
    repo, ids, _ = world
    report = repo.read("DiagnosticReport", ids["lab_report"]).json()
    for k in ("resultsInterpreter", "effectiveDateTime"):
        report.pop(k, None)
    report["resultsInterpreter"] = [{"display": f"{results_seed.LAB_TECH} (ktvtrang)"}]
    report["effectiveDateTime"] = report["issued"]
    repo.update("DiagnosticReport", ids["lab_report"], report)
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=V["head-title"])
    p = printing.print_form(repo, ctx, f"labresult:{ids['lab_report']}", seed.DOCTOR, seed.PRINTED, "http://x")
    regions = p.rendered.regions
    assert text_in(p.pdf, regions["technician"]) == results_seed.LAB_TECH
    assert set(text_in(p.pdf, regions["validator"]).replace(" ", "")) == {"."}
    assert set(text_in(p.pdf, regions["specimen-at"]).replace(" ", "")) == {"."}


def test_a_report_of_another_kind_or_visit_is_not_printed(world):  # noqa: ANN001
    _, ids, _ = world
    with pytest.raises(errors.NotFound):
        _print(world, f"labresult:{ids['imaging_report']}")
    with pytest.raises(errors.NotFound):
        _print(world, "imagingresult:no-such-report")


def test_each_report_is_a_signable_document_type():
    assert document_type("labresult:abc") == ("11502-2", "Laboratory report")
    assert document_type("imagingresult:abc") == ("18748-4", "Diagnostic imaging study")
    assert document_type("nosuchform:abc") is None


@pytest.fixture(scope="module")
def ca():  # noqa: ANN201
    from benhan.signing.local_ca import LocalCA, Responder
    with Responder() as r:
        r.ca = LocalCA(r.url)
        r.answering = True
        yield r.ca


def test_the_validating_doctor_signs_the_result_report(world, store, ca):  # noqa: ANN001
    """A result report is its own signed document: the Composition typed Laboratory report (LOINC
    11502-2) titled with the sheet, the signing mark printed in the validating doctor's block, the PDF
    verifying; the DocumentReference names the visit."""
    from benhan.auth import users
    from benhan.documents import signing, verify
    from benhan.signing import keys
    from benhan.signing.trust import TrustList, certificates_in
    from benhan.vn.identifiers import CCCD_SYSTEM
    repo, ids, _ = world
    cccd = "036090004417"
    practitioner = repo.create("Practitioner", {
        "resourceType": "Practitioner", "name": [{"text": results_seed.VALIDATOR}],
        "identifier": [{"system": CCCD_SYSTEM, "value": cccd}]}).res_id
    user, _ = users.create_user(store, "bsquan", results_seed.VALIDATOR, ["doctor"], practitioner_id=practitioner,
                                password="một mật khẩu đủ dài để thử ký")
    signer = Actor(name="bsquan", display=results_seed.VALIDATOR, user_pk=user.pk)
    trust = TrustList()
    for cert in certificates_in(ca.trust_pem()):
        trust.add(cert)
    key = keys.from_pkcs12(ca.issue(results_seed.VALIDATOR, uid=f"CCCD:{cccd}").pkcs12("p"), "p")
    done = signing.sign_encounter_document(repo, signer, ids["encounter"], f"labresult:{ids['lab_report']}", key,
                                           trust, base_url="http://benhan.test")
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok
    document = repo.read("DocumentReference", done.document_reference_id).json()
    assert document["type"]["coding"][0]["code"] == "11502-2"
    from benhan.documents import amendment          # a correction redraws this report's sheet, not a blank one
    assert amendment.form_of(document) == f"labresult:{ids['lab_report']}"
    assert document["context"]["encounter"][0]["reference"] == f"Encounter/{ids['encounter']}"
    bundle = signing.bundle_of(document)
    composition = bundle["entry"][0]["resource"]
    assert composition["title"] == "PHIẾU XÉT NGHIỆM HUYẾT HỌC (MS: 17/BV2)"
    assert f"DiagnosticReport/{ids['lab_report']}" in " ".join(e["fullUrl"] for e in bundle["entry"])
    with pdfplumber.open(io.BytesIO(done.pdf)) as doc:
        words = doc.pages[0].extract_words()
    title = next(w for w in words if w["text"] == "duyệt")                 # "Bác sĩ duyệt kết quả"
    mark = next(w for w in words if w["text"] == "Đã")                      # "Đã ký số bởi: …"
    assert title["top"] < mark["top"] and abs(title["x0"] - mark["x0"]) < 80


def test_the_flag_is_the_interpretation_else_the_value_against_its_range():
    from benhan.documents.forms.results import _flag
    rng = [{"low": {"value": 3.5}, "high": {"value": 5.0}}]
    coded = lambda c: [{"coding": [{"code": c}]}]  # noqa: E731
    assert _flag({"valueQuantity": {"value": 9}, "referenceRange": rng, "interpretation": coded("HH")}) == "HH"
    assert _flag({"valueQuantity": {"value": 4}, "referenceRange": rng, "interpretation": coded("N")}) == ""
    assert [_flag({"valueQuantity": {"value": v}, "referenceRange": rng}) for v in (3.4, 3.5, 5.0, 5.1)] == \
        ["L", "", "", "H"]
    assert _flag({"valueQuantity": {"value": 9}}) == ""                       # no range, no interpretation
    assert _flag({"status": "entered-in-error", "interpretation": coded("H")}) == ""
