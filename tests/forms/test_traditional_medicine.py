"""The traditional-medicine (YHCT) records: 18/BV1 (inpatient), 20/BV1 (a child's) and 19/BV1 (outpatient),
drawn by the layout engine from visits recorded through the app's own functions, the YHCT part written by
clinical.traditional_medicine.save as the doctor's page does. Golden tests by position (pdfplumber): every
YHCT item holds its own distinct seeded value in its own box, the ticks are the ones recorded, the herbs are
rows of their table, the modern-medicine items are 01/BV1's (15/BV1's) in their places, diacritics exact.
A YHCT stay's whole record is 18/BV1, not 01/BV1. The definitions hold no literal clinical value.
SQLite and PostgreSQL; PDF and PNGs kept in .artifacts/forms."""
from __future__ import annotations

from pathlib import Path

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import chart, record, traditional_medicine as yhct
from benhan.clinical.common import FormInvalid
from benhan.clinical.printouts import forms as printouts
from benhan.documents import whole_record
from benhan.documents.forms import FORMS, inpatient, outpatient, printing, traditional_medicine as tm
from benhan.documents.forms import traditional_sources
from benhan.store.repository import Repository
from tests.clinical.test_inpatient_record import DOCTOR, admit, at, enc, ward  # noqa: F401 - the ward fixture
from tests.forms import seed, stay_seed
from tests.forms.conftest import keep, pages, text_in
from tests.forms.test_golden import A4, check_every_page, check_values, no_page_of_signatures_only, squash
from tests.forms.test_inpatient import dotted, every_page
from tests.forms.test_rules import FORBIDDEN, ICD, _strings

S = stay_seed.S
# Every YHCT item a distinct value (section code → text), the disease's ICD-10 code, ticks and herbs.
Y = {
    "yhct-vong-chan": "Sắc mặt vàng nhạt, lưỡi bệu nhợt, rêu trắng mỏng",
    "yhct-van-chan": "Tiếng nói nhỏ, hơi thở ngắn, không có mùi lạ",
    "yhct-van-chan-hoi": "Đau vùng thượng vị âm ỉ, thích xoa ấm, ăn kém",
    "yhct-thiet-chan": "Bụng mềm, ấn vùng thượng vị dễ chịu, chân tay lạnh",
    "yhct-mach-phai": "Trầm tế vô lực",
    "yhct-mach-trai": "Huyền hoãn",
    "yhct-tom-tat-tu-chan": "Hội chứng tỳ vị hư hàn",
    "yhct-bien-chung": "Tỳ dương hư không vận hóa thủy cốc sinh đau",
    "yhct-benh-danh": "Vị quản thống",
    "yhct-bat-cuong": "Lý hư hàn",
    "yhct-tang-phu": "Tỳ vị, kinh túc dương minh vị",
    "yhct-nguyen-nhan": "Ẩm thực thất điều, lao quyện",
    "yhct-phap-dieu-tri": "Ôn trung kiện tỳ, hòa vị chỉ thống",
    "yhct-phuong-thuoc": "Lý trung thang gia giảm",
    "yhct-phuong-huyet": "Trung quản, Túc tam lý, Tỳ du, Vị du",
    "yhct-xoa-bop": "Xoa bóp vùng bụng mười lăm phút mỗi ngày",
    "yhct-dinh-duong": "Ăn mềm, ấm, tránh đồ sống lạnh",
    "yhct-ho-ly": "Chăm sóc cấp ba",
    "yhct-du-hau": "Tốt nếu giữ chế độ ăn uống",
}
ICD_CODE = "K29.5"          # viêm dạ dày mạn (ICD-10 of TT 06/2026, loaded by the ward)
HERBS = "Đảng sâm 12g\nBạch truật: 10 g\nCan khương - 6 g\nChích cam thảo 4,5 g"
HERB_ROWS = [("1", "Đảng sâm", "12 g"), ("2", "Bạch truật", "10 g"), ("3", "Can khương", "6 g"),
             ("4", "Chích cam thảo", "4,5 g")]
