"""Phiếu chăm sóc (forms-tt32.md §2.4; TT 32 gives 37/BV2 and 38/BV2 by care level without a field
list, so the QĐ 4069 layout MS 09/BV-01 is printed): the patient line, then Ngày | Giờ, phút | Theo dõi
diễn biến | Thực hiện y lệnh/chăm sóc | Ký tên, one row per nurse's entry with the nurse's full name.

`FORM` ("nursing") is the whole stay; `DAY` ("nursing-day:YYYY-MM-DD") one day's sheet, signed by its nurse."""
from __future__ import annotations

from benhan.documents.forms import sheets, sources as s
from benhan.documents.forms.treatment_sheet import IDENTIFIERS, PATIENT
from benhan.documents.layout.model import Column, DateLine, Field, Form, Signature, Signatures, Table

COLUMNS = (Column("Ngày", 0.13), Column("Giờ, phút", 0.08), Column("Theo dõi diễn biến", 0.31),
           Column("Thực hiện y lệnh/chăm sóc", 0.30), Column("Ký tên", 0.18))
DOCUMENT_TYPE = ("34746-8", "Nurse Note")
NEEDS = ("ClinicalImpression", "Condition")
SUBTITLE = "(Điều dưỡng ghi)"

FORM = Form(key="nursing", code="09/BV-01", title="PHIẾU CHĂM SÓC", subtitle=SUBTITLE, national_heading=False,
            identifiers=IDENTIFIERS, record_number=s.record_number, needs=NEEDS, document_type=DOCUMENT_TYPE,
            body=(*PATIENT, Table("entries", COLUMNS, sheets.nursing_rows(per_day=False), min_rows=3)))

DAY = Form(key="nursing-day", code="09/BV-01", title="PHIẾU CHĂM SÓC", subtitle=SUBTITLE, national_heading=False,
           identifiers=(*IDENTIFIERS, Field("Ngày", sheets.the_day_text, key="day", code=True)),
           record_number=s.record_number, needs=NEEDS, document_type=DOCUMENT_TYPE,
           body=(*PATIENT, Table("entries", COLUMNS, sheets.nursing_rows(per_day=True), min_rows=3)),
           closing=(DateLine(sheets.the_day),
                    Signatures((Signature(sheets.title("nurse"), sheets.last_signer(sheets.nursing_entries),
                                          key="nurse", role="author"),))))
