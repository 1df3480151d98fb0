"""The checks an invoice must pass before it is sent (and that the stand-in provider applies to what
it receives): the required fields of the data standard, the symbol and number rules, the sums and the
amount in words — read from the XML itself, so what is checked is what is sent. The report is in
Vietnamese and names the invoice and the field to fix."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from benhan.billing.cost_statement import in_words
from benhan.billing.einvoice.model import vat_rate

SYMBOL = re.compile(r"^[CK]\d{2}[A-Z][A-Z0-9]{2}$")     # C/K, year, type letter, 2 of the seller's (TT 91 PL I)
NUMBER = re.compile(r"^[1-9]\d{0,7}$")                   # up to 8 digits
TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$|^\d{13}$")
CCCD = re.compile(r"^\d{12}$")
TEMPLATES = {"1", "2", "3", "4", "5", "6", "7", "8", "9"}


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass
class Report:
    invoice: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def text(self) -> str:
        if self.ok:
            return f"Hóa đơn {self.invoice}: hợp lệ."
        return "\n".join([f"Hóa đơn {self.invoice or '(không rõ số)'}: {len(self.problems)} lỗi cần sửa"]
                         + [f"  - {p.field}: {p.message}" for p in self.problems])


def _money(text: str | None) -> Decimal | None:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def validate(document: bytes | etree._Element) -> Report:
    report = Report()
    try:
        root = document if isinstance(document, etree._Element) else \
            etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        report.add("HDon", f"không đọc được tệp XML ({exc})")
        return report
    data = root.find("DLHDon")
    if root.tag != "HDon" or data is None:
        report.add("HDon/DLHDon", "thiếu phần dữ liệu hóa đơn")
        return report
    if not data.get("Id"):
        report.add("DLHDon/@Id", "thiếu Id (chữ ký tham chiếu tới nó)")
    g = data.find("TTChung")
    if g is None:
        report.add("TTChung", "thiếu thông tin chung")
        return report
    symbol, number = g.findtext("KHHDon", ""), g.findtext("SHDon", "")
    report.invoice = f"{symbol} số {number}"
    for tag in ("PBan", "THDon", "KHMSHDon", "KHHDon", "SHDon", "NLap", "DVTTe", "HTTToan"):
        if not (g.findtext(tag) or "").strip():
            report.add(f"TTChung/{tag}", "bắt buộc nhưng đang trống")
    if g.findtext("KHMSHDon") and g.findtext("KHMSHDon") not in TEMPLATES:
        report.add("TTChung/KHMSHDon", f"ký hiệu mẫu số phải là một chữ số 1–9, đang là {g.findtext('KHMSHDon')!r}")
    issued = None
    try:
        issued = date.fromisoformat(g.findtext("NLap", ""))
    except ValueError:
        report.add("TTChung/NLap", f"ngày lập phải có dạng yyyy-MM-dd, đang là {g.findtext('NLap')!r}")
    if symbol and not SYMBOL.match(symbol):
        report.add("TTChung/KHHDon", f"ký hiệu hóa đơn phải có 6 ký tự (C/K, 2 số năm, 1 chữ loại, 2 ký tự), "
                                     f"đang là {symbol!r}")
    elif symbol and issued and symbol[1:3] != f"{issued.year % 100:02d}":
        report.add("TTChung/KHHDon", f"2 chữ số năm của ký hiệu ({symbol[1:3]}) khác năm lập hóa đơn ({issued.year})")
    if number and not NUMBER.match(number):
        report.add("TTChung/SHDon", f"số hóa đơn phải là số từ 1 đến 99999999, đang là {number!r}")
    if g.findtext("DVTTe") and g.findtext("DVTTe") != "VND":
        report.add("TTChung/DVTTe", "đơn vị tiền tệ phải là VND")
    relation = g.find("TTHDLQuan")
    if relation is not None:
        if relation.findtext("TCHDon") not in ("1", "2"):
            report.add("TTHDLQuan/TCHDon", "tính chất phải là 1 (thay thế) hoặc 2 (điều chỉnh)")
        for tag in ("KHMSHDCLQuan", "KHHDCLQuan", "SHDCLQuan", "NLHDCLQuan"):
            if not (relation.findtext(tag) or "").strip():
                report.add(f"TTHDLQuan/{tag}", "hóa đơn điều chỉnh/thay thế phải ghi hóa đơn bị điều chỉnh")
        if relation.findtext("SHDCLQuan") and not NUMBER.match(relation.findtext("SHDCLQuan")):
            report.add("TTHDLQuan/SHDCLQuan", f"số hóa đơn bị điều chỉnh sai dạng: {relation.findtext('SHDCLQuan')!r}")
    content = data.find("NDHDon")
    if content is None:
        report.add("NDHDon", "thiếu nội dung hóa đơn")
        return report
    _parties(content, report)
    _lines_and_sums(content, report, adjusting=relation is not None and relation.findtext("TCHDon") == "2")
    return report


def _parties(content: etree._Element, report: Report) -> None:
    seller, buyer = content.find("NBan"), content.find("NMua")
    if seller is None:
        report.add("NBan", "thiếu người bán")
    else:
        for tag in ("Ten", "MST", "DChi"):
            if not (seller.findtext(tag) or "").strip():
                report.add(f"NBan/{tag}", "bắt buộc với người bán (cơ sở khám bệnh, chữa bệnh)")
        if seller.findtext("MST") and not TAX_CODE.match(seller.findtext("MST")):
            report.add("NBan/MST", f"mã số thuế phải có 10 hoặc 13 chữ số, đang là {seller.findtext('MST')!r}")
    if buyer is None or not (buyer.findtext("Ten") or "").strip():
        report.add("NMua/Ten", "thiếu tên người mua (ghi \"Bán cho người tiêu dùng\" khi người mua không cung cấp)")
    if buyer is not None:
        if buyer.findtext("MST") and not TAX_CODE.match(buyer.findtext("MST")):
            report.add("NMua/MST", f"mã số thuế người mua sai dạng: {buyer.findtext('MST')!r}")
        if buyer.findtext("CCCDan") and not CCCD.match(buyer.findtext("CCCDan")):
            report.add("NMua/CCCDan", f"số định danh cá nhân phải có 12 chữ số: {buyer.findtext('CCCDan')!r}")


def _lines_and_sums(content: etree._Element, report: Report, adjusting: bool) -> None:
    lines = content.findall("DSHHDVu/HHDVu")
    if not lines:
        report.add("DSHHDVu", "hóa đơn phải có ít nhất một dòng hàng hóa, dịch vụ")
    net, rates = Decimal(0), set()
    for n, line in enumerate(lines, start=1):
        where = f"HHDVu[{n}]"
        if line.findtext("STT") != str(n):
            report.add(f"{where}/STT", f"số thứ tự phải là {n}")
        if not (line.findtext("THHDVu") or "").strip():
            report.add(f"{where}/THHDVu", "thiếu tên hàng hóa, dịch vụ")
        amount = _money(line.findtext("ThTien"))
        if amount is None or amount != amount.to_integral_value():
            report.add(f"{where}/ThTien", f"thành tiền phải là số đồng nguyên: {line.findtext('ThTien')!r}")
        else:
            net += amount
        rates.add(line.findtext("TSuat", ""))
    totals = content.find("TToan")
    if totals is None:
        report.add("TToan", "thiếu phần tổng tiền")
        return
    rate_node = totals.find("THTTLTSuat/LTSuat")
    rate_text = rate_node.findtext("TSuat", "") if rate_node is not None else ""
    if rates and rates != {rate_text}:
        report.add("THTTLTSuat/LTSuat/TSuat", f"thuế suất tổng hợp ({rate_text!r}) khác thuế suất các dòng ({sorted(rates)})")
    try:
        rate = vat_rate(rate_text)
    except InvalidOperation:
        report.add("LTSuat/TSuat", f"thuế suất không hiểu được: {rate_text!r}")
        return
    expected_tax = (net * rate / 100).quantize(Decimal(1))
    figures = {tag: _money(totals.findtext(tag)) for tag in ("TgTCThue", "TgTThue", "TgTTTBSo")}
    for tag, want in (("TgTCThue", net), ("TgTThue", expected_tax), ("TgTTTBSo", net + expected_tax)):
        if figures[tag] != want:
            report.add(f"TToan/{tag}", f"phải bằng {want} (tổng các dòng), đang là {totals.findtext(tag)!r}")
    if rate_node is not None and (_money(rate_node.findtext("ThTien")) != net or
                                  _money(rate_node.findtext("TThue")) != expected_tax):
        report.add("THTTLTSuat/LTSuat", f"thành tiền theo thuế suất phải bằng {net}, tiền thuế {expected_tax}")
    if figures["TgTTTBSo"] is not None and totals.findtext("TgTTTBChu") != in_words(figures["TgTTTBSo"]):
        report.add("TToan/TgTTTBChu", f"số tiền bằng chữ phải là \"{in_words(figures['TgTTTBSo'])}\"")
    if not adjusting and figures["TgTTTBSo"] is not None and figures["TgTTTBSo"] <= 0:
        report.add("TToan/TgTTTBSo", "hóa đơn gốc phải có tổng tiền dương (giảm tiền thì lập hóa đơn điều chỉnh)")
