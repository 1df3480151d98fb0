"""Reading a catalogue file (CSV or XLSX) in the insurer's layout into checked rows.

The columns are those of the facility catalogues sent to the BHYT gateway (vietnam.md §6; forms
01–06/DM of TT 12/2026/TT-BTC): a code, a name, a unit, a price, and the validity dates TU_NGAY /
DEN_NGAY as yyyymmdd. Headers are matched without case or accents, in any order; extra columns are
ignored. Each data row keeps its line number (the header is line 1) so errors can point at it.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from benhan.fhir.text import fold

DRUG, SERVICE, SUPPLY = "drug", "service", "supply"
KINDS = (DRUG, SERVICE, SUPPLY)

# kind → (code column, name column, required columns, optional columns)
COLUMNS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    DRUG: ("MA_THUOC", "TEN_THUOC", ("MA_THUOC", "TEN_THUOC", "DON_VI_TINH", "DON_GIA", "TU_NGAY"),
           ("HAM_LUONG", "DUONG_DUNG", "SO_DANG_KY", "DEN_NGAY", "HOAT_CHAT")),
    SERVICE: ("MA_DICH_VU", "TEN_DICH_VU", ("MA_DICH_VU", "TEN_DICH_VU", "DON_GIA", "TU_NGAY"),
              ("DON_VI_TINH", "DEN_NGAY", "MA_NHOM")),
    SUPPLY: ("MA_VAT_TU", "TEN_VAT_TU", ("MA_VAT_TU", "TEN_VAT_TU", "DON_VI_TINH", "DON_GIA", "TU_NGAY"),
             ("QUY_CACH", "DEN_NGAY")),
}


# Other spellings of a column seen in the lists facilities keep.
ALIASES = {"TEN_HOAT_CHAT": "HOAT_CHAT"}


class FileProblem(ValueError):
    """The file as a whole cannot be read (missing columns, unknown format); no row is imported."""


@dataclass
class Row:
    line: int
    kind: str
    code: str = ""
    name: str = ""
    unit: str = ""
    price: Decimal | None = None
    start: date | None = None
    end: date | None = None
    extra: dict[str, str] = field(default_factory=dict)     # the optional columns
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What identifies the item: the code; for a drug also its registration number, since MA_THUOC
        is the active-ingredient code that several products share."""
        reg = self.extra.get("SO_DANG_KY", "")
        return f"{self.code}|{reg}" if self.kind == DRUG and reg else self.code


def _header_key(text: str) -> str:
    return fold(str(text or "")).upper().replace(" ", "_")


def parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if text.endswith(".0"):          # a yyyymmdd number read from a spreadsheet as a float
        text = text[:-2]
    for fmt in ("%Y%m%d", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (yyyymmdd)")


def parse_price(value: object) -> Decimal:
    text = str(value).strip().replace(" ", "")
    # Vietnamese spreadsheets write 35.000 or 35,000 for thirty-five thousand đồng; a price with
    # both separators (1.234,5) is read the Vietnamese way.
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") >= 1 and len(text.rsplit(".", 1)[1]) == 3 and text.replace(".", "").isdigit():
        text = text.replace(".", "")
    else:
        text = text.replace(",", "")
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"{value!r} is not a price (a number ≥ 0)")
    return price


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check(kind: str, line: int, raw: dict[str, object]) -> Row:
    code_col, name_col, required, optional = COLUMNS[kind]
    row = Row(line, kind, extra={c: _cell(raw.get(c)) for c in optional if _cell(raw.get(c))})
    for col in required:
        if _cell(raw.get(col)) == "":
            row.problems.append(f"{col} is empty")
    row.code, row.name = _cell(raw.get(code_col)), _cell(raw.get(name_col))
    row.unit = _cell(raw.get("DON_VI_TINH")) or ("lần" if kind == SERVICE else "")
    for col, attr, parse in (("DON_GIA", "price", parse_price), ("TU_NGAY", "start", parse_date),
                             ("DEN_NGAY", "end", parse_date)):
        if _cell(raw.get(col)):
            try:
                setattr(row, attr, parse(raw.get(col)))
            except ValueError as exc:
                row.problems.append(f"{col}: {exc}")
    if row.start and row.end and row.end < row.start:
        row.problems.append(f"DEN_NGAY {row.end:%Y%m%d} is before TU_NGAY {row.start:%Y%m%d}")
    return row


def _records(path: Path) -> list[tuple[int, list[object]]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = path.read_bytes().decode("utf-8-sig")      # Excel writes a BOM before UTF-8 CSV
        return [(i + 1, list(r)) for i, r in enumerate(csv.reader(io.StringIO(text, newline="")))]
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook
        book = load_workbook(path, read_only=True, data_only=True)
        try:            # a read-only workbook holds its file open until closed
            return [(i + 1, list(r)) for i, r in enumerate(book.worksheets[0].iter_rows(values_only=True))]
        finally:
            book.close()
    raise FileProblem(f"{path.name}: a catalogue is a .csv or .xlsx file")


def read(kind: str, path: Path) -> list[Row]:
    """Every non-empty data row of the file, checked; FileProblem when the header is unusable."""
    if kind not in KINDS:
        raise FileProblem(f"unknown catalogue {kind!r}; known: {', '.join(KINDS)}")
    try:
        records = _records(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise FileProblem(f"{path}: cannot be read ({exc})") from None
    except FileProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise FileProblem(f"{path}: not a readable spreadsheet ({type(exc).__name__})") from None
    if not records:
        raise FileProblem(f"{path.name}: the file is empty")
    header_line, header = records[0]
    names = [ALIASES.get(k, k) for k in (_header_key(h) for h in header)]
    missing = [c for c in COLUMNS[kind][2] if c not in names]
    if missing:
        raise FileProblem(f"{path.name}: line {header_line} lacks the column(s) {', '.join(missing)} "
                          f"of a {kind} catalogue")
    rows = []
    for line, values in records[1:]:
        if all(_cell(v) == "" for v in values):
            continue
        rows.append(check(kind, line, dict(zip(names, values))))
    return rows
