"""The bank statement import: the CSV a facility downloads from its bank's internet banking, each
credit matched to a bill by the bill number in the transfer's description (the VietQR code puts it
there, vn/vietqr.py) and by the amount, and recorded as a VietQR payment. docs/cashier.md.

What Vietnamese banks' exports look like, and what is tolerated:
- a few lines about the account before the header row (the header is the first row naming a date,
  an amount and a description column), and totals after the data (rows without a date);
- comma, semicolon or tab separated; UTF-8 with or without BOM, or Windows-1258/1252;
- headers in Vietnamese or English, with or without diacritics ("Ngày giao dịch", "Ngay GD",
  "Transaction date"; "Số tiền", "Ghi có", "Credit"; "Nội dung", "Diễn giải", "Description";
  "Số tham chiếu", "Mã GD", "Reference"); one signed amount column or a debit and a credit column;
- amounts "1.234.567", "1,234,567", "1.234.567,00", "+500000", "500,000 VND"; dates dd/mm/yyyy,
  dd-mm-yyyy, yyyy-mm-dd, with or without a time.

Each credit has a key: the bank's reference when the file has one, otherwise a digest of its date,
amount, description and its rank among identical lines — so importing the same file twice records
nothing twice (the key is the receipt's bank-transaction identifier, payments.BANK_TRANSACTION).
A credit for more than the bill still owes is not recorded (shown for the cashier to decide); less
is recorded as a part payment and shown as such.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from benhan import errors
from benhan.auth.actor import Actor
from benhan.billing import accounts, payments
from benhan.billing.lines import Bill
from benhan.fhir.text import fold
from benhan.store.repository import Repository

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20000

# Column names after fold(): lower case, no diacritics.
_DATE = ("ngay giao dich", "ngay gd", "ngay", "transaction date", "date", "ngay hach toan", "posting date",
         "ngay hieu luc", "value date", "thoi gian", "ngay thuc hien")
_AMOUNT = ("so tien", "amount", "so tien giao dich", "so tien gd")
_CREDIT = ("ghi co", "so tien ghi co", "phat sinh co", "credit", "credit amount", "co", "tien vao")
_DEBIT = ("ghi no", "so tien ghi no", "phat sinh no", "debit", "debit amount", "no", "tien ra")
_CONTENT = ("noi dung", "noi dung giao dich", "noi dung chuyen khoan", "dien giai", "mo ta", "description",
            "content", "details", "transaction details", "remark", "remarks", "narrative", "noi dung gd")
_REFERENCE = ("so tham chieu", "ma giao dich", "ma gd", "so but toan", "reference", "ref", "reference no",
              "transaction id", "so ct", "so chung tu", "ma tham chieu", "trace", "so giao dich", "ref no")

PAID, PARTIAL, OVER, UNMATCHED, ALREADY, FAILED = "paid", "partial", "over", "unmatched", "already", "failed"


class Unreadable(errors.BankStatementUnreadable):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Credit:
    row: int                  # the line number in the file
    when: date
    amount: Decimal
    content: str
    reference: str            # the bank's, or empty
    key: str                  # what makes a re-import a no-op


@dataclass
class Outcome:
    credit: Credit
    status: str               # PAID, PARTIAL, OVER, UNMATCHED, ALREADY, FAILED
    bill_number: str = ""
    invoice_id: str = ""
    owed: Decimal | None = None     # what the bill still owed before this line
    receipt: str = ""
    note: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    debits: int = 0                 # outgoing lines, not the cashier's business

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def recorded(self) -> Decimal:
        return sum((o.credit.amount for o in self.outcomes if o.status in (PAID, PARTIAL)), Decimal(0))


# --- reading the file --------------------------------------------------------------------------

def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise Unreadable("bank.err.too-large", f"the file is larger than {MAX_BYTES // 1024 // 1024} MB")
    for encoding in ("utf-8-sig", "cp1258", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("bank.err.not-csv", "the file is not text")


def _rows(text: str) -> list[list[str]]:
    sample = "\n".join(text.splitlines()[:40])
    counts = {d: sample.count(d) for d in (";", ",", "\t")}
    delimiter = max(counts, key=counts.get) if any(counts.values()) else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    folded = [fold(h).strip(" :*") for h in header]
    for name in names:                   # the most specific name first
        if name in folded:
            return folded.index(name)
    return None


def parse_amount(raw: str) -> Decimal | None:
    """A bank's amount text as a Decimal (negative for "(500.000)" or "-500,000"); None when empty."""
    text = (raw or "").strip().upper().replace("VND", "").replace("Đ", "").replace(" ", "").replace("\u00a0", "")
    if text in ("", "-", "0"):
        return None if text != "0" else Decimal(0)
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()+-")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", text) or re.fullmatch(r"\d+,\d{1,2}", text):
        text = text.replace(".", "").replace(",", ".")      # 1.234.567,00 (Vietnamese style)
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")                          # 1,234,567.00
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite():
        raise ValueError(raw)
    return -value if negative else value


