"""The charge line: one service, drug, supply, bed-day or exam of an encounter, priced on its date
of service and split between the BHYT fund, the patient's co-payment, the patient's own payment and
other sources. The cashier, the cost statement (bảng kê 01/KBCB) and the BHYT claim tables (XML2,
XML3) all read these lines, so the money is computed once.

All amounts are ``Decimal`` VND with 2 decimals (QĐ 130 as amended by QĐ 4750/3176); the per-line
invariant ``amount == patient_self + patient_copay + bhyt_paid + other_sources`` holds for every line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ZERO = Decimal("0.00")

# What kind of line it is; the claim tables split on it (drugs → XML2, the rest → XML3).
KINDS = ("drug", "service", "supply", "bed", "exam", "blood", "transport")


@dataclass(frozen=True)
class ChargeLine:
    encounter_id: str
    kind: str                    # one of KINDS
    code: str                    # the catalogue code (MA_DICH_VU / MA_THUOC / MA_VAT_TU)
    name: str
    unit: str                    # DON_VI_TINH
    quantity: Decimal            # SO_LUONG (up to 3 decimals)
    unit_price: Decimal          # DON_GIA_BV: the facility's price on the date of service
    amount: Decimal              # THANH_TIEN_BV
    insured_amount: Decimal      # THANH_TIEN_BH: the part BHYT prices (0 when BHYT never pays the line)
    bhyt_paid: Decimal           # T_BHTT
    patient_copay: Decimal       # T_BNCCT
    patient_self: Decimal        # T_BNTT
    other_sources: Decimal = ZERO  # T_NGUONKHAC
    service_time: datetime | None = None   # NGAY_YL / NGAY_TH_YL: the order or the act
    benefit_rate: Decimal = Decimal("0")   # MUC_HUONG (%)
    service_rate: Decimal = Decimal("100") # TYLE_TT_DV (%), e.g. 30 for a second specialty exam
    insurance_rate: Decimal = Decimal("100")  # TYLE_TT_BH (%)
    insured_unit_price: Decimal | None = None  # DON_GIA_BH when it differs from DON_GIA_BV
    ceiling: Decimal | None = None         # T_TRANTT, for supplies with a ceiling
    cost_group: str = ""                   # MA_NHOM (nhóm chi phí, QĐ 130 PL)
    department: str = ""                   # MA_KHOA
    practitioner: str = ""                 # MA_BAC_SI (practising certificate number)
    source_ref: str = ""                   # "ServiceRequest/…", "MedicationRequest/…": what the record holds
    charge_item_id: str = ""               # the FHIR ChargeItem written for the line, once written
    extra: dict = field(default_factory=dict, compare=False)  # per-table fields (MA_BENH, LIEU_DUNG …)


@dataclass(frozen=True)
class Bill:
    """What one encounter costs and who owes it; the cashier takes ``patient_due`` and the claim
    asks the fund for ``bhyt_due``."""
    number: str                  # the bill number printed on the receipt and put in the VietQR data
    encounter_id: str
    patient_id: str
    patient_name: str
    issued: datetime
    lines: tuple[ChargeLine, ...]
    invoice_id: str = ""         # the FHIR Invoice

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def bhyt_due(self) -> Decimal:
        return sum((line.bhyt_paid for line in self.lines), ZERO)

    @property
    def patient_due(self) -> Decimal:
        return sum((line.patient_copay + line.patient_self for line in self.lines), ZERO)