TICKS = {"bat-cuong": ("ly", "han", "hu", "am"), "nguyen-nhan": ("noi-nhan", "bat-noi-ngoai-nhan")}
KEYS = {"yhct-vong-chan": "inspection", "yhct-van-chan": "listening", "yhct-van-chan-hoi": "inquiry",
        "yhct-thiet-chan": "palpation", "yhct-mach-phai": "pulse-right", "yhct-mach-trai": "pulse-left",
        "yhct-tom-tat-tu-chan": "four-summary", "yhct-bien-chung": "reasoning", "yhct-benh-danh": "tcm-disease",
        "yhct-bat-cuong": "eight-principles", "yhct-tang-phu": "organs-meridians", "yhct-nguyen-nhan": "tcm-cause",
        "yhct-phap-dieu-tri": "tcm-principle", "yhct-phuong-thuoc": "tcm-formula", "yhct-phuong-huyet": "tcm-points",
        "yhct-xoa-bop": "tcm-massage", "yhct-dinh-duong": "tcm-diet", "yhct-ho-ly": "tcm-care",
        "yhct-du-hau": "tcm-prognosis"}


def values() -> dict[str, str]:
    """The YHCT part as the visit page posts it."""
    v = {yhct.field_name(code): text for code, text in Y.items()}
    v |= {yhct.tick_field(kind, c): "1" for kind, codes in TICKS.items() for c in codes}
    return v | {yhct.ICD_FIELD: ICD_CODE, yhct.HERBS_FIELD: HERBS}


def write_part(repo: Repository, eid: str, patient: dict | None = None) -> None:
    e = repo.read("Encounter", eid).json()
    patient = patient or repo.read("Patient", e["subject"]["reference"].split("/")[1]).json()
    current = chart.visit(repo, e, patient).record
    yhct.save(repo, DOCTOR, e, values(), current)


def render_stay(ward, eid: str, key: str) -> printing.Printed:  # noqa: ANN001, F811
    return printing.print_form(Repository(ward["repo"].store, Actor.system()), stay_seed.context(ward, eid), key,
                               DOCTOR, stay_seed.PRINTED, "http://benhan.test")


def ticked(p: printing.Printed, key: str) -> set[str]:
    regions = p.rendered.regions
    return {r.split("=", 1)[1] for r in regions
            if r.startswith(f"{key}=") and "X" in text_in(p.pdf, regions[r]).split()}


def check_yhct(p: printing.Printed) -> None:
    check_values(p, {KEYS[c]: t for c, t in Y.items()}, digits={"tcm-disease-icd": ICD_CODE}, ticks={})
    assert ticked(p, "eight-principles-ticks") == set(TICKS["bat-cuong"])
    assert ticked(p, "tcm-cause-ticks") == set(TICKS["nguyen-nhan"])
    herbs = squash(text_in(p.pdf, p.rendered.regions["herbs"]))
    for row in HERB_ROWS:
        assert " ".join(row) in herbs, (row, herbs)
    # Each herb once, in the order written.
    assert [herbs.index(r[1]) for r in HERB_ROWS] == sorted(herbs.index(r[1]) for r in HERB_ROWS)


