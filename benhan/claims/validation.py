"""Every rule the claim tables must pass before they are sent, checked on the formatted values (so a
file read back, or edited by hand, is checked the same way): the field list (mandatory, type,
size), the code lists, ICD-10 on the date the episode ends, the order of the dates, the per-line
arithmetic and invariant, the XML1 totals against the lines, the links between tables, the tables
an episode type needs.

The report is for the BHYT clerk: in Vietnamese, one line per problem, naming the patient, the
MA_LK, the table, the row and the field (its Vietnamese name and its tag) and what to fix.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from benhan.billing import coverage
from benhan.claims.fields import BY_NAME, FIELDS
from benhan.claims.tables import Table
from benhan.terminology import sources
from benhan.vn.bhyt import bhyt_problems

CENT = Decimal("0.01")
TT06_FROM = date(2026, 7, 1)     # TT 06/2026 Đ6 k2: the ICD list in force when the episode ends

# Vietnamese names of the fields a clerk most often fixes (the tag is always shown too).
LABELS = {
    "MA_LK": "mã liên kết", "HO_TEN": "họ tên", "NGAY_SINH": "ngày sinh", "GIOI_TINH": "giới tính",
    "MA_THE_BHYT": "mã thẻ BHYT", "MA_DKBD": "nơi đăng ký KCB ban đầu", "GT_THE_TU": "thẻ có giá trị từ",
    "GT_THE_DEN": "thẻ có giá trị đến", "MA_BENH_CHINH": "mã bệnh chính", "MA_BENH_KT": "mã bệnh kèm theo",
    "CHAN_DOAN_RV": "chẩn đoán ra viện", "NGAY_VAO": "ngày vào", "NGAY_RA": "ngày ra", "NGAY_YL": "ngày y lệnh",
    "NGAY_TH_YL": "ngày thực hiện y lệnh", "NGAY_KQ": "ngày có kết quả", "MA_LOAI_KCB": "mã loại KCB",
    "MA_DOITUONG_KCB": "mã đối tượng KCB", "MA_KHOA": "mã khoa", "MA_CSKCB": "mã cơ sở KCB",
    "T_TONGCHI_BV": "tổng chi phí bệnh viện", "T_TONGCHI_BH": "tổng chi phí trong phạm vi BHYT",
    "T_THUOC": "tổng tiền thuốc", "T_VTYT": "tổng tiền vật tư y tế", "T_BHTT": "BHYT thanh toán",
    "T_BNCCT": "người bệnh cùng chi trả", "T_BNTT": "người bệnh tự trả", "T_NGUONKHAC": "nguồn khác",
    "THANH_TIEN_BV": "thành tiền bệnh viện", "THANH_TIEN_BH": "thành tiền BHYT", "SO_LUONG": "số lượng",
    "DON_GIA": "đơn giá", "DON_GIA_BV": "đơn giá bệnh viện", "MA_NHOM": "mã nhóm chi phí",
    "KET_QUA_DTRI": "kết quả điều trị", "MA_LOAI_RV": "mã loại ra viện", "PP_DIEUTRI": "phương pháp điều trị",
    "MUC_HUONG": "mức hưởng", "MA_THUOC": "mã thuốc", "MA_DICH_VU": "mã dịch vụ", "MA_VAT_TU": "mã vật tư",
    "SO_CCCD": "số CCCD", "MA_BAC_SI": "mã bác sĩ", "DON_VI_TINH": "đơn vị tính",
}

_TIMESTAMP = re.compile(r"^\d{12}$")
_DATE = re.compile(r"^\d{8}$")
_DIGITS = re.compile(r"^\d+$")
_MONEY = re.compile(r"^-?\d+\.\d{2}$")
_QTY = re.compile(r"^\d+(\.\d{1,3})?$")
_FACILITY = re.compile(r"^[0-9A-Z]{5}$")
# QĐ 1804/2026 PL02: K01–K60 and K99, with sub-codes (K02.D35) and joined specialties (K0102).
_DEPARTMENT = re.compile(r"^K(0[1-9]|[1-5]\d|60|99)(\d{2})*(\.[0-9A-Z]+)?$")

CODE_LISTS = {
    "GIOI_TINH": {"1", "2", "3"},
    "KET_QUA_DTRI": {str(i) for i in range(1, 8)},
    "MA_LOAI_RV": {str(i) for i in range(1, 6)},
    "MA_LOAI_KCB": {f"{i:02d}" for i in range(1, 17)},
    "MA_NHOM": {str(i) for i in range(1, 20)},
    "MA_PTTT": {"1", "2", "3"},
    "PHAM_VI": {"1", "2", "3"},
}


@lru_cache(maxsize=1)
def object_codes() -> frozenset[str]:
    """MA_DOITUONG_KCB codes (QĐ 3276/2025 PL1) from the billing layer's dated route table, the one
    the bill was computed with (data a facility can correct), plus 8 (claim withdrawal)."""
    path = Path(coverage.__file__).parent / "data" / "routes.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return frozenset({row["code"] for row in csv.DictReader(f)} | {"8"})


@dataclass(frozen=True)
class Problem:
    table: str
    row: int            # 1-based row of the table (STT)
    field: str
    message: str        # Vietnamese, what is wrong and what to do
    rule: str           # the error class: required, size, type, code, icd, dates, line, sum, link, table

    def line(self) -> str:
        label = LABELS.get(self.field)
        what = f"{label} ({self.field})" if label else self.field
        where = f"{self.table} dòng {self.row}" if self.row else self.table
        return f"{where}, trường {what}: {self.message}"


@dataclass
class Report:
    ma_lk: str
    patient: str
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"Hồ sơ {self.ma_lk} — người bệnh {self.patient}"
        if self.ok:
            return f"{head}: đạt, có thể gửi cổng giám định."
        lines = [f"{head}: {len(self.problems)} lỗi cần sửa trước khi gửi:"]
        lines += [f"  {i}. {p.line()}" for i, p in enumerate(self.problems, start=1)]
        return "\n".join(lines)


# --- ICD-10 --------------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _icd(version: str) -> dict[str, dict]:
    source = sources.ICD10_TT06 if version == "tt06" else sources.ICD10_QD4469
    return {r["code"]: r for r in sources.rows(source)}


def icd_codes(ended: date) -> dict[str, dict]:
    return _icd("tt06" if ended >= TT06_FROM else "qd4469")


# --- parsing helpers -----------------------------------------------------------------------------

def _dec(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _when(text: str) -> datetime | None:
    if not _TIMESTAMP.match(text or ""):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M")
    except ValueError:
        return None


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


# --- the checks ----------------------------------------------------------------------------------

class _Checker:
    def __init__(self, tables: dict[str, Table]):
        self.tables = tables
        self.problems: list[Problem] = []

    def add(self, table: str, row: int, field: str, message: str, rule: str) -> None:
        self.problems.append(Problem(table, row, field, message, rule))

    def fields(self, table: Table) -> None:
        for i, row in enumerate(table.rows, start=1):
            for f in FIELDS[table.name]:
                value = row.get(f.name, "")
                if not value:
                    if f.required:
                        self.add(table.name, i, f.name, "bắt buộc nhưng đang để trống.", "required")
                    continue
                if f.kind == "S" and len(value) > (f.size if not f.multi else max(f.size, 255 * 4)):
                    self.add(table.name, i, f.name, f"dài {len(value)} ký tự, tối đa {f.size}.", "size")
                    continue
                for part in (value.split(";") if f.multi else [value]):
                    if not self._type_ok(f.kind, f.size, part):
                        self.add(table.name, i, f.name, f"giá trị “{part}” sai định dạng ({_KIND_VI[f.kind]}).", "type")
                        break
                allowed = CODE_LISTS.get(f.name)
                if allowed is not None and value not in allowed:
                    self.add(table.name, i, f.name, f"mã “{value}” không có trong danh mục.", "code")

    @staticmethod
    def _type_ok(kind: str, size: int, value: str) -> bool:
        if kind == "N":
            return bool(_DIGITS.match(value)) and len(value) <= size
        if kind == "M":
            return bool(_MONEY.match(value)) and len(value) <= size + 1
        if kind == "Q":
            return bool(_QTY.match(value))
        if kind == "T":
            return _when(value) is not None
        if kind == "D":
            if not _DATE.match(value):
                return False
            try:
                datetime.strptime(value, "%Y%m%d")
            except ValueError:
                return False
            return True
        return len(value) <= size


_KIND_VI = {"S": "chuỗi ký tự", "N": "số nguyên", "M": "số tiền có 2 chữ số thập phân, dấu chấm",
            "Q": "số có tối đa 3 chữ số thập phân", "T": "ngày giờ yyyyMMddHHmm", "D": "ngày yyyyMMdd"}


def validate(tables: list[Table]) -> Report:
    """All rules over one episode's tables (XML1 first); a Report naming the record."""
    by_name = {t.name: t for t in tables}
    head = by_name.get("XML1")
    summary = head.rows[0] if head and head.rows else {}
    report = Report(summary.get("MA_LK", "?"), summary.get("HO_TEN", "?"), [])
    c = _Checker(by_name)
    if not summary:
        c.add("XML1", 0, "MA_LK", "thiếu bảng tổng hợp XML1.", "table")
        report.problems = c.problems
        return report
    for table in tables:
        c.fields(table)
    _codes(c, summary)
    _links(c, tables, summary)
    _dates(c, by_name, summary)
    _lines(c, by_name)
    _sums(c, by_name, summary)
    _days_and_beds(c, by_name, summary)
    _needed_tables(c, by_name, summary)
    report.problems = c.problems
    return report


