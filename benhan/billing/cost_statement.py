"""The cost statement the patient signs: "Bảng kê chi phí khám bệnh, chữa bệnh", Mẫu 01/KBCB of
QĐ 697/QĐ-BYT (19/03/2026, replacing QĐ 6556/2018), as an A4 landscape PDF rendered like the other
printouts (fpdf2, DejaVu Sans embedded; clinical/printouts/pdf.py).

It is made from the stored bill (the ChargeItems billing.accounts wrote, the same lines the claim
reads), never recomputed: the statement and the claim must agree (TT 12/2026 Đ5 k2). Layout after
vietnam-billing.md §5 (⚠ not checked item by item against the QĐ 697 PDF): header, I. the
administrative part, II. the costs by cost item — only the items that occurred, keeping their
numbers — with the sources of payment, the totals in figures and in words, and the signatures.
Amounts printed in whole đồng (half up); unit prices keep their decimals.
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from benhan import errors
from benhan.billing import accounts, coverage
from benhan.billing.lines import Bill, ChargeLine
from benhan.clinical import diagnoses
from benhan.clinical.common import age_on, day_of, identifier, name_of, ref_id, vn_date, vn_datetime
from benhan.clinical.printouts.pdf import FAMILY, FONTS
from benhan.clinical.visits import facility
from benhan.store.repository import Repository
from benhan.vn.identifiers import MA_LK_SYSTEM

FORM = "Mẫu số 01/KBCB"
TITLE = "BẢNG KÊ CHI PHÍ KHÁM BỆNH, CHỮA BỆNH"
# The cost items in the statement's order (QĐ 697 guide; vietnam-billing.md §5), each with the lines
# it holds: by kind, and for services by cost group (MA_NHOM).
ITEMS = (("1", "Khám bệnh"), ("2", "Ngày giường"), ("3", "Xét nghiệm"), ("4", "Chẩn đoán hình ảnh"),
         ("5", "Thăm dò chức năng"), ("6", "Thủ thuật, phẫu thuật"), ("7", "Máu, chế phẩm máu"),
         ("8", "Thuốc, dịch truyền"), ("9", "Vật tư y tế"), ("10", "Gói vật tư y tế"), ("11", "Vận chuyển người bệnh"),
         ("12", "Khác"))
VISIT_TYPES = (("01", "Khám bệnh"), ("02", "Điều trị ngoại trú"), ("03", "Điều trị nội trú"),
               ("04", "Điều trị nội trú ban ngày"))
_TYPE_OF_KIND = {"kham-benh": "01", "cap-cuu": "01", "ngoai-tru": "02", "noi-tru": "03", "ban-ngay": "04"}
COLUMNS = (("Nội dung", 62), ("Đơn vị tính", 14), ("Số lượng", 13), ("Đơn giá BV (đồng)", 20),
           ("Đơn giá BH (đồng)", 20), ("Tỷ lệ TT theo dịch vụ (%)", 12), ("Thành tiền BV (đồng)", 22),
           ("Tỷ lệ TT BHYT (%)", 12), ("Thành tiền BH (đồng)", 22), ("Quỹ BHYT", 21), ("Người bệnh cùng chi trả", 19),
           ("Khác", 15), ("Người bệnh tự trả", 19))
SIGNATURES = ("NGƯỜI LẬP BẢNG KÊ", "KẾ TOÁN VIỆN PHÍ", "XÁC NHẬN CỦA NGƯỜI BỆNH", "GIÁM ĐỊNH BHYT")


def item_of(line: ChargeLine) -> str:
    if line.kind == "exam":
        return "1"
    if line.kind == "bed":
        return "2"
    if line.kind == "drug":
        return "8"
    if line.kind == "supply":
        return "10" if line.extra.get("package") and line.ceiling is not None else "9"
    if line.kind == "blood":
        return "7"
    if line.kind == "transport":
        return "11"
    return {"1": "3", "2": "4", "3": "5", "8": "6", "18": "6"}.get(line.cost_group, "12")


# --- figures and words -------------------------------------------------------------------------------
def whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> str:
    """Whole đồng with '.' between thousands, as printed in Vietnam: 1.234.568."""
    n = int(whole(amount))
    return ("-" if n < 0 else "") + f"{abs(n):,}".replace(",", ".")


def number(value: Decimal) -> str:
    """A quantity, rate or unit price as written here: 1.234,567 (decimals kept, ',' before them)."""
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f").rstrip("0")
    whole_part, _, frac = text.partition(".")
    grouped = f"{int(whole_part):,}".replace(",", ".")
    return grouped + ("," + frac if frac else "")


_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _three(n: int, full: bool) -> list[str]:
    """A group of three digits in words; `full`: a group after a higher one (reads its zero hundreds)."""
    h, t, u = n // 100, n // 10 % 10, n % 10
    out: list[str] = []
    if h or full:
        out += [_DIGITS[h], "trăm"]
    if t == 0:
        if u and (h or full):
            out.append("linh")
    elif t == 1:
        out.append("mười")
    else:
        out += [_DIGITS[t], "mươi"]
    if u == 1 and t >= 2:
        out.append("mốt")
    elif u == 5 and t >= 1:
        out.append("lăm")
    elif u:
        out.append(_DIGITS[u])
    return out


def in_words(amount: Decimal) -> str:
    """Whole đồng in Vietnamese words, as the statement writes the total: 'Một trăm bốn mươi sáu
    nghìn ba trăm hai mươi đồng'."""
    n = int(whole(amount))
    if n == 0:
        return "Không đồng"
    words = _words(abs(n), False)
    text = ("âm " if n < 0 else "") + " ".join(words) + " đồng"
    return text[0].upper() + text[1:]


