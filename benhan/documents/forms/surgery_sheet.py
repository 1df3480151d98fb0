"""06/BV2 Phiếu phẫu thuật/thủ thuật (TT 32/2023 PL XXIX; forms-tt32.md §2.10 — the field list is
secondary, from templates of the old MS 06/BV-02): the patient, when, the diagnoses before and after,
the method, its class, the anaesthesia, the team by full name, the drawing box, drains and stitches
(not recorded in benhan: dotted lines), the complications that followed it, the narrative (trình tự),
the surgeon's signature. Read from one Procedure of the visit ("surgery:<id>", else the latest)."""
from __future__ import annotations

from benhan.documents.forms import procedure_sources as c, sources as s
from benhan.documents.layout.model import DateLine, Field, Form, Line, Signature, Signatures, Ticks

FORM = Form(
    key="surgery", code="06/BV2", title="PHIẾU PHẪU THUẬT/THỦ THUẬT", national_heading=False,
    identifiers=(Field("Số vào viện", s.record_number, key="record-number", code=True),),
    record_number=s.record_number, needs=("Procedure", "Condition"),
    document_type=("11504-8", "Surgical operation note"),
    body=(
        Line((Field("Họ tên người bệnh", s.name, key="name", width=0.55, caps=True),
              Field("Tuổi", s.age, key="age", width=0.15, code=True),
              Field("Giới tính", s.gender_words, key="gender", width=0.3))),
        Line((Field("Khoa", s.department, key="department", width=0.5),
              Field("Buồng", s.nobody, key="room", width=0.25),
              Field("Giường", s.nobody, key="bed", width=0.25))),
        Field("Vào viện lúc", s.arrived, key="arrived", code=True),
        Ticks("Can thiệp", "loai-can-thiep", c.procedure_kind, key="kind"),
        Field("Phẫu thuật/thủ thuật lúc", c.procedure_when, key="when", code=True),
        Field("Chẩn đoán trước phẫu thuật/thủ thuật", c.procedure_dx_before, key="dx-before", lines=2),
        Field("Chẩn đoán sau phẫu thuật/thủ thuật", c.procedure_dx_after, key="dx-after", lines=2),
        Field("Phương pháp phẫu thuật/thủ thuật", c.procedure_name, key="method", lines=2),
        Line((Field("Loại phẫu thuật/thủ thuật", c.procedure_class, key="class", width=0.45),
              Field("Phương pháp vô cảm", c.procedure_anaesthesia, key="anaesthesia", width=0.55))),
        Line((Field("Họ tên bác sĩ phẫu thuật/thủ thuật", c.surgeon, key="surgeon-name", width=0.5),
              Field("Họ tên bác sĩ gây mê hồi sức", c.anaesthetist, key="anaesthetist-name", width=0.5))),
        Field("Lược đồ phẫu thuật/thủ thuật", s.nobody, key="drawing", lines=7),
        Line((Field("Dẫn lưu", s.nobody, key="drain", width=0.5),
              Field("Bấc", s.nobody, key="wick", width=0.5))),
        Line((Field("Ngày rút", s.nobody, key="removed", width=0.5),
              Field("Ngày cắt chỉ", s.nobody, key="stitches-out", width=0.5))),
        Field("Ghi chú khác", s.nobody, key="other"),
        Field("Tai biến, biến chứng", c.procedure_complications, key="complications", lines=2),
        Field("Trình tự phẫu thuật/thủ thuật", c.procedure_description, key="description", lines=8),
    ),
    closing=(
        DateLine(c.procedure_date),
        Signatures((Signature(s.title("surgeon"), c.surgeon, key="surgeon", role="author"),)),
    ),
)
