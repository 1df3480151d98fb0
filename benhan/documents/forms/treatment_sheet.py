"""Tờ điều trị (forms-tt32.md §2.3; no TT 32 code found, printed in the QĐ 4069 layout MS 39/BV-01):
the patient line, then three columns — Ngày giờ, Diễn biến bệnh (the physician's progress note),
Y lệnh (the orders written with it, the drugs with dose, route and times, the services ordered) —
one row per physician entry, day after day, each closed by its author's full name.

`FORM` ("treatment") is the whole stay; `DAY` ("treatment-day:YYYY-MM-DD", the day as the form key's
part, printing.split) the sheet of one day, a document of its own the day's physician signs
(issue 13 item 1)."""
from __future__ import annotations

from benhan.documents.forms import sheets, sources as s
from benhan.documents.layout.model import Column, DateLine, Field, Form, Line, Signature, Signatures, Table

PATIENT = (
    Line((Field("Họ tên người bệnh", s.name, key="name", width=0.55, caps=True),
          Field("Tuổi", s.age, key="age", width=0.15, code=True),
          Field("Giới", s.gender_words, key="gender", width=0.30))),
    Line((Field("Khoa", s.department, key="department", width=0.5),
          Field("Buồng", sheets.room, key="room", width=0.25),
          Field("Giường", sheets.bed, key="bed", width=0.25))),
    Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis"),
)
COLUMNS = (Column("NGÀY GIỜ", 0.14), Column("DIỄN BIẾN BỆNH", 0.43), Column("Y LỆNH", 0.43))
NEEDS = ("ClinicalImpression", "MedicationRequest", "ServiceRequest", "Condition")
DOCUMENT_TYPE = ("11506-3", "Progress note")
IDENTIFIERS = (Field("Số vào viện", s.record_number, key="record-number", code=True),)

FORM = Form(key="treatment", code="39/BV-01", title="TỜ ĐIỀU TRỊ", national_heading=False,
            identifiers=IDENTIFIERS, record_number=s.record_number, needs=NEEDS, document_type=DOCUMENT_TYPE,
            body=(*PATIENT, Table("entries", COLUMNS, sheets.treatment_rows(per_day=False), min_rows=3)))

DAY = Form(key="treatment-day", code="39/BV-01", title="TỜ ĐIỀU TRỊ", national_heading=False,
           identifiers=(*IDENTIFIERS, Field("Ngày", sheets.the_day_text, key="day", code=True)),
           record_number=s.record_number, needs=NEEDS, document_type=DOCUMENT_TYPE,
           body=(*PATIENT, Table("entries", COLUMNS, sheets.treatment_rows(per_day=True), min_rows=3)),
           closing=(DateLine(sheets.the_day),
                    Signatures((Signature(s.title("treating-doctor"), sheets.last_signer(sheets.treatment_entries),
                                          key="doctor", role="author"),))))
