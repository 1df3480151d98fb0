"""07/BV2 Phiếu theo dõi truyền dịch (TT 32/2023 PL XXIX; the code from the PL XXIX list, the items
secondary — the long-standing layout: one row per bottle with the fluid, its volume, batch, the rate in
drops per minute, start and end, the ordering doctor and the nurse). The whole stay on one sheet, from the
stay's infusions (clinical.infusion)."""
from __future__ import annotations

from benhan.documents.forms import sheets, sources as s, transfusion_sources as t
from benhan.documents.layout.model import Column, Field, Form, Line, Table

COLUMNS = (Column("NGÀY", 0.125), Column("TÊN DỊCH TRUYỀN, HÀM LƯỢNG", 0.19), Column("SỐ LƯỢNG (ml)", 0.09),
           Column("SỐ LÔ, NƠI SẢN XUẤT", 0.12), Column("TỐC ĐỘ (giọt/phút)", 0.08), Column("BẮT ĐẦU", 0.075),
           Column("KẾT THÚC", 0.11), Column("BÁC SĨ CHỈ ĐỊNH", 0.105), Column("ĐIỀU DƯỠNG", 0.105))

FORM = Form(
    key="infusion", code="07/BV2", title="PHIẾU THEO DÕI TRUYỀN DỊCH", national_heading=False,
    identifiers=(Field("Số vào viện", s.record_number, key="record-number", code=True),),
    record_number=s.record_number, needs=("MedicationAdministration", "Condition"),
    document_type=("28570-0", "Procedure note"),
    body=(
        Line((Field("Họ tên người bệnh", s.name, key="name", width=0.55, caps=True),
              Field("Tuổi", s.age, key="age", width=0.15, code=True),
              Field("Giới", s.gender_words, key="gender", width=0.30))),
        Line((Field("Khoa", s.department, key="department", width=0.5),
              Field("Buồng", sheets.room, key="room", width=0.25),
              Field("Giường", sheets.bed, key="bed", width=0.25))),
        Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis"),
        Table("infusions", COLUMNS, t.infusion_rows, min_rows=6),
    ),
)
