"""01/BV1, the discharge paper (TT 25/2025 Mẫu 02) and the death notice (Mẫu 05) drawn by the layout
engine from stays recorded through the app (tests/forms/stay_seed.py: a 10-day stay with three
transfers, a surgery, a procedure, an accident and a complication; a death within 24 hours): each
value in its own box by position (pdfplumber), each tick box ticked by what was recorded and nothing
else, empty items as the paper's dotted line, no page of signatures only, diacritics exact. SQLite and
PostgreSQL; PDF and PNGs kept in .artifacts/forms."""
from __future__ import annotations

import pytest

from benhan.auth.actor import Actor
from benhan.documents.forms import FORMS, printing
from benhan.store.repository import Repository
from tests.clinical.test_inpatient_record import DOCTOR, ward  # noqa: F401 - the ward fixture
from tests.forms import stay_seed
from tests.forms.conftest import keep, pages, text_in
from tests.forms.test_golden import A4, A5, check_values, no_page_of_signatures_only, squash
from tests.forms.test_rules import FORBIDDEN, ICD, _strings

S = stay_seed.S
MINE = ("inpatient", "discharge", "death")


def render(ward, eid: str, key: str, signed: dict | None = None) -> printing.Printed:  # noqa: ANN001, F811
    ctx = stay_seed.context(ward, eid)
    return printing.print_form(Repository(ward["repo"].store, Actor.system()), ctx, key, DOCTOR, stay_seed.PRINTED,
                               "http://benhan.test", None, signed)


def dotted(p: printing.Printed, key: str) -> bool:
    return set(text_in(p.pdf, p.rendered.regions[key]).replace(" ", "")) == {"."}


def every_page(pdf: bytes, size: tuple[float, float], code: str, name: str) -> None:
    texts = pages(pdf)
    for i, (w, h, text) in enumerate(texts, 1):
        assert (round(w, 1), round(h, 1)) == (round(size[0], 1), round(size[1], 1))
        assert f"Người bệnh: {name}" in text and f"Trang {i}/{len(texts)}" in text
        assert "NĐ 137/2024/NĐ-CP Điều 5" in text
    assert code in texts[0][2] and "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in texts[0][2]


