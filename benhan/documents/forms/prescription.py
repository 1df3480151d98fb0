"""Đơn thuốc, TT 26/2025/TT-BYT PL I (forms-tt32.md §3), A5: the national prescription code top
right, the patient (age in months, weight and the person bringing a child under 72 months), the
diagnosis with ICD-10, one line per drug, the advice and follow-up, the prescriber."""
from __future__ import annotations

from benhan.documents.forms import sources as s
from benhan.documents.layout.model import (Column, DateLine, Digits, Field, Form, Line, Note, Signature, Signatures,
                                           Table)

FORM = Form(
    key="prescription", code="Phụ lục I, Thông tư 26/2025/TT-BYT", code_prefix="", title="ĐƠN THUỐC",
    page="A5", national_heading=False,
    identifiers=(Field("Mã đơn thuốc", s.prescription_code, key="prescription-code", code=True),),
    record_number=s.record_number, needs=("Condition", "MedicationRequest"),
    document_type=("57833-6", "Prescription for medication"),
    body=(
        Line((Field("Họ và tên", s.name, key="name", width=0.64, caps=True),
              Field("Ngày sinh", s.birth_date, key="birth", width=0.36, code=True))),
        Line((Field("Tuổi", s.age, key="age", width=0.25, code=True),
              Field("Giới tính", s.gender_words, key="gender", width=0.35),
              Field("Cân nặng (kg)", s.vital("weight"), key="weight", width=0.40, code=True))),
        Line((Field("Tuổi (tháng, trẻ dưới 72 tháng)", s.age_in_months, key="age-months", width=0.5, code=True),
              Field("Người đưa trẻ đến khám", s.child_companion, key="companion", width=0.5))),
        Digits("Số CCCD/định danh cá nhân/hộ chiếu", s.cccd, 12, key="cccd"),
        Digits("Số thẻ BHYT", s.bhyt_number, 15, key="bhyt"),
        Field("Địa chỉ liên hệ", s.address, key="address"),
        Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis", lines=2),
        Table("drugs", (Column("STT", 0.09), Column("Thuốc điều trị (tên, hàm lượng)", 0.38), Column("Số lượng", 0.15),
                        Column("Cách dùng", 0.38)), s.drug_rows, min_rows=1),
        Field("Lời dặn", s.advice, key="advice", lines=2),
        Field("Hẹn tái khám", s.follow_up, key="follow-up"),
        Line((Field("Ngày kê đơn", s.prescribed_on_text, key="prescribed-on",
                    width=0.5, code=True),
              Field("Điện thoại liên hệ", s.phone, key="phone", width=0.5, code=True))),
        Note("Khám lại xin mang theo đơn này. Đơn thuốc có giá trị mua, lĩnh thuốc trong 05 ngày kể từ ngày kê đơn."),
        DateLine(s.prescribed_on),
        Signatures((Signature(s.title("prescriber"), s.prescriber, key="prescriber", role="author"),)),
    ),
)
