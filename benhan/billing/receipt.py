"""What the patient takes home from the cashier: the VietQR code of a bill (for the exact amount
still owed) and the printable receipt (A5 PDF: the bill's lines with the BHYT and patient shares,
the payments, and the code again while something is owed). fpdf2 and the DejaVu fonts, as the MoH
printouts (clinical/printouts/pdf.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from benhan.billing import qr_image
from benhan.billing.lines import Bill
from benhan.billing.payments import Receipt
from benhan.clinical.printouts.pdf import FAMILY, FONTS
from benhan.vn import vietqr


@dataclass(frozen=True)
class BankAccount:
    bank_bin: str
    account: str
    name: str

    @classmethod
    def from_config(cls, config) -> "BankAccount | None":  # noqa: ANN001
        values = config.values
        if not values.get("vietqr_bank_bin") or not values.get("vietqr_account"):
            return None
        return cls(values["vietqr_bank_bin"], values["vietqr_account"], values.get("vietqr_account_name", ""))


def purpose(bill_number: str) -> str:
    """The transfer's description: "VP <bill number>" (viện phí) when it fits the 25 characters."""
    text = f"VP {bill_number}"
    return text if len(text) <= 25 else bill_number[:25]


def bill_payload(bank: BankAccount, bill_number: str, amount: Decimal) -> str:
    """The dynamic VietQR payload paying `amount` into the facility's account for this bill."""
    number = vietqr.plain(bill_number)
    return vietqr.payload(vietqr.VietQR(bank_bin=bank.bank_bin, account=bank.account, amount=amount,
                                        bill_number=number[:25], purpose=purpose(number)))


def vnd(amount: Decimal) -> str:
    """350000 → "350.000 đ" (whole đồng, dots between thousands, as printed in Vietnam)."""
    value = Decimal(amount).quantize(Decimal(1))
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(int(value)):,}".replace(",", ".") + " đ"


def quantity(value: Decimal) -> str:
    """10 → "10", 1.500 → "1,5" (no exponent, the Vietnamese decimal comma)."""
    text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",")


@dataclass(frozen=True)
class ReceiptPrint:
    facility: str
    bill: Bill
    receipts: tuple[Receipt, ...]
    paid: Decimal
    due: Decimal
    printed: datetime
    printed_by: str
    bank: BankAccount | None = None
    single: Receipt | None = None      # the receipt of one transaction (NĐ 254 Đ9 k4 m: one per payment)


def _how(method: str) -> str:
    return {"cash": "tiền mặt", "vietqr": "chuyển khoản VietQR", "advance": "trừ tạm ứng"}.get(method, method)


def render(p: ReceiptPrint) -> bytes:
    pdf = FPDF(format=(148, 210))     # A5 in mm (the name "A5" warns about an old fpdf2 size fix)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_title(f"Phiếu thu {p.single.number if p.single else p.bill.number}")
    pdf.set_creator("benhan")
    pdf.add_page()
    pdf.set_font(FAMILY, "", 8)
    pdf.cell(0, 4, p.facility, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "B", 13)
    refund = p.single is not None and p.single.amount < 0
    pdf.cell(0, 8, "PHIẾU CHI HOÀN TIỀN VIỆN PHÍ" if refund else "PHIẾU THU TIỀN VIỆN PHÍ", align="C",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 8.5)
    head = [("Số hóa đơn", p.bill.number), ("Người bệnh", p.bill.patient_name),
            ("Ngày lập", f"{p.bill.issued:%d/%m/%Y %H:%M}")]
    if p.single is not None:
        head = [("Số phiếu", p.single.number), ("Ngày thu", f"{p.single.created:%d/%m/%Y %H:%M}"),
                ("Số tiền", vnd(abs(p.single.amount))), ("Hình thức", _how(p.single.method))] + head
        if p.single.reason:
            head.append(("Lý do hoàn", p.single.reason))
    for label, value in head:
        pdf.set_font(FAMILY, "B", 8.5)
        pdf.write(4.6, f"{label}: ")
        pdf.set_font(FAMILY, "", 8.5)
        pdf.write(4.6, value or "…")
        pdf.ln(4.8)
    pdf.ln(1)
    pdf.set_font(FAMILY, "", 7.5)
    with pdf.table(col_widths=(44, 10, 22, 26, 26), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
                   line_height=3.8, padding=0.8) as table:
        head = table.row()
        for title in ("Dịch vụ, thuốc", "SL", "Thành tiền", "BHYT trả", "Người bệnh trả"):
            head.cell(title)
        for line in p.bill.lines:
            row = table.row()
            for value in (line.name, quantity(line.quantity), vnd(line.amount), vnd(line.bhyt_paid),
                          vnd(line.patient_copay + line.patient_self)):
                row.cell(value)
        total = table.row()
        for value in ("Tổng cộng", "", vnd(p.bill.total), vnd(p.bill.bhyt_due), vnd(p.bill.patient_due)):
            total.cell(value)
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 8.5)
    pdf.cell(0, 5, "Đã thu", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 8)
    for r in p.receipts:
        text = f"{r.number} · {r.created:%d/%m/%Y %H:%M} · {_how(r.method)} · {vnd(r.amount)} · {r.cashier_name}"
        if r.reason:
            text += f" · hoàn trả: {r.reason}"
        pdf.multi_cell(0, 4.2, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not p.receipts:
        pdf.cell(0, 4.2, "Chưa thu", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.cell(0, 5.5, f"Đã trả: {vnd(p.paid)}   Còn phải trả: {vnd(p.due)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if p.due > 0 and p.bank is not None:
        payload = bill_payload(p.bank, p.bill.number, p.due)
        y = pdf.get_y() + 2
        if y + 45 > pdf.h - 12:
            pdf.add_page()
            y = pdf.get_y()
        pdf.image(qr_image.png(payload), x=10, y=y, w=40, h=40)
        pdf.set_xy(54, y + 4)
        pdf.set_font(FAMILY, "", 8)
        pdf.multi_cell(0, 4.2, f"Quét mã VietQR bằng ứng dụng ngân hàng để chuyển khoản đúng {vnd(p.due)}.\n"
                               f"Tài khoản: {p.bank.account}\nChủ tài khoản: {p.bank.name}\n"
                               f"Nội dung: {purpose(vietqr.plain(p.bill.number))}",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(y + 42)
    elif p.due <= 0:
        pdf.set_font(FAMILY, "B", 9.5)
        pdf.cell(0, 5.5, "ĐÃ THANH TOÁN ĐỦ", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FAMILY, "", 7.5)
    pdf.cell(0, 4, f"In lúc {p.printed:%d/%m/%Y %H:%M} bởi {p.printed_by}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 8.5)
    pdf.cell(64, 4.5, "Người nộp tiền", align="C")
    pdf.cell(64, 4.5, "Người thu tiền", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 7)
    pdf.cell(64, 4, "(Ký, ghi rõ họ tên)", align="C")
    pdf.cell(64, 4, "(Ký, ghi rõ họ tên)", align="C")
    return bytes(pdf.output())
