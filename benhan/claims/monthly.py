"""The monthly and quarterly BHYT summary (issue 15 item 6): form 01/BH (monthly) and 02/BH (the
quarterly settlement) of TT 12/2026, the successors of mẫu 19/20/21/BHYT, as a spreadsheet.

What the sources say (vietnam-billing.md §1.8): 01/BH is built from the XML1 values, in sections by
MA_LOAI_KCB — I outpatient exam (01, 06, 07), II outpatient treatment (02, 05, 08), III day treatment
(04, 09), IV inpatient (03) — with the column checks col 2 = 3 + 6 + 7 and col 3 = 4 + 5, amounts
rounded to the đồng. The exact layout of TT 12 Phụ lục I was NOT read (⚠): the columns here are the
XML1 totals that make those checks hold (1 visits, 2 T_TONGCHI_BV, 3 T_TONGCHI_BH, 4 T_BHTT, 5 T_BNCCT,
6 T_BNTT, 7 T_NGUONKHAC), and the breakdowns by cost group (MA_NHOM of XML2/XML3, what 19/20/21 listed),
by beneficiary (the card's group code) and by route (MA_DOITUONG_KCB) are benhan's, for the desk.

A claim belongs to the month of its settlement (XML1 NAM_QT/THANG_QT). The claims are those the
gateway accepted (the latest accepted file of each MA_LK, from the outbox's kept payloads), or those
built from the record for the visits finished in the period (``built_claims``), before sending.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from benhan import errors
from benhan.claims import envelope
from benhan.outbox.queue import Outbox

CLAIM = "bhyt-claim"
SECTIONS = (("I", "Khám bệnh ngoại trú", ("01", "06", "07")),
            ("II", "Điều trị ngoại trú", ("02", "05", "08")),
            ("III", "Điều trị ban ngày", ("04", "09")),
            ("IV", "Điều trị nội trú", ("03",)))
# Columns 2–7 of 01/BH as the XML1 totals (⚠ the form's own headings were not read).
MONEY = (("T_TONGCHI_BV", "Tổng chi phí (2) = (3)+(6)+(7)"),
         ("T_TONGCHI_BH", "Chi phí trong phạm vi BHYT (3) = (4)+(5)"),
         ("T_BHTT", "Quỹ BHYT thanh toán (4)"),
         ("T_BNCCT", "Người bệnh cùng chi trả (5)"),
         ("T_BNTT", "Người bệnh tự trả (6)"),
         ("T_NGUONKHAC", "Nguồn khác (7)"))
LINE_MONEY = ("THANH_TIEN_BV", "THANH_TIEN_BH", "T_BHTT", "T_BNCCT", "T_BNTT", "T_NGUONKHAC")
# MA_NHOM of QĐ 130 as amended by QĐ 4750 (vietnam-billing.md §3.1).
COST_GROUPS = {"1": "Xét nghiệm", "2": "Chẩn đoán hình ảnh", "3": "Thăm dò chức năng",
               "4": "Thuốc trong danh mục", "5": "Thuốc ngoài danh mục", "6": "Thuốc thanh toán theo tỷ lệ",
               "7": "Máu", "8": "Phẫu thuật", "9": "Dịch vụ kỹ thuật thanh toán theo tỷ lệ",
               "10": "Vật tư y tế trong danh mục", "11": "Vật tư y tế ngoài danh mục", "12": "Vận chuyển",
               "13": "Khám bệnh", "14": "Giường bệnh ban ngày", "15": "Giường điều trị nội trú",
               "16": "Giường lưu", "17": "Chế phẩm máu", "18": "Thủ thuật", "19": "Dịch vụ khác"}


@dataclass(frozen=True)
class Period:
    label: str                      # "2026-11" or "2026-Q4"
    months: tuple[tuple[int, int], ...]

    @property
    def form(self) -> str:
        return "02/BH" if len(self.months) > 1 else "01/BH"

    @property
    def first_day(self) -> date:
        return date(*self.months[0], 1)

    @property
    def end_day(self) -> date:      # the day after the period
        y, m = self.months[-1]
        return date(y + m // 12, m % 12 + 1, 1)


def period(text: str) -> Period:
    """``2026-11`` (a month, 01/BH) or ``2026-Q4`` (a quarter, 02/BH)."""
    text = text.strip().upper()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return Period(f"{year}-{month:02d}", ((year, month),))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, q = int(m[1]), int(m[2])
        return Period(f"{year}-Q{q}", tuple((year, 3 * (q - 1) + i) for i in (1, 2, 3)))
    raise errors.ClaimNotPossible(f"kỳ báo cáo '{text}' không hợp lệ: viết 2026-11 (tháng) hoặc 2026-Q4 (quý) | "
                                  f"the period '{text}' is not valid: write 2026-11 (a month) or 2026-Q4 (a quarter)")


@dataclass
class Claim:
    ma_lk: str
    summary: dict[str, str]                               # the XML1 row
    lines: list[dict[str, str]] = field(default_factory=list)   # the XML2 and XML3 rows

    def month(self) -> tuple[int, int] | None:
        try:
            return int(self.summary.get("NAM_QT") or 0), int(self.summary.get("THANG_QT") or 0)
        except ValueError:
            return None


def _claim(content: list) -> Claim | None:  # noqa: ANN001 - claims.tables.Table
    by_name = {t.name: t for t in content}
    if "XML1" not in by_name or not by_name["XML1"].rows:
        return None
    summary = by_name["XML1"].rows[0]
    lines = [row for name in ("XML2", "XML3") if name in by_name for row in by_name[name].rows]
    return Claim(summary.get("MA_LK", ""), summary, lines)


def accepted_claims(outbox: Outbox, within: Period) -> list[Claim]:
    """The latest accepted claim of each MA_LK settled in the period."""
    latest: dict[str, object] = {}
    for item in outbox.items(kind=CLAIM, state="sent", limit=None):
        if item.subject not in latest or item.pk > latest[item.subject].pk:  # type: ignore[attr-defined]
            latest[item.subject] = item
    out = []
    for item in latest.values():
        try:
            _, content = envelope.read(item.payload)  # type: ignore[attr-defined]
        except ValueError:
            continue                                  # not a claim file (cannot happen for an accepted one)
        claim = _claim(content)
        if claim is not None and claim.month() in within.months:
            out.append(claim)
    return sorted(out, key=lambda c: c.ma_lk)


@dataclass(frozen=True)
class LeftOut:
    """A visit of the period whose claim could not be built from the record, and why."""
    encounter_id: str
    reason: str


def built_claims(repo, within: Period, left_out: list[LeftOut] | None = None) -> list[Claim]:  # noqa: ANN001
    """The claims built from the record for the BHYT visits finished in the period (before sending).
    A visit whose record cannot give a claim (its patient unreadable …) is not summed; it is added to
    `left_out` when given, so that the report says so instead of coming out short in silence."""
    from benhan.claims import tables
    from benhan.claims.record import episode_or_why
    out: list[Claim] = []
    since, until = within.first_day - timedelta(days=1), within.end_day + timedelta(days=1)
    for page in repo.search_pages("Encounter", [("status", "finished"), ("date", f"ge{since.isoformat()}"),
                                                ("date", f"lt{until.isoformat()}")]):
        for match in page.matches:
            made = episode_or_why(repo, match.res_id)
            if isinstance(made, str):
                if left_out is not None:
                    left_out.append(LeftOut(match.res_id, made))
                continue
            ep, lines = made
            if not ep.insured:
                continue
            claim = _claim(tables.claim_tables(ep, lines))
            if claim is not None and claim.month() in within.months:
                out.append(claim)
    return sorted(out, key=lambda c: c.ma_lk)


# --- the sums ---------------------------------------------------------------------------------------

def _dec(text: str | None) -> Decimal:
    try:
        return Decimal(text or "0")
    except ArithmeticError:
        return Decimal("0")


def dong(value: Decimal) -> int:
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass
class Row:
    key: str
    label: str
    count: int = 0
    money: list[Decimal] = field(default_factory=lambda: [Decimal("0")] * len(MONEY))

    def add(self, values: list[Decimal], count: int = 1) -> None:
        self.count += count
        self.money = [a + b for a, b in zip(self.money, values, strict=True)]


def _totals(claim: Claim) -> list[Decimal]:
    return [_dec(claim.summary.get(name)) for name, _ in MONEY]


def sections(claims: list[Claim]) -> list[tuple[Row, list[Row]]]:
    """01/BH: per section, its total and its rows by route (MA_DOITUONG_KCB); a claim with a visit type
    outside the four sections is counted under IV's neighbour "Khác" so the total still matches."""
    out = []
    placed: set[str] = set()
    for number, name, types in (*SECTIONS, ("V", "Khác", ())):
        head = Row(number, name)
        by_route: dict[str, Row] = {}
        for claim in claims:
            kind = claim.summary.get("MA_LOAI_KCB", "")
            if (types and kind not in types) or (not types and claim.ma_lk in placed):
                continue
            placed.add(claim.ma_lk)
            values = _totals(claim)
            head.add(values)
            route = claim.summary.get("MA_DOITUONG_KCB", "")
            by_route.setdefault(route, Row(route, f"Mã đối tượng {route}")).add(values)
        if types or head.count:
            out.append((head, [by_route[k] for k in sorted(by_route)]))
    return out