def _codes(c: _Checker, s: dict[str, str]) -> None:
    if s.get("MA_DOITUONG_KCB") and s["MA_DOITUONG_KCB"] not in object_codes():
        c.add("XML1", 1, "MA_DOITUONG_KCB", f"mã “{s['MA_DOITUONG_KCB']}” không có trong danh mục QĐ 3276/2025.", "code")
    for name in ("MA_CSKCB", "MA_DKBD", "MA_NOI_DI", "MA_NOI_DEN"):
        if s.get(name) and not _FACILITY.match(s[name]):
            c.add("XML1", 1, name, f"mã cơ sở “{s[name]}” phải có đúng 5 ký tự.", "code")
    if s.get("MA_KHUVUC") and s["MA_KHUVUC"] not in ("K1", "K2", "K3"):
        c.add("XML1", 1, "MA_KHUVUC", f"mã “{s['MA_KHUVUC']}” không phải K1, K2 hoặc K3.", "code")
    for name, table in (("MA_KHOA", "XML1"),):
        for dept in filter(None, s.get(name, "").split(";")):
            if not _DEPARTMENT.match(dept):
                c.add(table, 1, name, f"mã khoa “{dept}” không đúng dạng Kxx của QĐ 1804/2026 (K01–K60, K99).", "code")
    for card in filter(None, s.get("MA_THE_BHYT", "").split(";")):
        if bhyt_problems(card):
            c.add("XML1", 1, "MA_THE_BHYT", f"mã thẻ “{card}” không đúng dạng (15 ký tự, 10 số BHXH hoặc 12 số CCCD).",
                  "code")
    ended = _when(s.get("NGAY_RA", "")) or _when(s.get("NGAY_VAO", ""))
    if ended is None:
        return
    known = icd_codes(ended.date())
    version = "TT 06/2026" if ended.date() >= TT06_FROM else "QĐ 4469/2020"
    main = s.get("MA_BENH_CHINH", "")
    if main:
        row = known.get(main)
        if row is None:
            c.add("XML1", 1, "MA_BENH_CHINH", f"mã “{main}” không có trong ICD-10 ({version}) áp dụng ngày ra viện.",
                  "icd")
        elif row.get("not_primary") == "1" or row.get("cause_of_death_only") == "1":
            c.add("XML1", 1, "MA_BENH_CHINH", f"mã “{main}” không được dùng làm bệnh chính ({version}).", "icd")
    others = [x for x in s.get("MA_BENH_KT", "").split(";") if x]
    if len(others) > 12:
        c.add("XML1", 1, "MA_BENH_KT", f"có {len(others)} mã, tối đa 12.", "icd")
    for code in others:
        if code not in known:
            c.add("XML1", 1, "MA_BENH_KT", f"mã “{code}” không có trong ICD-10 ({version}).", "icd")


