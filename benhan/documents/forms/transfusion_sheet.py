"""Phiếu truyền máu, the blood transfusion sheet: one sheet per unit given ("transfusion:<Procedure id>";
clinical.transfusion). TT 32/2023 gives it no number (forms-tt32.md): the code printed is the setting
transfusion_form_code, by default the old layout's 25/BV-01 that facilities still use
(`TransfusionSheet.for_item`, as the treatment sheet prints the QĐ 4069 code 39/BV-01). Items, in the old
layout's order: the patient, the order, the unit (product, bag number, volume, the two ABO/Rh groups),
the bedside checks (định nhóm tại giường, phản ứng chéo), start, end and rate, the readings during the
transfusion, the reaction and what was done, the ordering doctor (who signs the electronic sheet) and the nurse who gave it."""
from __future__ import annotations

import dataclasses

from benhan.documents.forms import sheets, sources as s, transfusion_sources as t
from benhan.documents.forms.data import FormData
from benhan.documents.layout.model import (Column, DateLine, Field, Form, Heading, Line, Signature, Signatures,
                                           Table, Ticks)


@dataclasses.dataclass(frozen=True)
class TransfusionSheet(Form):
    def for_item(self, d: FormData) -> Form:
        """The facility's code for the sheet when it set one (transfusion_form_code)."""
        return dataclasses.replace(self, code=d.form_codes.get(self.key) or self.code)


CHECK_COLUMNS = (Column("GIỜ, NGÀY", 0.31), Column("MẠCH (lần/phút)", 0.23), Column("HUYẾT ÁP (mmHg)", 0.23),
                 Column("NHIỆT ĐỘ (°C)", 0.23))

FORM = TransfusionSheet(
    key="transfusion", code="25/BV-01", title="PHIẾU TRUYỀN MÁU", national_heading=False,
    identifiers=(Field("Số vào viện", s.record_number, key="record-number", code=True),),
    record_number=s.record_number, needs=("Procedure", "Observation", "Condition"),
    document_type=("28570-0", "Procedure note"),
    body=(
        Line((Field("Họ tên người bệnh", s.name, key="name", width=0.55, caps=True),
              Field("Tuổi", s.age, key="age", width=0.15, code=True),
              Field("Giới", s.gender_words, key="gender", width=0.30))),
        Line((Field("Khoa", s.department, key="department", width=0.5),
              Field("Buồng", sheets.room, key="room", width=0.25),
              Field("Giường", sheets.bed, key="bed", width=0.25))),
        Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis"),
        Field("Y lệnh truyền máu", t.order, key="order", lines=2),
        Heading("I. ĐƠN VỊ MÁU, CHẾ PHẨM MÁU"),
        Line((Field("Chế phẩm", t.product, key="product", width=0.4),
              Field("Mã số túi máu", t.bag, key="bag", width=0.35, code=True),
              Field("Thể tích (ml)", t.volume, key="volume", width=0.25, code=True))),
        Line((Field("Nhóm máu người bệnh (ABO/Rh)", t.group("patient"), key="patient-group", width=0.5, code=True),
              Field("Nhóm máu túi máu (ABO/Rh)", t.group("unit"), key="unit-group", width=0.5, code=True))),
        Heading("II. KIỂM TRA TẠI GIƯỜNG TRƯỚC KHI TRUYỀN"),
        Line((Ticks("Định nhóm máu tại giường", "ket-qua-kiem-tra", t.check("bedside-check"), key="bedside",
                    width=0.5),
              Ticks("Phản ứng chéo", "ket-qua-kiem-tra", t.check("crossmatch"), key="crossmatch", width=0.5))),
        Heading("III. THEO DÕI TRUYỀN MÁU"),
        Line((Field("Bắt đầu truyền lúc", t.start, key="start", width=0.38, code=True),
              Field("Kết thúc lúc", t.end, key="end", width=0.34, code=True),
              Field("Tốc độ (giọt/phút)", t.rate, key="rate", width=0.28, code=True))),
        Table("checks", CHECK_COLUMNS, t.check_rows, min_rows=4),
        Field("Phản ứng truyền máu (nếu có)", t.reaction, key="reaction", lines=2),
        Field("Xử trí", t.reaction_action, key="action", lines=2),
    ),
    closing=(
        DateLine(t.start_date),
        # The doctor signs digitally (roles: a nurse has no sign-document act); the nurse by hand on paper.
        Signatures((Signature(s.title("transfusion-doctor"), t.doctor, key="doctor", role="author"),
                    Signature(s.title("transfusion-nurse"), t.nurse, key="nurse"))),
    ),
)