def total(claims: list[Claim]) -> Row:
    row = Row("", "Tổng cộng")
    for claim in claims:
        row.add(_totals(claim))
    return row


def by_beneficiary(claims: list[Claim]) -> list[Row]:
    """By the card's beneficiary group (its first two letters, e.g. DN, HT, TE)."""
    rows: dict[str, Row] = {}
    for claim in claims:
        group = (claim.summary.get("MA_THE_BHYT") or "??")[:2]
        rows.setdefault(group, Row(group, f"Nhóm thẻ {group}")).add(_totals(claim))
    return [rows[k] for k in sorted(rows)]


def by_route(claims: list[Claim]) -> list[Row]:
    names = _route_names()
    rows: dict[str, Row] = {}
    for claim in claims:
        code = claim.summary.get("MA_DOITUONG_KCB", "")
        rows.setdefault(code, Row(code, names.get(code, ""))).add(_totals(claim))
    return [rows[k] for k in sorted(rows, key=lambda c: [int(p) if p.isdigit() else 0 for p in c.split(".")])]


def by_cost_group(claims: list[Claim]) -> list[Row]:
    """By MA_NHOM of the XML2/XML3 lines: count = lines, money = THANH_TIEN_BV, THANH_TIEN_BH, T_BHTT,
    T_BNCCT, T_BNTT, T_NGUONKHAC (the same six columns)."""
    rows: dict[str, Row] = {}
    for claim in claims:
        for line in claim.lines:
            group = line.get("MA_NHOM", "")
            rows.setdefault(group, Row(group, COST_GROUPS.get(group, ""))).add([_dec(line.get(n)) for n in LINE_MONEY])
    return [rows[k] for k in sorted(rows, key=lambda g: int(g) if g.isdigit() else 99)]