def _links(c: _Checker, tables: list[Table], s: dict[str, str]) -> None:
    ma_lk = s.get("MA_LK", "")
    for table in tables:
        for i, row in enumerate(table.rows, start=1):
            if row.get("MA_LK", "") != ma_lk:
                c.add(table.name, i, "MA_LK", f"“{row.get('MA_LK', '')}” khác MA_LK của XML1 “{ma_lk}”.", "link")
            if "STT" in BY_NAME[table.name] and row.get("STT") and row["STT"] != str(i):
                c.add(table.name, i, "STT", f"số thứ tự là {row['STT']}, phải là {i} (đánh lại từ 1).", "link")


def _dates(c: _Checker, by_name: dict[str, Table], s: dict[str, str]) -> None:
    start, end = _when(s.get("NGAY_VAO", "")), _when(s.get("NGAY_RA", ""))
    if start and end and end < start:
        c.add("XML1", 1, "NGAY_RA", f"ngày ra {s['NGAY_RA']} trước ngày vào {s['NGAY_VAO']}.", "dates")
    inpatient = _when(s.get("NGAY_VAO_NOI_TRU", ""))
    if inpatient and start and inpatient < start:
        c.add("XML1", 1, "NGAY_VAO_NOI_TRU", "ngày vào nội trú trước ngày vào.", "dates")
    birth = _when(s.get("NGAY_SINH", "")) or (datetime.strptime(s["NGAY_SINH"][:8], "%Y%m%d")
                                               if _DATE.match(s.get("NGAY_SINH", "")[:8] or "x") and
                                               s.get("NGAY_SINH", "")[4:8] != "0000" else None)
    if birth and start and birth > start:
        c.add("XML1", 1, "NGAY_SINH", "ngày sinh sau ngày vào viện.", "dates")
    card_to = s.get("GT_THE_DEN", "").split(";")[-1]
    if s.get("MA_THE_BHYT") and start and _DATE.match(card_to) and card_to < s["NGAY_VAO"][:8]:
        c.add("XML1", 1, "GT_THE_DEN", f"thẻ hết hạn {card_to} trước ngày vào viện.", "dates")
    for name in ("XML2", "XML3"):
        table = by_name.get(name)
        for i, row in enumerate(table.rows if table else [], start=1):
            order, done, result = _when(row.get("NGAY_YL", "")), _when(row.get("NGAY_TH_YL", "")), _when(row.get("NGAY_KQ", ""))
            if order and start and order < start:
                c.add(name, i, "NGAY_YL", "y lệnh trước ngày vào.", "dates")
            if order and end and order > end:
                c.add(name, i, "NGAY_YL", "y lệnh sau ngày ra.", "dates")
            if order and done and done < order:
                c.add(name, i, "NGAY_TH_YL", "thực hiện trước khi có y lệnh.", "dates")
            if result and order and result < order:
                c.add(name, i, "NGAY_KQ", "có kết quả trước khi có y lệnh (lỗi nghiêm trọng).", "dates")
            if result and end and result > end:
                c.add(name, i, "NGAY_KQ", "có kết quả sau ngày ra (lỗi nghiêm trọng).", "dates")
    table = by_name.get("XML4")
    for i, row in enumerate(table.rows if table else [], start=1):
        result = _when(row.get("NGAY_KQ", ""))
        if result and ((start and result < start) or (end and result > end)):
            c.add("XML4", i, "NGAY_KQ", "ngày kết quả ngoài thời gian điều trị.", "dates")


