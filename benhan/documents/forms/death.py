"""Giấy báo tử, TT 25/2025/TT-BYT Mẫu 05 (forms-tt32.md §2.12): the facility, số and quyển số, the
deceased (name in capitals, birth, sex, ethnicity, nationality, residence, identity number), the
admission time, the time of death in digits and in words (blank when unknown), the tick box "died on
the way to emergency care" and the cause of death; signed by a relative, the writer and the head (with
the stamp). Everything from the death recorded at discharge (clinical.outcome). Given to the family:
no abbreviation."""
from __future__ import annotations

from benhan.documents.forms import sources as s
from benhan.documents.layout.model import DateLine, Field, Form, Line, Signature, Signatures, Ticks

FORM = Form(
    key="death", code="Mẫu 05, Thông tư 25/2025/TT-BYT", code_prefix="", title="GIẤY BÁO TỬ",
    given_to_patient=True,
    identifiers=(Field("Số", s.nobody, key="number", code=True),
                 Field("Quyển số", s.nobody, key="book", code=True),
                 Field("Mã hồ sơ", s.record_number, key="record-number", code=True)),
    record_number=s.record_number, needs=("Condition",),
    document_type=("64297-5", "Death certificate"),
    body=(
        Field("Họ và tên người tử vong", s.name, key="name", caps=True),
        Line((Field("Ngày, tháng, năm sinh", s.birth_date, key="birth", width=0.55, code=True),
              Field("Giới tính", s.gender_words, key="gender", width=0.45))),
        Line((Field("Dân tộc", s.ethnicity, key="ethnicity", width=0.5),
              Field("Quốc tịch", s.nationality, key="nationality", width=0.5))),
        Field("Nơi thường trú/tạm trú", s.address, key="address", lines=2),
        Field("Số định danh cá nhân hoặc giấy tờ tùy thân", s.cccd, key="cccd", code=True),
        Field("Vào viện lúc", s.arrived, key="arrived", code=True),
        Field("Tử vong lúc", s.death_time, key="death-time", code=True),
        Field("Bằng chữ", s.death_time_words, key="death-words", lines=2),
        Ticks("Trường hợp", "tren-duong-cap-cuu", s.nobody, key="on-the-way"),
        Field("Nguyên nhân tử vong", s.death_cause, key="cause", lines=2),
        DateLine(s.end_day),
        Signatures((Signature(s.title("death-relative"), s.nobody, key="relative"),
                    Signature(s.title("death-writer"), s.summary_author, key="writer", role="author"),
                    Signature(s.head_title, s.nobody, key="head", role="seal"))),
    ),
)
