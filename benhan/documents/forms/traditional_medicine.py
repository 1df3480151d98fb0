"""The traditional-medicine (Y học cổ truyền, YHCT) records of TT 32/2023 PL XXVIII (forms-tt32.md §1.2),
which carried over the layouts of QĐ 1941/2019: 18/BV1 Bệnh án nội trú YHCT, 20/BV1 its paediatric
variant, and the YHCT items of 19/BV1 Bệnh án ngoại trú YHCT (outpatient_variants.TRADITIONAL).

Our sources give these forms' titles only: the item list is the long-standing YHCT layout (docs/forms.md
marks it "secondary — check against PL XXVIII"). 18/BV1 is 01/BV1's cover (items 1–29, imported, so a
fix there is a fix here), then
  A. Y HỌC HIỆN ĐẠI — 01/BV1's A part I–IV (reason, history, examination, summary, diagnosis with ICD-10);
  B. Y HỌC CỔ TRUYỀN — I. tứ chẩn (vọng, văn, vấn, thiết chẩn with each wrist's pulse), II. tóm tắt tứ chẩn,
     III. biện chứng luận trị, IV. chẩn đoán (bệnh danh with its ICD-10 code, bát cương, tạng phủ – kinh lạc,
     nguyên nhân);
  C. ĐIỀU TRỊ — 1. YHCT: pháp, phương thuốc and its herbs, phương huyệt, xoa bóp – bấm huyệt, dinh dưỡng,
     hộ lý; 2. YHHĐ: hướng điều trị;
  D. DỰ HẬU; the record doctor's signature; then 01/BV1's B part (Tổng kết bệnh án ra viện) on its own sheet.
Every YHCT value is the record's (traditional_sources); option words come from the vocabulary."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

from benhan.clinical.common import age_on
from benhan.documents.forms import inpatient, sources as s, traditional_sources as t
from benhan.documents.layout.model import (Column, DateLine, Digits, Element, Field, Heading, Line, PageBreak,
                                           Signature, Signatures, Table, Ticks)


def _named(el: Element, key: str) -> bool:
    items = getattr(el, "items", (el,))
    return any(getattr(i, "name", None) == key for i in items if not isinstance(i, Signature))


def _at(body: tuple[Element, ...], key: str) -> int:
    return next(i for i, el in enumerate(body) if _named(el, key))


def _slice(body: tuple[Element, ...], first: str, last: str | None = None) -> tuple[Element, ...]:
    """The elements of `body` from the one holding item `first` to the one holding `last` (or the end)."""
    return body[_at(body, first):(_at(body, last) + 1 if last else None)]


# The four examinations, their summary, the reasoning, the diagnosis (19/BV1 prints these too).
EXAMINATION: tuple[Element, ...] = (
    Heading("I. TỨ CHẨN"),
    Field("Vọng chẩn (nhìn)", t.text("yhct-vong-chan"), key="inspection", number="1.", lines=2),
    Field("Văn chẩn (nghe, ngửi)", t.text("yhct-van-chan"), key="listening", number="2.", lines=2),
    Field("Vấn chẩn (hỏi)", t.text("yhct-van-chan-hoi"), key="inquiry", number="3.", lines=2),
    Field("Thiết chẩn - Xúc chẩn", t.text("yhct-thiet-chan"), key="palpation", number="4.", lines=2),
    Line((Field("Mạch tay phải", t.text("yhct-mach-phai"), key="pulse-right", width=0.5),
          Field("Mạch tay trái", t.text("yhct-mach-trai"), key="pulse-left", width=0.5))),
    Field("Tóm tắt tứ chẩn", t.text("yhct-tom-tat-tu-chan"), key="four-summary", number="II.", lines=2),
    Field("Biện chứng luận trị", t.text("yhct-bien-chung"), key="reasoning", number="III.", lines=2),
    Heading("IV. CHẨN ĐOÁN THEO Y HỌC CỔ TRUYỀN"),
    Line((Field("Bệnh danh", t.text("yhct-benh-danh"), key="tcm-disease", number="1.", width=0.76),
          Digits("Mã", t.disease_icd, 5, key="tcm-disease-icd", width=0.24))),
    Ticks("Bát cương", "bat-cuong", t.ticked("bat-cuong"), key="eight-principles-ticks", number="2."),
    Field("Kết luận bát cương", t.text("yhct-bat-cuong"), key="eight-principles"),
    Field("Tạng phủ - kinh lạc", t.text("yhct-tang-phu"), key="organs-meridians", number="3."),
    Ticks("Nguyên nhân", "nguyen-nhan", t.ticked("nguyen-nhan"), key="tcm-cause-ticks", number="4."),
    Field("Nguyên nhân cụ thể", t.text("yhct-nguyen-nhan"), key="tcm-cause"),
)

# The YHCT treatment and the prognosis.
TREATMENT: tuple[Element, ...] = (
    Field("Phép điều trị (pháp)", t.text("yhct-phap-dieu-tri"), key="tcm-principle", number="a)"),
    Field("Phương thuốc (bài thuốc)", t.text("yhct-phuong-thuoc"), key="tcm-formula", number="b)", lines=2),
    Table("herbs", (Column("STT", 0.1), Column("Vị thuốc", 0.6), Column("Liều lượng", 0.3)), t.herb_rows,
          min_rows=3),
    Field("Phương huyệt (châm cứu)", t.text("yhct-phuong-huyet"), key="tcm-points", number="c)", lines=2),
    Field("Xoa bóp - bấm huyệt", t.text("yhct-xoa-bop"), key="tcm-massage", number="d)", lines=2),
    Field("Chế độ dinh dưỡng", t.text("yhct-dinh-duong"), key="tcm-diet", number="đ)"),
    Field("Chế độ hộ lý", t.text("yhct-ho-ly"), key="tcm-care", number="e)"),
)
PROGNOSIS = Field("Dự hậu", t.text("yhct-du-hau"), key="tcm-prognosis", lines=2)

_BASE = inpatient.FORM.body
_COVER = _BASE[:next(i for i, el in enumerate(_BASE) if isinstance(el, PageBreak))]

BODY: tuple[Element, ...] = (
    *_COVER,
    PageBreak(),
    Heading("A. Y HỌC HIỆN ĐẠI"),
    *_slice(_BASE, "reason", "differential"),           # 01/BV1 A. I–IV
    Heading("B. Y HỌC CỔ TRUYỀN"),
    *EXAMINATION,
    Heading("C. ĐIỀU TRỊ"),
    Heading("1. Y học cổ truyền"),
    *TREATMENT,
    Field("Y học hiện đại - Hướng điều trị", s.text("huong-dieu-tri"), key="plan", number="2.", lines=2),
    Heading("D. DỰ HẬU"),
    PROGNOSIS,
    DateLine(s.record_date, key="record-date-line"),
    Signatures((Signature(s.title("record-doctor"), s.record_author, key="record-doctor"),)),
    PageBreak(),
    Heading("TỔNG KẾT BỆNH ÁN RA VIỆN"),
    *_slice(_BASE, "course"),                           # 01/BV1 B, with the handover and the signatures
)

FORM = replace(inpatient.FORM, key="inpatient-traditional", code="18/BV1", title="BỆNH ÁN NỘI TRÚ Y HỌC CỔ TRUYỀN",
               body=BODY)
# 20/BV1: the paediatric inpatient YHCT record, the same items under its own code and title.
CHILD = replace(FORM, key="inpatient-traditional-child", code="20/BV1",
                title="BỆNH ÁN NỘI TRÚ NHI Y HỌC CỔ TRUYỀN")

# The YHCT part of the outpatient record 19/BV1 (after 15/BV1's item IV.2, outpatient_variants).
OUTPATIENT_ITEMS: tuple[Element, ...] = (
    Heading("KHÁM VÀ CHẨN ĐOÁN THEO Y HỌC CỔ TRUYỀN"),
    *EXAMINATION,
    Heading("ĐIỀU TRỊ THEO Y HỌC CỔ TRUYỀN"),
    *TREATMENT,
    replace(PROGNOSIS, number="g)"),
)

# A child is a patient under this age on the day of admission (Luật Trẻ em 2016: under 16).
CHILD_UNDER = 16


def record_for(encounter: dict, patient: dict) -> str:
    """The inpatient YHCT record of a stay: 20/BV1 for a child on the day of admission, else 18/BV1."""
    start = ((encounter.get("period") or {}).get("start") or "")[:10]
    age = age_on(patient.get("birthDate"), dt.date.fromisoformat(start)) if len(start) == 10 else None
    return CHILD.key if age is not None and age < CHILD_UNDER else FORM.key