def _route_names() -> dict[str, str]:
    from benhan import billing
    path = Path(billing.__file__).parent / "data" / "routes.csv"
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return {r["code"]: r.get("situation", "") for r in csv.DictReader(f)}
    except OSError:
        return {}


# --- the workbook -----------------------------------------------------------------------------------

def workbook(claims: list[Claim], within: Period, facility: str, source: str, made: datetime,
             left_out: list[LeftOut] = ()) -> bytes:
    """The spreadsheet: 01/BH (or 02/BH), then the breakdowns and the list of claims; with
    `left_out`, a warning under the total and a sheet of the visits not summed and why."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    bold = Font(bold=True)
    heads = ["STT", "Nội dung", "Số lượt (1)", *(label for _, label in MONEY)]

    def sheet(title: str, caption: str, header: list[str]):  # noqa: ANN202
        ws = wb.create_sheet(title)
        ws.append([caption])
        ws.append([f"Cơ sở KCB: {facility}", f"Kỳ: {within.label}", f"Nguồn: {source}",
                   f"Lập lúc: {made.strftime('%d/%m/%Y %H:%M')}"])
        ws.append([])
        ws.append(header)
        for cell in ws[1] + ws[4]:
            cell.font = bold
        ws.column_dimensions["B"].width = 40
        return ws

    def put(ws, stt: str, row: Row, strong: bool = False) -> None:  # noqa: ANN001
        ws.append([stt, row.label, row.count, *(dong(v) for v in row.money)])
        if strong:
            for cell in ws[ws.max_row]:
                cell.font = bold

    wb.remove(wb.active)
    title = within.form.replace("/", "-")
    main = sheet(title, f"Mẫu {within.form} — Tổng hợp chi phí KCB BHYT theo TT 12/2026 "
                        f"(bố cục cột chưa đối chiếu với phụ lục)", heads)
    for head, routes in sections(claims):
        put(main, head.key, head, strong=True)
        for r in routes:
            put(main, "", r)
    put(main, "", total(claims), strong=True)
    if left_out:
        main.append([])
        main.append(["", f"CHƯA TÍNH {len(left_out)} lượt khám không lập được hồ sơ từ bệnh án "
                         f"(xem trang \"Khong lap duoc\") | {len(left_out)} visits left out: their claim "
                         f"could not be built from the record"])
        for cell in main[main.max_row]:
            cell.font = bold

    for name, caption, rows in (("Theo nhom chi phi", "Theo nhóm chi phí (MA_NHOM, dòng XML2/XML3)",
                                 by_cost_group(claims)),
                                ("Theo doi tuong", "Theo nhóm đối tượng thẻ BHYT", by_beneficiary(claims)),
                                ("Theo tuyen", "Theo mã đối tượng KCB (tuyến, MA_DOITUONG_KCB)", by_route(claims))):
        header = list(heads)
        if name == "Theo nhom chi phi":
            header[2:] = ["Số dòng", *LINE_MONEY]
        ws = sheet(name, caption, header)
        for r in rows:
            put(ws, r.key, r)

    listing = sheet("Danh sach ho so", "Danh sách hồ sơ",
                    ["MA_LK", "HO_TEN", "MA_THE_BHYT", "MA_LOAI_KCB", "MA_DOITUONG_KCB", "NGAY_VAO", "NGAY_RA",
                     *(n for n, _ in MONEY)])
    for c in claims:
        s = c.summary
        listing.append([c.ma_lk, s.get("HO_TEN", ""), s.get("MA_THE_BHYT", ""), s.get("MA_LOAI_KCB", ""),
                        s.get("MA_DOITUONG_KCB", ""), s.get("NGAY_VAO", ""), s.get("NGAY_RA", ""),
                        *(_dec(s.get(n)) for n, _ in MONEY)])
    if left_out:
        missing = sheet("Khong lap duoc", "Lượt khám không lập được hồ sơ (chưa tính ở các trang trên)",
                        ["STT", "Encounter", "Lý do"])
        missing.column_dimensions["C"].width = 80
        for n, item in enumerate(left_out, 1):
            missing.append([n, item.encounter_id, item.reason])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(within: Period) -> str:
    """The download's name, e.g. 01-BH-2026-11.xlsx."""
    return f"{within.form.replace('/', '-')}-{within.label}.xlsx"


