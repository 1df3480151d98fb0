"""What one e-invoice says, before it is XML: the parties, the lines, the totals (Decimal, whole đồng)
and, for a correction, the invoice it adjusts. Amounts of a decrease are negative (TT 91 Đ10)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

CONSUMER = "Bán cho người tiêu dùng"      # the buyer who gives no name or number (§6.2)
ORIGINAL, REPLACING, ADJUSTING = "0", "1", "2"   # TCHDon: the invoice's relation to an earlier one
PAYMENT, DAILY, INSURER, CORRECTION = "payment", "daily", "insurer", "correction"


@dataclass(frozen=True)
class Party:
    name: str
    tax_code: str = ""          # MST (or the state budget unit code)
    personal_id: str = ""       # CCDan: the 12-digit CCCD of a person without a tax code
    address: str = ""
    person: str = ""            # HVTNMHang: the person who buys (a patient) when the buyer is a person


@dataclass(frozen=True)
class Line:
    name: str
    amount: Decimal             # ThTien, whole đồng; negative in a decreasing adjustment
    unit: str = "Lần"
    quantity: Decimal = Decimal(1)
    code: str = ""              # MHHDVu: the bill number the line stands for


@dataclass(frozen=True)
class Related:
    """TTHDLQuan: the invoice a correction adjusts or replaces."""
    template: str
    symbol: str
    number: int
    issued: date
    note: str = ""


@dataclass(frozen=True)
class EInvoice:
    purpose: str                # payment, daily, insurer, correction (benhan's own: which rule made it)
    template: str               # KHMSHDon
    symbol: str                 # KHHDon, 6 characters (C26TBV)
    number: int                 # SHDon
    issued: date                # NLap
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    vat: str = "KCT"            # TSuat of every line: medical services are outside VAT (⚠ §6.1)
    payment_method: str = "TM/CK"
    provider_tax_code: str = ""
    relation: str = ORIGINAL
    related: Related | None = None
    extra: dict = field(default_factory=dict)

    @property
    def part_id(self) -> str:
        """The Id of DLHDon, what the signature references."""
        return f"HD-{self.symbol}-{self.number:08d}"

    @property
    def net(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def tax(self) -> Decimal:
        rate = vat_rate(self.vat)
        return (self.net * rate / 100).quantize(Decimal(1)) if rate else Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


def vat_rate(vat: str) -> Decimal:
    """The percentage of a TSuat: 0 for KCT/KKKNT (no VAT), else "5%" → 5."""
    text = vat.strip().upper()
    if text in ("KCT", "KKKNT", ""):
        return Decimal(0)
    return Decimal(text.rstrip("%"))