def parse_date(raw: str) -> date:
    text = (raw or "").strip().split(" ")[0].split("T")[0]
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(raw)


def read_statement(data: bytes) -> tuple[list[Credit], int]:
    """The credits of a statement file, and how many debit lines it held."""
    rows = _rows(_text(data))[:MAX_ROWS]
    for start, header in enumerate(rows[:60]):
        col_date, col_content = _find(header, _DATE), _find(header, _CONTENT)
        col_amount, col_credit = _find(header, _AMOUNT), _find(header, _CREDIT)
        if col_date is not None and col_content is not None and (col_amount is not None or col_credit is not None):
            break
    else:
        raise Unreadable("bank.err.no-header", "no header row naming the date, amount and description columns")
    col_debit, col_ref = _find(header, _DEBIT), _find(header, _REFERENCE)
    credits: list[Credit] = []
    debits = 0
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[start + 1:], start=start + 2):
        cell = lambda i: row[i].strip() if i is not None and i < len(row) else ""  # noqa: E731
        try:
            when = parse_date(cell(col_date))
        except ValueError:
            continue                    # a totals line, a blank line, the bank's footer
        try:
            amount = parse_amount(cell(col_credit)) if col_credit is not None else parse_amount(cell(col_amount))
            if col_credit is not None and not amount and col_amount is not None:
                amount = parse_amount(cell(col_amount))
            debit = parse_amount(cell(col_debit)) if col_debit is not None else None
        except ValueError:
            raise Unreadable("bank.err.amount", f"line {number}: {row!r} has an amount that is not a number") from None
        if not amount or amount <= 0:
            debits += 1 if (debit or amount) else 0
            continue
        content, reference = cell(col_content), cell(col_ref)
        if reference:
            key = reference
        else:
            base = f"{when.isoformat()}|{amount}|{' '.join(content.split())}"
            seen[base] = seen.get(base, 0) + 1
            key = "sha1:" + hashlib.sha1(f"{base}|{seen[base]}".encode()).hexdigest()[:20]
        credits.append(Credit(number, when, amount, content, reference, key[:64]))
    return credits, debits


# --- matching and recording --------------------------------------------------------------------

def _squash(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", fold(text).upper())


def _paid_bill(repo: Repository, content: str) -> tuple[str, str] | None:
    """A bill number in the text whose Invoice is already paid (not among the open bills)."""
    for token in re.findall(r"HD[0-9A-Z]{6,23}", re.sub(r"[^0-9A-Z]+", " ", fold(content).upper())):
        found = repo.search_type("Invoice", [("identifier", f"{accounts.BILL_SYSTEM}|{token}"), ("_count", "1")])
        if found.matches:
            return token, found.matches[0].res_id
    return None


def import_statement(repo: Repository, actor: Actor, data: bytes, *, now: datetime,
                     bills: list[Bill] | None = None) -> Report:
    """Read the file, match each credit, record what matches; the report says what became of each line."""
    credits, debits = read_statement(data)
    report = Report(debits=debits)
    open_ = bills if bills is not None else accounts.open_bills(repo, on=now.date())
    # Longest numbers first, so HD12 never takes a transfer meant for HD123.
    by_number = sorted(((_squash(b.number), b) for b in open_ if b.number), key=lambda nb: -len(nb[0]))
    for credit in credits:
        if payments.find_by_bank_reference(repo, credit.key):
            report.outcomes.append(Outcome(credit, ALREADY))
            continue
        content = _squash(credit.content)
        bill = next((b for n, b in by_number if n and n in content), None)
        if bill is None:
            paid = _paid_bill(repo, credit.content)
            if paid:
                report.outcomes.append(Outcome(credit, OVER, paid[0], paid[1], Decimal(0)))
            else:
                report.outcomes.append(Outcome(credit, UNMATCHED))
            continue
        owed = payments.due(repo, bill)
        if credit.amount > owed:
            report.outcomes.append(Outcome(credit, OVER, bill.number, bill.invoice_id, owed))
            continue
        try:
            receipt = payments.record_payment(repo, actor, bill, credit.amount, payments.VIETQR, now=now,
                                              reference=credit.key)
        except payments.Refused as refused:
            report.outcomes.append(Outcome(credit, FAILED, bill.number, bill.invoice_id, owed, note=refused.key))
            continue
        report.outcomes.append(Outcome(credit, PAID if credit.amount == owed else PARTIAL, bill.number,
                                       bill.invoice_id, owed, receipt.number))
    return report