def test_01bv1_of_a_ten_day_stay_every_value_in_its_box(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    p = render(ward, eid, "inpatient")
    keep("01-BV1-inpatient", p.pdf)
    every_page(p.pdf, A4, "MS: 01/BV1", S["name"])
    ctx = stay_seed.context(ward, eid)
    record_day = ctx.rec.record["date"][:10].split("-")
    check_values(p, {
        "name": S["name"].upper(), "age": "64", "arrived": "07:40 01/03/2025",
        "origin": f"{S['origin']} (mã {S['origin-code']})", "department": "Khoa Nội tổng hợp",
        "department-at": "07:40 01/03/2025", "ended": "15:00 10/03/2025",
        "referral-dx": S["referral-dx"][1], "kkb-dx": S["kkb-dx"][1], "ward-dx": "(K35.3)",
        "procedures": f"{S['procedure']} — 13:05 03/03/2025 — Người thực hiện: Nguyễn Thị Mai",
        "surgeries": f"{S['surgery']} — 14:30 03/03/2025 — Người thực hiện: Lê Văn Hùng — "
                     "Gây mê hồi sức: Trần Thị Hương — Vô cảm: Gây mê nội khí quản",
        "main-dx": "(K35.2)", "other-dx": "(E78.0)", "other-dx-icd": "E78.0",
        "accidents": f"{S['accident']} — 09:15 04/03/2025", "complications": f"{S['complication']} — 08:00 06/03/2025",
        "date-line": "Ngày 10 tháng 03 năm 2025", "head.title": stay_seed.HEAD, "department-head.title": "Trưởng khoa",
        "cover-doctor": "Lê Văn Hùng",
        "reason": S["reason"], "history": S["history"], "personal-history": S["personal"],
        "risk-factors": S["risk"], "family-history": S["family"], "general": S["general"], "pulse": "96",
        "temperature": "38,4", "blood-pressure": "135/85", "respiratory-rate": "22", "weight": "61", "height": "167",
        "exam-tuan-hoan": S["cardio"], "exam-ho-hap": S["lungs"], "exam-tieu-hoa": S["gut"],
        "tests": S["tests-needed"], "record-summary": S["record-summary"], "admission-dx": "(K35.3)",
        "admission-other": "(I10)", "admission-other-icd": "I10", "differential": S["differential"],
        "prognosis": S["prognosis"], "plan": S["plan"],
        "record-date-line": f"Ngày {record_day[2]} tháng {record_day[1]} năm {record_day[0]}",
        "record-doctor": "Lê Văn Hùng", "record-doctor.title": "Bác sĩ làm bệnh án",
        "course": S["course"], "key-results": S["key-results"], "method": S["method"], "status": S["status"],
        "onward": S["onward"], "summary-date-line": "Ngày 10 tháng 03 năm 2025", "treating": "Lê Văn Hùng",
        "treating.title": "Bác sĩ điều trị"},
        digits={"birth": "05061960", "cccd": S["cccd"], "department-days": "02", "days": "10",
                "referral-dx-icd": S["referral-dx"][0], "kkb-dx-icd": S["kkb-dx"][0], "ward-dx-icd": "K35.3",
                "main-dx-icd": "K35.2", "admission-dx-icd": "K35.3"},
        ticks={"gender": "male", "route": "cap-cuu", "source": "co-quan-y-te", "disposition": "home",
               "result": "2", "pathology": "nghi-ngo"})
    # Several ticks where several things happened; none where nothing did.
    regions = p.rendered.regions
    ticked = {r for r in regions if "=" in r and "X" in text_in(p.pdf, regions[r]).split()}
    assert {r for r in ticked if r.split("=")[0] in ("procedure-kinds", "complication-kinds")} == {
        "procedure-kinds=thu-thuat", "procedure-kinds=phau-thuat", "complication-kinds=tai-bien",
        "complication-kinds=bien-chung"}
    assert not {r for r in ticked if r.split("=")[0] in ("transfer-level", "death-circumstance", "death-within",
                                                          "autopsy", "payer")}
    # Item 16: the three transfers, each with its time and days (2 + 2 + 2 + 4 = 10 with the first stay).
    moves = squash(text_in(p.pdf, regions["transfers"]))
    for row in ("Khoa Ngoại chấn thương 10:00 03/03/2025 2", f"{S['icu']} 11:20 05/03/2025 2",
                "Khoa Ngoại chấn thương 09:00 07/03/2025 4"):
        assert row in moves
    for key in ("transfer-to", "death-time", "death-cause", "autopsy-dx", "illness-day", "head", "department-head",
                "exam-mat", "address", "archive-number"):
        assert dotted(p, key), key
    # The cover, part A and part B each start a sheet; the last signature is on a page with its body.
    assert regions["reason"].page > regions["autopsy-dx"].page and regions["course"].page > regions["plan"].page
    no_page_of_signatures_only(p)


def test_01bv1_of_a_death_ticks_its_circumstance_and_prints_cause_and_autopsy(ward):  # noqa: ANN001, F811
    eid = stay_seed.died(ward)
    p = render(ward, eid, "inpatient")
    keep("01-BV1-inpatient-death", p.pdf)
    check_values(p, {"death-time": "05:20 11/03/2025", "death-cause": "Nhồi máu cơ tim cấp",
                     "autopsy-dx": "Tắc động mạch vành trái", "department": "Khoa Nội tổng hợp"},
                 digits={"death-cause-icd": "I21.9", "days": "02"},
                 ticks={"route": "kkb", "source": "tu-den", "result": "5", "death-circumstance": "do-benh",
                        "death-within": "trong-24-gio", "autopsy": "yes"})
    regions = p.rendered.regions
    assert not [r for r in regions if r.startswith("disposition=") and "X" in text_in(p.pdf, regions[r]).split()]
    assert dotted(p, "origin") and dotted(p, "surgeries") and dotted(p, "referral-dx")


def test_discharge_paper_tt25_mau02_on_a5_without_abbreviations(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    p = render(ward, eid, "discharge")
    keep("TT25-M02-discharge", p.pdf)
    every_page(p.pdf, A5, "Thông tư 25/2025/TT-BYT", S["name"])
    check_values(p, {
        "name": S["name"].upper(), "birth": "05/06/1960", "age": "64", "gender": "Nam", "cccd": S["cccd"],
        "arrived": "07:40 01/03/2025", "ended": "15:00 10/03/2025", "diagnosis": "(K35.2)",
        "icd": "K35.2; E78.0", "method": S["method"], "note": S["onward"], "date-line": "Ngày 10 tháng 03 năm 2025",
        "doctor": "Lê Văn Hùng", "doctor.title": "Người hành nghề khám bệnh, chữa bệnh",
        "head.title": stay_seed.HEAD}, digits={}, ticks={})
    assert "(E78.0)" in text_in(p.pdf, p.rendered.regions["diagnosis"])
    assert dotted(p, "guardian") and dotted(p, "gestation") and dotted(p, "follow-up")    # an adult, no pregnancy
    assert FORMS["discharge"].given_to_patient and p.warnings == []
    no_page_of_signatures_only(p)


def test_death_notice_tt25_mau05_time_in_digits_and_words(ward):  # noqa: ANN001, F811
    eid = stay_seed.died(ward)
    p = render(ward, eid, "death")
    keep("TT25-M05-death", p.pdf)
    every_page(p.pdf, A4, "Thông tư 25/2025/TT-BYT", "Hoàng Văn Tư")
    check_values(p, {
        "name": "HOÀNG VĂN TƯ", "birth": "05/06/1960", "gender": "Nam", "cccd": "038060135790",
        "arrived": "22:15 10/03/2025", "death-time": "05:20 11/03/2025",
        "death-words": "năm giờ hai mươi phút, ngày mười một tháng ba năm hai nghìn không trăm hai mươi lăm",
        "cause": "Nhồi máu cơ tim cấp", "date-line": "Ngày 11 tháng 03 năm 2025", "writer": "Lê Văn Hùng",
        "writer.title": "Người viết giấy báo tử", "relative.title": "Thân nhân người tử vong",
        "head.title": stay_seed.HEAD}, digits={}, ticks={})
    # Not recorded: the tick box stays empty, the relative's name a dotted line.
    assert not [r for r in p.rendered.regions if r.startswith("on-the-way=")
                and "X" in text_in(p.pdf, p.rendered.regions[r]).split()]
    assert dotted(p, "relative") and dotted(p, "number")
    no_page_of_signatures_only(p)


@pytest.mark.parametrize("key", MINE)
def test_the_signing_mark_is_printed_in_the_authors_block(ward, key):  # noqa: ANN001, F811
    eid = stay_seed.died(ward)
    p = render(ward, eid, key, signed={"author": ["Đã ký số bởi Lê Văn Hùng", "06:05:00 11/03/2025"]})
    author = next(s.key for el in FORMS[key].body if hasattr(el, "items") for s in getattr(el, "items")
                  if getattr(s, "role", "") == "author")
    assert "Đã ký số bởi Lê Văn Hùng" in squash(text_in(p.pdf, p.rendered.regions[f"{author}.mark"]))


def test_the_new_definitions_hold_no_literal_clinical_or_administrative_value():
    from pathlib import Path
    here = Path(__file__).resolve().parents[2] / "benhan" / "documents" / "forms"
    found = []
    for path in (here / "inpatient.py", here / "discharge.py", here / "death.py"):
        for line, text in _strings(path):
            found += [(path.name, line, text) for word in FORBIDDEN if text.strip() == word]
            found += [(path.name, line, text) for _ in ICD.findall(text)]
    assert found == []