def _lines(c: _Checker, by_name: dict[str, Table]) -> None:
    for name in ("XML2", "XML3"):
        table = by_name.get(name)
        for i, row in enumerate(table.rows if table else [], start=1):
            v = {k: _dec(row.get(k, "")) for k in ("SO_LUONG", "DON_GIA", "DON_GIA_BV", "DON_GIA_BH", "TYLE_TT_DV",
                                                   "TYLE_TT_BH", "THANH_TIEN_BV", "THANH_TIEN_BH", "T_BNTT",
                                                   "T_BNCCT", "T_BHTT", "T_NGUONKHAC", "T_TRANTT", "MUC_HUONG")}
            amount = v["THANH_TIEN_BV"]
            parts = [v["T_BNTT"], v["T_BNCCT"], v["T_BHTT"], v["T_NGUONKHAC"]]
            if amount is not None and all(p is not None for p in parts) and amount != sum(parts):  # type: ignore[arg-type]
                c.add(name, i, "THANH_TIEN_BV", f"{amount} khác T_BNTT + T_BNCCT + T_BHTT + T_NGUONKHAC = "
                      f"{sum(parts)} ({_money_vi(parts)}).", "line")  # type: ignore[arg-type]
            price = v["DON_GIA"] if name == "XML2" else v["DON_GIA_BV"]
            rate = Decimal("100") if name == "XML2" else (v["TYLE_TT_DV"] or Decimal("0"))
            if v["SO_LUONG"] is not None and price is not None and amount is not None:
                expected = _round(v["SO_LUONG"] * price * rate / 100)
                if expected != amount:
                    c.add(name, i, "THANH_TIEN_BV", f"{amount} khác số lượng × đơn giá"
                          f"{' × tỷ lệ thanh toán dịch vụ' if name == 'XML3' else ''} = {expected}.", "line")
            insured = v["THANH_TIEN_BH"]
            if insured is not None and amount is not None:
                if insured > amount:
                    c.add(name, i, "THANH_TIEN_BH", f"{insured} lớn hơn thành tiền bệnh viện {amount}.", "line")
                if v["T_BHTT"] is not None and v["T_BNCCT"] is not None and insured != v["T_BHTT"] + v["T_BNCCT"]:
                    c.add(name, i, "T_BNCCT", f"T_BHTT + T_BNCCT = {v['T_BHTT'] + v['T_BNCCT']} phải bằng thành tiền "
                          f"BHYT {insured} (tính T_BHTT trước, làm tròn, lấy T_BNCCT là phần còn lại).", "line")
                if v["MUC_HUONG"] is not None and v["T_BHTT"] is not None and v["T_NGUONKHAC"] == 0:
                    expected = _round(insured * v["MUC_HUONG"] / 100)
                    if expected != v["T_BHTT"]:
                        c.add(name, i, "T_BHTT", f"{v['T_BHTT']} khác thành tiền BHYT × mức hưởng = {expected}.", "line")


