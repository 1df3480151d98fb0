"""Giấy chứng nhận nghỉ việc hưởng bảo hiểm xã hội (outpatient), TT 25/2025/TT-BYT Mẫu 07
(forms-tt32.md §1.4; fields per the long-standing layout, secondary): the patient with the social
insurance number, the diagnosis with ICD-10 and the treatment, the days off from … to …, the parents of
a child under 7, the practitioner and the facility's head. Read from the visit's sick-leave record (a
Basic, documents/forms/data.py), issued on the visit page (benhan.clinical.sick_leave)."""
from __future__ import annotations

from benhan.documents.forms import blocks, sources as s
from benhan.documents.layout.model import DateLine, Digits, Field, Form, Heading, Line, Signature

FORM = Form(
    key="sickleave", code="Mẫu 07, Thông tư 25/2025/TT-BYT", code_prefix="",
    title="GIẤY CHỨNG NHẬN NGHỈ VIỆC HƯỞNG BẢO HIỂM XÃ HỘI",
    identifiers=(Field("Số seri", s.sick_leave("number"), key="number", code=True),
                 Field("Số hồ sơ", s.record_number, key="record-number", code=True)),
    record_number=s.record_number, needs=("Condition", "Basic"),
    document_type=("34109-9", "Note"),
    body=(
        Heading("I. THÔNG TIN NGƯỜI BỆNH"),
        Line((Field("Họ và tên", s.name, key="name", width=0.6, caps=True),
              Field("Ngày sinh", s.birth_date, key="birth", width=0.4, code=True))),
        Line((Field("Giới tính", s.gender_words, key="gender", width=0.3),
              Field("Mã số bảo hiểm xã hội", s.sick_leave("bhxh"), key="bhxh", width=0.7, code=True))),
        Digits("Số thẻ bảo hiểm y tế", s.bhyt_number, 15, key="bhyt"),
        Digits("Số định danh cá nhân/CCCD", s.cccd, 12, key="cccd"),
        Field("Đơn vị làm việc", s.workplace, key="workplace"),
        Heading("II. CHẨN ĐOÁN VÀ PHƯƠNG PHÁP ĐIỀU TRỊ"),
        Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis", lines=2),
        Field("Phương pháp điều trị", s.sick_leave("treatment"), key="treatment", lines=2),
        Heading("III. SỐ NGÀY NGHỈ"),
        Line((Field("Số ngày nghỉ", s.sick_leave_days, key="days", width=0.3, code=True),
              Field("từ ngày", s.sick_leave_from, key="from", width=0.35, code=True),
              Field("đến hết ngày", s.sick_leave_to, key="to", width=0.35, code=True))),
        Heading("IV. THÔNG TIN CHA, MẸ (TRƯỜNG HỢP CON DƯỚI 7 TUỔI ỐM)"),
        Line((Field("Họ tên cha", s.sick_leave("father"), key="father", width=0.5),
              Field("Họ tên mẹ", s.sick_leave("mother"), key="mother", width=0.5))),
        Field("Ghi chú", s.sick_leave("note"), key="note"),
        DateLine(s.sick_leave_date),
        blocks.head_and(Signature(s.title("practitioner"), s.sick_leave_author, key="doctor", role="author")),
    ),
)