def test_18bv1_of_a_traditional_medicine_stay_every_value_in_its_box(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    write_part(ward["repo"], eid)
    p = render_stay(ward, eid, "inpatient-traditional")
    keep("18-BV1-inpatient-traditional", p.pdf)
    every_page(p.pdf, A4, "MS: 18/BV1", S["name"])
    assert "BỆNH ÁN NỘI TRÚ Y HỌC CỔ TRUYỀN" in pages(p.pdf)[0][2]
    check_yhct(p)
    # The cover and the modern-medicine part are 01/BV1's, each value in its place.
    ctx = stay_seed.context(ward, eid)
    record_day = ctx.rec.record["date"][:10].split("-")
    check_values(p, {
        "name": S["name"].upper(), "arrived": "07:40 01/03/2025", "origin": f"{S['origin']} (mã {S['origin-code']})",
        "ended": "15:00 10/03/2025", "referral-dx": S["referral-dx"][1], "kkb-dx": S["kkb-dx"][1],
        "main-dx": "(K35.2)", "other-dx-icd": "E78.0", "cover-doctor": "Lê Văn Hùng",
        "reason": S["reason"], "history": S["history"], "personal-history": S["personal"], "risk-factors": S["risk"],
        "family-history": S["family"], "general": S["general"], "pulse": "96", "temperature": "38,4",
        "exam-tuan-hoan": S["cardio"], "exam-ho-hap": S["lungs"], "exam-tieu-hoa": S["gut"],
        "tests": S["tests-needed"], "record-summary": S["record-summary"], "admission-dx": "(K35.3)",
        "differential": S["differential"], "plan": S["plan"],
        "record-date-line": f"Ngày {record_day[2]} tháng {record_day[1]} năm {record_day[0]}",
        "record-doctor": "Lê Văn Hùng", "record-doctor.title": "Bác sĩ làm bệnh án",
        "course": S["course"], "key-results": S["key-results"], "method": S["method"], "status": S["status"],
        "onward": S["onward"], "treating": "Lê Văn Hùng"},
        digits={"birth": "05061960", "days": "10", "main-dx-icd": "K35.2", "admission-dx-icd": "K35.3",
                "referral-dx-icd": S["referral-dx"][0]},
        ticks={"gender": "male", "route": "cap-cuu", "result": "2"})
    # 01/BV1's "V. Tiên lượng" is the YHCT record's Dự hậu: the modern prognosis is not printed twice.
    assert "prognosis" not in p.rendered.regions
    r = p.rendered.regions
    # The cover, then the modern part on a sheet of its own, the YHCT part after it, the treatment, the
    # prognosis, the record doctor's signature, then the summary on its own sheet.
    assert r["reason"].page > r["autopsy-dx"].page
    order = ["reason", "differential", "inspection", "pulse-right", "four-summary", "reasoning", "tcm-disease",
             "tcm-cause", "tcm-principle",
             "herbs", "tcm-points", "tcm-care", "plan", "tcm-prognosis", "record-doctor"]
    assert [(r[k].page, r[k].top) for k in order] == sorted((r[k].page, r[k].top) for k in order)
    assert r["course"].page > r["record-doctor"].page
    no_page_of_signatures_only(p)
    # The stay is coded YHCT now, so its whole record is 18/BV1 and not 01/BV1.
    assert yhct.is_traditional(enc(ward, eid))
    assert whole_record.record_form(ctx, None) == "inpatient-traditional"


def test_18bv1_prints_dotted_lines_for_the_yhct_part_not_written(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    p = render_stay(ward, eid, "inpatient-traditional")
    for key in KEYS.values():
        assert dotted(p, key), key
    assert ticked(p, "eight-principles-ticks") == set() and ticked(p, "tcm-cause-ticks") == set()
    assert "".join(text_in(p.pdf, p.rendered.regions["tcm-disease-icd"]).split()) == ""
    # Not coded YHCT (nobody wrote the part, the department names no specialty): 01/BV1 is the record.
    assert whole_record.record_form(stay_seed.context(ward, eid), None) == "inpatient"


def test_20bv1_for_a_child_and_the_whole_record_of_a_yhct_stay(ward):  # noqa: ANN001, F811
    repo = ward["repo"]
    pid, eid = admit(ward, "038060246802", "Phạm Gia Bảo", at(2, 8, 30))
    child = repo.read("Patient", pid).json()
    child["birthDate"] = "2015-09-04"                   # nine on the day of admission
    repo.update("Patient", pid, child)
    record.save(repo, DOCTOR, pid, eid, {record.field_name("ly-do-vao-vien"): "Ho kéo dài hai tuần"}, None)
    write_part(repo, eid, child)
    ctx = stay_seed.context(ward, eid)
    assert whole_record.record_form(ctx, None) == "inpatient-traditional-child"
    p = render_stay(ward, eid, "inpatient-traditional-child")
    keep("20-BV1-inpatient-traditional-child", p.pdf)
    every_page(p.pdf, A4, "MS: 20/BV1", "Phạm Gia Bảo")
    assert "BỆNH ÁN NỘI TRÚ NHI Y HỌC CỔ TRUYỀN" in pages(p.pdf)[0][2]
    check_yhct(p)
    check_values(p, {"reason": "Ho kéo dài hai tuần"}, digits={"birth": "04092015"}, ticks={})
    # The whole record: 20/BV1 first, and neither 01/BV1 nor 18/BV1.
    whole = whole_record.build(Repository(repo.store, Actor.system()), ctx, DOCTOR, stay_seed.PRINTED,
                               "http://benhan.test")
    records = [part.key for part in whole.parts if part.kind == whole_record.RECORD]
    assert records == ["inpatient-traditional-child"] and whole.parts[0].key == records[0]
    assert not [part for part in whole.parts if part.problem]


def test_a_yhct_department_prints_18bv1_even_before_the_part_is_written(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    department = {"type": [{"coding": [{"system": yhct.SPECIALTY_SYSTEM, "code": yhct.SPECIALTY}]}]}
    assert whole_record.record_form(stay_seed.context(ward, eid), department) == "inpatient-traditional"
    other = {"type": [{"coding": [{"system": yhct.SPECIALTY_SYSTEM, "code": "rang-ham-mat"}]}]}
    assert whole_record.record_form(stay_seed.context(ward, eid), other) == "inpatient"


@pytest.fixture
def visit(store):  # noqa: ANN001, ANN201
    ids = seed.build(store)
    return store, ids


def test_19bv1_outpatient_record_with_the_yhct_part(visit):  # noqa: ANN001
    from tests.forms.conftest import render
    store, ids = visit
    repo = Repository(store, Actor.system())
    from benhan.terminology.load import load
    load(store, ["icd10-tt06"])
    write_part(repo, ids["encounter"])
    p = render(visit, "outpatient-traditional")
    keep("19-BV1-outpatient-traditional", p.pdf)
    check_every_page(p.pdf, A4, "MS: 19/BV1")
    assert "BỆNH ÁN NGOẠI TRÚ Y HỌC CỔ TRUYỀN" in pages(p.pdf)[0][2]
    check_yhct(p)
    V = seed.V
    check_values(p, {"name": V["name"].upper(), "reason": V["reason"], "organs": V["organ"], "general": V["general"],
                     "initial-diagnosis": V["dx-ad"][1], "course": V["course"], "doctor": V["doctor"],
                     "record-number": V["ma-lk"]},
                 digits={"bhyt": V["bhyt"], "discharge-icd": V["dx-dd"][0]}, ticks={"gender": "female"})
    r = p.rendered.regions
    # The YHCT part after 15/BV1's item IV.2 and before IV.3; 15/BV1's own printout holds none of it.
    assert (r["organs"].page, r["organs"].top) < (r["inspection"].page, r["inspection"].top) < \
        (r["tcm-prognosis"].page, r["tcm-prognosis"].top) < (r["results"].page, r["results"].top)
    general = render(visit, "outpatient")
    assert Y["yhct-benh-danh"] not in squash(" ".join(t for _, _, t in pages(general.pdf)))
    no_page_of_signatures_only(p)
    # The visit is coded YHCT now: its record is 19/BV1.
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY)
    assert whole_record.record_form(ctx, None) == "outpatient-traditional"


def test_the_part_is_checked_and_a_change_needs_a_reason(ward):  # noqa: ANN001, F811
    repo = ward["repo"]
    pid, eid = admit(ward, "038060111222", "Đỗ Thị Lan", at(3, 9))
    e = enc(ward, eid)
    bad = values() | {yhct.ICD_FIELD: "Z99.99", yhct.HERBS_FIELD: "Đảng sâm\nBạch truật 10 g"}
    with pytest.raises(FormInvalid) as exc:
        yhct.save(repo, DOCTOR, e, bad, None)
    assert {yhct.ICD_FIELD, yhct.HERBS_FIELD} <= set(exc.value.errors)
    with pytest.raises(FormInvalid) as exc:
        yhct.save(repo, DOCTOR, e, {}, None)
    write_part(repo, eid)
    rec = chart.visit(repo, enc(ward, eid), repo.read("Patient", pid).json()).record
    part = yhct.of(rec)
    assert part.texts == Y and part.icd_code == ICD_CODE and part.icd_display
    assert [(h.name, h.amount, h.unit) for h in part.herbs] == [("Đảng sâm", 12, "g"), ("Bạch truật", 10, "g"),
                                                                ("Can khương", 6, "g"), ("Chích cam thảo", 4.5, "g")]
    changed = values() | {yhct.field_name("yhct-du-hau"): "Dè dặt"}
    with pytest.raises(FormInvalid) as exc:
        yhct.save(repo, DOCTOR, enc(ward, eid), changed, rec)
    assert "y_reason" in exc.value.errors
    yhct.save(repo, DOCTOR, enc(ward, eid), changed, rec, reason="Bổ sung sau hội chẩn")
    # The modern part saved after it keeps the YHCT part, and needs no reason for it.
    rec = chart.visit(repo, enc(ward, eid), repo.read("Patient", pid).json()).record
    record.save(repo, DOCTOR, pid, eid, {record.field_name("ly-do-vao-vien"): "Đau thượng vị"}, rec,
                reason="Thêm lý do vào viện")
    rec = chart.visit(repo, enc(ward, eid), repo.read("Patient", pid).json()).record
    assert yhct.of(rec).texts["yhct-du-hau"] == "Dè dặt" and record.texts(rec)["ly-do-vao-vien"] == "Đau thượng vị"


def test_the_yhct_definitions_hold_no_literal_clinical_value():
    assert FORMS[tm.FORM.key] is tm.FORM and FORMS[tm.CHILD.key] is tm.CHILD
    assert tm.FORM.identifiers == inpatient.FORM.identifiers and tm.CHILD.body == tm.FORM.body
    assert outpatient.FORM.identifiers == FORMS["outpatient-traditional"].identifiers
    found = [(path.name, line, text) for path in (Path(tm.__file__), Path(traditional_sources.__file__))
             for line, text in _strings(path)
             if any(text.strip() == w for w in FORBIDDEN) or ICD.findall(text)]
    assert found == []


def test_a_signed_18bv1_names_its_form(ward):  # noqa: ANN001, F811
    from benhan.documents import signing
    from benhan.signing import keys
    from benhan.signing.local_ca import LocalCA, Responder
    from benhan.signing.trust import TrustList, certificates_in
    eid = stay_seed.stay(ward)
    write_part(ward["repo"], eid)
    repo = Repository(ward["repo"].store, Actor.system())
    with Responder() as responder:
        ca = LocalCA(responder.url)
        responder.ca, responder.answering = ca, True
        trust = TrustList()
        for cert in certificates_in(ca.trust_pem()):
            trust.add(cert)
        fac = ward["fac"].name
        key = keys.from_pkcs12(ca.issue(fac, organization=fac).pkcs12("p"), "p")
        done = signing.sign_encounter_document(repo, Actor.system(), eid, "inpatient-traditional", key, trust,
                                               role="seal", base_url="http://benhan.test")
    signed = " ".join(t for _, _, t in pages(done.pdf))
    assert "MS: 18/BV1" in signed and Y["yhct-benh-danh"] in signed
    [doc] = signing.signed_documents(repo, eid)
    assert doc["category"][0]["coding"][0] == {"system": signing.FORM_KEY_SYSTEM, "code": "inpatient-traditional"}
    assert doc["type"]["coding"][0]["code"] == "11503-0"