def _money_vi(parts: list) -> str:  # noqa: ANN001
    return " + ".join(str(p) for p in parts)


def _sums(c: _Checker, by_name: dict[str, Table], s: dict[str, str]) -> None:
    drugs = by_name.get("XML2", Table("XML2", [])).rows
    services = by_name.get("XML3", Table("XML3", [])).rows
    lines = drugs + services

    def total(rows: list[dict[str, str]], field: str) -> Decimal:
        return sum((_dec(r.get(field, "")) or Decimal("0") for r in rows), Decimal("0.00"))

    expected = {
        "T_THUOC": (total(drugs, "THANH_TIEN_BV"), "tổng THANH_TIEN_BV của XML2"),
        "T_VTYT": (total([r for r in services if r.get("MA_VAT_TU")], "THANH_TIEN_BV"),
                   "tổng THANH_TIEN_BV các dòng vật tư của XML3"),
        "T_TONGCHI_BV": (total(lines, "THANH_TIEN_BV"), "tổng THANH_TIEN_BV của XML2 và XML3"),
        "T_TONGCHI_BH": (total(lines, "THANH_TIEN_BH"), "tổng THANH_TIEN_BH của XML2 và XML3"),
        "T_BNTT": (total(lines, "T_BNTT"), "tổng T_BNTT các dòng"),
        "T_BNCCT": (total(lines, "T_BNCCT"), "tổng T_BNCCT các dòng"),
        "T_BHTT": (total(lines, "T_BHTT"), "tổng T_BHTT các dòng"),
        "T_NGUONKHAC": (total(lines, "T_NGUONKHAC"), "tổng T_NGUONKHAC các dòng"),
    }
    for field, (want, how) in expected.items():
        got = _dec(s.get(field, ""))
        if got is not None and got != want:
            c.add("XML1", 1, field, f"ghi {got} nhưng {how} là {want}.", "sum")


