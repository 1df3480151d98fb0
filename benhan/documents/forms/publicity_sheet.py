"""Phiếu công khai thuốc, dịch vụ (forms-tt32.md §2.6; no TT 32 code, the facilities' own sheet): a
grid of the drugs (rows) by the days of the stay (columns, seven to a block) with the quantity of
each day and the total, the rows where the nurse and the patient or their relative sign each day,
then the services ordered, counted by day.

The quantities are what the nurses recorded given each day (the stay's MedicationAdministrations of
clinical.administration, held and refused doses not counted); a stay with no dose recorded prints what was
prescribed for each day instead (dose × times a day over the days ordered, sheets.drug_days). No prices: the
unit price and amount columns of some facilities' sheets are the bill's (billing), not printed here."""
from __future__ import annotations

from benhan.documents.forms import sheets, sources as s
from benhan.documents.forms.treatment_sheet import PATIENT
from benhan.documents.layout.model import Column, Field, Form, Heading, Table

_DAYS = tuple(Column("Ngày", 0.075) for _ in range(sheets.WEEK))
DRUG_COLUMNS = (Column("STT", 0.055), Column("Tên thuốc, hàm lượng", 0.255), Column("Đơn vị", 0.07), *_DAYS,
                Column("Tổng số", 0.095))
SERVICE_COLUMNS = (Column("STT", 0.055), Column("Tên dịch vụ", 0.255), Column("Đơn vị", 0.07), *_DAYS,
                   Column("Tổng số", 0.095))
SIGNERS = ("Điều dưỡng ký", "Người bệnh/người nhà ký")

FORM = Form(
    key="publicity", code="", code_prefix="", title="PHIẾU CÔNG KHAI THUỐC, DỊCH VỤ", national_heading=False,
    identifiers=(Field("Số vào viện", s.record_number, key="record-number", code=True),),
    record_number=s.record_number, needs=("MedicationRequest", "ServiceRequest", "Condition"),
    body=(*PATIENT,
          Heading("I. THUỐC"),
          Table("drugs", DRUG_COLUMNS, sheets.publicity_rows("drugs", SIGNERS), min_rows=0),
          Heading("II. DỊCH VỤ"),
          Table("services", SERVICE_COLUMNS, sheets.publicity_rows("services"), min_rows=0)),
)