def _words(n: int, full: bool) -> list[str]:
    if n >= 10**9:
        high, low = divmod(n, 10**9)
        return _words(high, full) + ["tỷ"] + (_words(low, True) if low else [])
    out: list[str] = []
    groups = [(n // 10**6, "triệu"), (n // 1000 % 1000, "nghìn"), (n % 1000, "")]
    started = full
    for value, scale in groups:
        if value:
            out += _three(value, started) + ([scale] if scale else [])
            started = True
    return out


# --- the statement --------------------------------------------------------------------------------------
class _Pdf(FPDF):
    def __init__(self, title: str, stamp: str):
        super().__init__(orientation="L", format="A4")
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(True, margin=14)
        self.set_title(title)
        self.set_creator("benhan")
        self.stamp = stamp

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FAMILY, "", 6.5)
        self.cell(0, 4, self.stamp)
        self.cell(0, 4, f"Trang {self.page_no()}/{{nb}}", align="R")


def _main_diagnosis(repo: Repository, encounter: dict) -> tuple[str, str, str]:
    """(main diagnosis text, its code, the other codes) of the visit's discharge (or any) diagnoses."""
    ids = [ref_id(d.get("condition")) for d in encounter.get("diagnosis", []) if ref_id(d.get("condition"))]
    conditions = {}
    if ids:
        found = repo.search_type("Condition", [("_id", ",".join(i for i in ids if i)), ("_count", "100")])
        conditions = {m.res_id: m.json() for m in found.matches}
    items = [d for d in diagnoses.listed(encounter, conditions) if d.kind != "cancelled"]
    main = next((d for d in items if d.kind == "main"), None)
    others = ";".join(d.code for d in items if d.kind == "secondary" and d.code)
    return (main.display if main else "", main.code if main else "", others)


def _admin_rows(repo: Repository, bill: Bill, encounter: dict, patient: dict, card: coverage.Card | None,
                object_code: str, benefit: str) -> list[tuple[str, str]]:
    period = encounter.get("period") or {}
    start, end = period.get("start", ""), period.get("end", "")
    first, last = day_of(start), day_of(end)
    # A visit of another system's record may give only its month: no day, so no count of days.
    days = str(max(1, (last - first).days + 1)) if first and last else ""
    address = ((patient.get("address") or [{}])[0]).get("text", "")
    gender = {"male": "1. Nam", "female": "2. Nữ"}.get(patient.get("gender", ""), "3. Chưa xác định")
    main, code, others = _main_diagnosis(repo, encounter)
    birth = patient.get("birthDate", "")
    age = age_on(birth, first) if first and birth else None
    route = {"2": "Cấp cứu", "1.3": "Chuyển tuyến", "9": "Không sử dụng BHYT"}.get(object_code, "")
    rows = [("(1) Họ tên người bệnh", name_of(patient)),
            ("(2) Ngày sinh", vn_date(birth) + (f" ({age} tuổi)" if age is not None else "")),
            ("(3) Giới tính", gender), ("(4) Địa chỉ hiện tại", address),
            ("(5) Mã thẻ BHYT", card.number if card else "Không"),
            ("(6) Giá trị từ", f"{card.valid_from:%d/%m/%Y}" if card and card.valid_from else ""),
            ("(7) đến", f"{card.valid_to:%d/%m/%Y}" if card and card.valid_to else ""),
            ("(8) Nơi ĐK KCB ban đầu", card.registered_facility if card else ""),
            ("(9) Mức hưởng", benefit),
            ("(10) Miễn cùng chi trả từ", f"{card.copay_exempt_from:%d/%m/%Y}" if card and card.copay_exempt_from else ""),
            ("(11) Đến khám / vào viện", vn_datetime(start)), ("(12) Kết thúc / ra viện", vn_datetime(end)),
            ("(13) Số ngày điều trị", days),
            ("(14) Mã đối tượng KCB", object_code + (f" — {route}" if route else "")),
            ("(15) Chẩn đoán xác định", main), ("(16) Mã bệnh chính", code), ("(17) Mã bệnh kèm theo", others)]
    return rows


def render(repo: Repository, bill: Bill, *, now: datetime) -> bytes:
    """The statement of a stored bill as PDF bytes."""
    encounter = repo.read("Encounter", bill.encounter_id).json()
    patient = repo.read("Patient", bill.patient_id).json() if bill.patient_id else {"id": ""}
    rules = coverage.rules_for(repo)
    card = coverage.card_of(repo, patient, rules) if bill.patient_id else None
    object_code = next((ln.extra.get("ma_doituong_kcb", "") for ln in bill.lines), "") or (
        coverage.NOT_INSURED if card is None else "")
    rates = sorted({ln.benefit_rate for ln in bill.lines if ln.insured_amount}, reverse=True)
    benefit = ", ".join(f"{number(r)}%" for r in rates) or "0%"
    fac = facility(repo)
    kind = next((c.get("code", "") for t in encounter.get("type", []) for c in t.get("coding", [])), "")
    visit_type = _TYPE_OF_KIND.get(kind, "01")

    pdf = _Pdf(f"{TITLE} — {bill.patient_name}", f"benhan — in lúc {now:%H:%M %d/%m/%Y} — hóa đơn {bill.number}")
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(FAMILY, "", 8.5)
    pdf.cell(150, 4.5, fac.name.upper())
    pdf.cell(0, 4.5, FORM, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(150, 4.5, f"Mã cơ sở KCB: {fac.code}" if fac.code else "")
    pdf.cell(0, 4.5, f"Mã người bệnh: {bill.patient_id[:8].upper()}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    ma_lk = identifier(encounter, MA_LK_SYSTEM) or ""
    pdf.cell(150, 4.5, f"Khoa: {((encounter.get('location') or [{}])[0].get('location') or {}).get('display', '')}")
    pdf.cell(0, 4.5, f"Số khám bệnh: {ma_lk}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FAMILY, "B", 13)
    pdf.cell(0, 7, TITLE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 8.5)
    boxes = "   ".join(f"[{'x' if code == visit_type else ' '}] {code} {name}" for code, name in VISIT_TYPES)
    pdf.cell(0, 5, boxes, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.cell(0, 5, "I. PHẦN HÀNH CHÍNH", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rows = _admin_rows(repo, bill, encounter, patient, card, object_code, benefit)
    for i, (label, value) in enumerate(rows):
        pdf.set_font(FAMILY, "B", 8.5)
        pdf.write(4.6, f"{label}: ")
        pdf.set_font(FAMILY, "", 8.5)
        pdf.write(4.6, value or "…")
        if i % 3 == 2 or i == len(rows) - 1 or label.startswith("(15)"):
            pdf.ln(5)
        else:
            pdf.write(4.6, "     ")
    pdf.ln(1)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.cell(0, 5, "II. PHẦN CHI PHÍ KHÁM BỆNH, CHỮA BỆNH", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _costs(pdf, bill)
    _totals(pdf, bill)
    _signatures(pdf, now, bill.patient_name)
    return bytes(pdf.output())


def _costs(pdf: _Pdf, bill: Bill) -> None:
    grouped: dict[str, list[ChargeLine]] = {}
    for line in bill.lines:
        grouped.setdefault(item_of(line), []).append(line)
    pdf.set_font(FAMILY, "", 7)
    widths = tuple(w for _, w in COLUMNS)
    align = ("LEFT", "CENTER") + ("RIGHT",) * 11
    with pdf.table(col_widths=widths, text_align=align, line_height=3.4, padding=0.8,
                   first_row_as_headings=True) as table:
        head = table.row()
        for title, _ in COLUMNS:
            head.cell(title, align="CENTER")
        for code, title in ITEMS:
            lines = grouped.get(code)
            if not lines:
                continue        # only the items that occurred, keeping their numbers
            sums = [sum((getattr(ln, f) for ln in lines), Decimal(0))
                    for f in ("amount", "insured_amount", "bhyt_paid", "patient_copay", "other_sources", "patient_self")]
            r = table.row()
            pdf.set_font(FAMILY, "B", 7)
            r.cell(f"{code}. {title}", colspan=6, align="LEFT")
            r.cell(money(sums[0]))
            r.cell("")
            for v in sums[1:]:
                r.cell(money(v))
            pdf.set_font(FAMILY, "", 7)
            for ln in lines:
                r = table.row()
                bh_price = ln.insured_unit_price if ln.insured_unit_price is not None else (
                    ln.unit_price if ln.insured_amount else Decimal(0))
                r.cell(ln.name)
                r.cell(ln.unit)
                r.cell(number(ln.quantity))
                r.cell(number(ln.unit_price))
                r.cell(number(bh_price))
                r.cell("" if ln.kind == "drug" else number(ln.service_rate))
                r.cell(money(ln.amount))
                r.cell(number(ln.insurance_rate) if ln.insured_amount else "0")
                r.cell(money(ln.insured_amount))
                r.cell(money(ln.bhyt_paid))
                r.cell(money(ln.patient_copay))
                r.cell(money(ln.other_sources))
                r.cell(money(ln.patient_self))
        total = [sum((getattr(ln, f) for ln in bill.lines), Decimal(0))
                 for f in ("amount", "insured_amount", "bhyt_paid", "patient_copay", "other_sources", "patient_self")]
        r = table.row()
        pdf.set_font(FAMILY, "B", 7)
        r.cell("Tổng cộng", colspan=6, align="LEFT")
        r.cell(money(total[0]))
        r.cell("")
        for v in total[1:]:
            r.cell(money(v))
        pdf.set_font(FAMILY, "", 7)


def _totals(pdf: _Pdf, bill: Bill) -> None:
    total = sum((ln.amount for ln in bill.lines), Decimal(0))
    fund = sum((ln.bhyt_paid for ln in bill.lines), Decimal(0))
    patient = sum((ln.patient_copay + ln.patient_self for ln in bill.lines), Decimal(0))
    copay = sum((ln.patient_copay for ln in bill.lines), Decimal(0))
    self_pay = sum((ln.patient_self for ln in bill.lines), Decimal(0))
    other = sum((ln.other_sources for ln in bill.lines), Decimal(0))
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 9)
    pdf.cell(0, 5, f"Tổng chi phí lần khám bệnh/cả đợt điều trị: {money(total)} đồng",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 8.5)
    pdf.cell(0, 4.6, f"(Viết bằng chữ: {in_words(total)})", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 4.6, f"Trong đó, số tiền do: Quỹ BHYT thanh toán: {money(fund)} đồng;  Nguồn khác: {money(other)} đồng",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 4.6, f"Người bệnh trả: {money(patient)} đồng (cùng chi trả trong phạm vi BHYT: {money(copay)} đồng; "
                     f"tự trả: {money(self_pay)} đồng)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "B", 8.5)
    pdf.cell(0, 4.6, f"(Viết bằng chữ: {in_words(patient)})", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _signatures(pdf: _Pdf, now: datetime, patient_name: str) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FAMILY, "", 8.5)
    pdf.cell(0, 4.6, f"Ngày {now:%d} tháng {now:%m} năm {now:%Y}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    width = 277 / len(SIGNATURES)
    pdf.set_font(FAMILY, "B", 8.5)
    for title in SIGNATURES:
        pdf.cell(width, 5, title, align="C")
    pdf.ln(5)
    pdf.set_font(FAMILY, "", 7.5)
    for _ in SIGNATURES:
        pdf.cell(width, 4, "(Ký, ghi rõ họ tên)", align="C")
    pdf.ln(18)
    pdf.set_font(FAMILY, "B", 8.5)
    for i, _ in enumerate(SIGNATURES):
        pdf.cell(width, 5, patient_name if i == 2 else "", align="C")


def for_encounter(repo: Repository, encounter_id: str, *, now: datetime) -> bytes:
    """The statement of an encounter from its stored bill; billed first when it never was."""
    try:
        invoice = repo.read("Invoice", accounts.invoice_id(encounter_id)).json()
        bill = accounts.bill_of(repo, invoice)
    except errors.NotFound:
        bill = accounts.bill_for_encounter(repo, encounter_id, now=now)
    return render(repo, bill, now=now)