BED_GROUPS = ("14", "15", "16")     # day bed, inpatient bed, observation bed (MA_NHOM)


def _days_and_beds(c: _Checker, by_name: dict[str, Table], s: dict[str, str]) -> None:
    """SO_NGAY_DTRI by the visit type (QĐ 130 XML1: 0 for an exam; out − in + 1 for treatment),
    no bed-days on an exam, and no more bed-days than days (vietnam-billing.md §2.3, §3.3)."""
    kind = s.get("MA_LOAI_KCB", "")
    start = _when(s.get("NGAY_VAO_NOI_TRU", "")) or _when(s.get("NGAY_VAO", ""))
    end = _when(s.get("NGAY_RA", ""))
    declared = s.get("SO_NGAY_DTRI", "")
    expected = None
    if kind in ("01", "07", "09"):
        expected = 0
    elif kind in ("02", "03", "04", "06") and start and end and end >= start:
        expected = (end.date() - start.date()).days + 1
    if expected is not None and declared.isdigit() and int(declared) != expected:
        c.add("XML1", 1, "SO_NGAY_DTRI", f"ghi {declared} ngày, theo loại KCB {kind} và ngày vào/ra phải là {expected}.",
              "dates")
    table = by_name.get("XML3")
    beds = [(i, r) for i, r in enumerate(table.rows if table else [], start=1) if r.get("MA_NHOM") in BED_GROUPS]
    if kind == "01":
        for i, _ in beds:
            c.add("XML3", i, "MA_NHOM", "lượt khám bệnh (MA_LOAI_KCB 01) không có ngày giường.", "beds")
    elif beds and expected:
        total = sum((_dec(r.get("SO_LUONG", "")) or Decimal(0) for _, r in beds), Decimal(0))
        if total > expected:
            c.add("XML3", beds[0][0], "SO_LUONG", f"tổng {total} ngày giường vượt số ngày điều trị {expected}.", "beds")


def _needed_tables(c: _Checker, by_name: dict[str, Table], s: dict[str, str]) -> None:
    if s.get("MA_LOAI_KCB") in ("03", "04"):
        for name in ("XML7", "XML8"):
            if not by_name.get(name) or not by_name[name].rows:
                c.add(name, 0, "MA_LK", f"hồ sơ nội trú/điều trị ban ngày phải có bảng {name} "
                      f"({'giấy ra viện' if name == 'XML7' else 'tóm tắt hồ sơ bệnh án'}).", "table")
    if s.get("MA_NOI_DEN") and not by_name.get("XML13"):
        c.add("XML13", 0, "MA_NOI_DEN", "có nơi chuyển đến nhưng thiếu giấy chuyển tuyến (XML13).", "table")
    for name in ("XML2", "XML3", "XML4", "XML5", "XML7", "XML8", "XML13", "XML14"):
        table = by_name.get(name)
        if table is not None and name not in FIELDS:
            c.add(name, 0, "MA_LK", "bảng không được hỗ trợ.", "table")


def validate_checkin(table: Table) -> Report:
    """The check-in (XML0): its field list, code lists and card form."""
    row = table.rows[0] if table.rows else {}
    c = _Checker({"XML0": table})
    if not row:
        c.add("XML0", 0, "MA_LK", "bảng check-in XML0 trống.", "table")
    else:
        c.fields(table)
        for card in filter(None, row.get("MA_THE_BHYT", "").split(";")):
            if bhyt_problems(card):
                c.add("XML0", 1, "MA_THE_BHYT", f"mã thẻ “{card}” không đúng dạng.", "code")
        if row.get("MA_DOITUONG_KCB") and row["MA_DOITUONG_KCB"] not in object_codes():
            c.add("XML0", 1, "MA_DOITUONG_KCB", f"mã “{row['MA_DOITUONG_KCB']}” không có trong danh mục.", "code")
    return Report(row.get("MA_LK", "?"), row.get("HO_TEN", "?"), c.problems)
