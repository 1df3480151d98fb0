"""Tóm tắt hồ sơ bệnh án (TT 25/2025 Mẫu 03), drawn by the layout engine from the visit's record:
every value in its own box by position (pdfplumber), the diagnoses with their codes; a paper given to
the patient, so no abbreviation in its labels and a listed one written out in full in its values
(TT 32 Đ52 k2 c); signed by the treating doctor, then sealed by the facility (its LOINC is one the seal
applies to). On SQLite and PostgreSQL;
PDF and PNG kept in .artifacts/forms."""
from __future__ import annotations

import io
import re

import pdfplumber

from benhan.auth.actor import Actor
from benhan.clinical import discharge
from benhan.clinical.common import narrative
from benhan.documents import seal
from benhan.documents.composition import DOCUMENT_TYPES
from benhan.documents.forms import FORMS, abbreviations
from benhan.store.repository import Repository
from tests.forms import seed
from tests.forms.conftest import keep, render, text_in
from tests.forms.test_golden import A4, check_every_page, check_values, no_page_of_signatures_only, squash
from tests.signing.conftest import ca, responder, trust  # noqa: F401 - the fixtures

V = seed.V


def test_record_summary_every_value_in_its_box(world):  # noqa: ANN001
    p = render(world, "summary")
    keep("TT25-M03-record-summary", p.pdf)
    check_every_page(p.pdf, A4, "Thông tư 25/2025/TT-BYT")
    check_values(p, {
        "record-number": V["ma-lk"], "name": V["name"].upper(), "birth": "23/04/1987", "gender": "Nữ",
        "ethnicity": V["ethnicity"], "nationality": V["nationality"], "occupation": V["occupation"],
        "address": V["address"], "arrived": "07:35 14/12/2026", "left": "16:10 18/12/2026",
        "department": V["department"],
        "dx-admission": f"{V['dx-ad'][1]} ({V['dx-ad'][0]}); {V['dx-ad2'][1]} ({V['dx-ad2'][0]})",
        "dx-discharge": f"{V['dx-dd'][1]} ({V['dx-dd'][0]}); {V['dx-dd2'][1]} ({V['dx-dd2'][0]})",
        "course": V["course"], "key-results": V["key-results"], "method": V["method"], "status": V["status"],
        "onward": V["onward"], "advice": V["advice"], "follow-up": "05/01/2027",
        "date-line": "Ngày 18 tháng 12 năm 2026", "doctor": V["doctor"], "doctor.title": "Bác sĩ điều trị",
        "head.title": V["head-title"]},
        digits={"cccd": V["cccd"], "bhyt": V["bhyt"]}, ticks={})
    # The admission diagnoses are not in the discharge box, nor the other way round.
    assert V["dx-dd"][1] not in squash(text_in(p.pdf, p.rendered.regions["dx-admission"]))
    assert V["dx-ad"][1] not in squash(text_in(p.pdf, p.rendered.regions["dx-discharge"]))
    assert set(text_in(p.pdf, p.rendered.regions["archive-number"]).replace(" ", "")) == {"."}
    no_page_of_signatures_only(p)


def test_a_paper_for_the_patient_without_abbreviations(world, tmp_path):  # noqa: ANN001
    form = FORMS["summary"]
    assert form.given_to_patient
    labels = [w for f in form.fields() for w in re.findall(r"\w+", f.label)]
    assert [w for w in labels if abbreviations.is_abbreviation(w)] == []
    store, ids = world
    repo = Repository(store, Actor.system())
    found = repo.search_type("Composition", [("encounter", f"Encounter/{ids['encounter']}")])
    summary = next(m.json() for m in found.matches if m.json()["type"] == discharge.SUMMARY_TYPE)
    for section in summary["section"]:
        if section["code"]["coding"][0]["code"] == "tinh-trang-ra-vien":
            section["text"] = narrative("Ổn định, THA kiểm soát, theo dõi NMCT")
    repo.update("Composition", summary["id"], summary)
    listed = tmp_path / "viet-tat.toml"
    listed.write_text('"THA" = "tăng huyết áp"\n', encoding="utf-8")
    p = render(world, "summary", {"form_abbreviations_file": str(listed)})
    status = squash(text_in(p.pdf, p.rendered.regions["status"]))
    assert "tăng huyết áp" in status and "THA" not in status.split()
    assert p.warnings == ["status: “NMCT”"] and "không được viết tắt" in p.message


def test_the_facility_seal_applies_to_the_record_summary():
    code, _ = DOCUMENT_TYPES["summary"]
    assert code == FORMS["summary"].document_type[0] == "34133-9"
    assert seal.SEALED_TYPES[code] == "summary"
    assert seal.needs_seal({"id": "d1", "type": {"coding": [{"system": "http://loinc.org", "code": code}]}}, [])


def test_the_signed_summary_is_sealed_by_the_facility(world, ca, trust):  # noqa: ANN001, F811
    from benhan.auth import policy, users
    from benhan.documents import signing
    from benhan.signing import keys
    from benhan.vn.identifiers import CCCD_SYSTEM
    store, ids = world
    system = Repository(store, Actor.system())
    doctor = system.read("Practitioner", ids["doctor"]).json()
    doctor["identifier"] = [{"system": CCCD_SYSTEM, "value": "001087054321"}]
    system.update("Practitioner", ids["doctor"], doctor)
    user, _ = users.create_user(store, "bs.tomtat", V["doctor"], ["doctor"], practitioner_id=ids["doctor"],
                                password="một câu mật khẩu thật dài cho bản tóm tắt")
    actor = policy.actor_for_user(store, user)
    repo = Repository(store, actor)
    author = keys.from_pkcs12(ca.issue(V["doctor"], uid="CCCD:001087054321").pkcs12("p"), "p")
    done = signing.sign_encounter_document(repo, actor, ids["encounter"], "summary", author, trust,
                                           base_url="http://benhan.test")
    [document] = signing.signed_documents(repo, ids["encounter"])
    assert seal.needs_seal(document, [document])
    facility = keys.from_pkcs12(ca.issue(V["facility"], organization=V["facility"]).pkcs12("p"), "p")
    sealed = seal.seal_document(system, Actor.system(), done.document_reference_id, facility, trust,
                                facility_name=V["facility"])
    listed = signing.signed_documents(system, ids["encounter"])
    assert not seal.needs_seal(document, listed)
    with pdfplumber.open(io.BytesIO(sealed.pdf)) as doc:
        text = doc.pages[0].extract_text()
    assert "TÓM TẮT HỒ SƠ BỆNH ÁN" in text and f"Đã ký số bởi: {V['doctor']}" in text