def report(store, within: Period, *, source: str = "accepted", made: datetime | None = None,  # noqa: ANN001
           actor=None, left_out: list[LeftOut] | None = None) -> bytes:  # noqa: ANN001 - a benhan Actor
    """The workbook of the period for the BHYT desk (the CLI and a desk link call this). ``actor``: whom
    the record is read as for ``built`` (the desk passes its own, e.g. the system on the clerk's behalf).
    ``left_out``: receives the visits ``built`` could not make a claim of (the workbook lists them too)."""
    from benhan.auth.actor import Actor
    from benhan.clinical.visits import facility
    from benhan.store.repository import Repository
    repo = Repository(store, actor or Actor.system("claims-report"))
    left_out = left_out if left_out is not None else []
    if source == "accepted":
        claims = accepted_claims(Outbox(store.db), within)
    elif source == "built":
        claims = built_claims(repo, within, left_out)
    else:
        raise errors.ClaimNotPossible(f"nguồn '{source}' không hợp lệ (accepted, built) | unknown source '{source}'")
    try:
        code = facility(repo).code
    except Exception:  # noqa: BLE001 - a database without the facility still gets its report
        code = ""
    return workbook(claims, within, code, {"accepted": "hồ sơ đã được tiếp nhận", "built": "hồ sơ lập từ bệnh án"}
                    [source], made or datetime.now(), left_out)
