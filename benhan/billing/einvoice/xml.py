"""The e-invoice as the tax authority's XML (QĐ 1450/QĐ-TCT as amended by QĐ 1510, PBan 2.0.0;
⚠ §6.2: whether NĐ 254 / TT 91 brought a new format was not found) and its signature by the facility:
an XMLDSig over DLHDon, referenced by its Id, in DSCKS/NBan (signing/xmldsig.py)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from benhan.billing.cost_statement import in_words
from benhan.billing.einvoice.model import EInvoice, Party
from benhan.signing import xmldsig

PBAN = "2.0.0"
TITLES = {"1": "HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "2": "HÓA ĐƠN BÁN HÀNG"}
SIGNATURE_HOLDER = "DSCKS/NBan"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _add(parent: etree._Element, tag: str, value: object = None) -> etree._Element:
    node = etree.SubElement(parent, tag)
    if value is not None:
        node.text = value if isinstance(value, str) else _figure(value)
    return node


def _figure(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return str(value)


def _party(parent: etree._Element, tag: str, who: Party) -> None:
    node = _add(parent, tag)
    _add(node, "Ten", who.name)
    if who.tax_code:
        _add(node, "MST", who.tax_code)
    if who.personal_id:
        _add(node, "CCCDan", who.personal_id)
    _add(node, "DChi", who.address)
    if who.person:
        _add(node, "HVTNMHang", who.person)


def build(inv: EInvoice) -> bytes:
    """The unsigned HDon."""
    root = etree.Element("HDon")
    data = _add(root, "DLHDon")
    data.set("Id", inv.part_id)
    general = _add(data, "TTChung")
    for tag, value in (("PBan", PBAN), ("THDon", TITLES.get(inv.template, TITLES["2"])), ("KHMSHDon", inv.template),
                       ("KHHDon", inv.symbol), ("SHDon", str(inv.number)), ("NLap", inv.issued.isoformat()),
                       ("DVTTe", "VND"), ("TGia", "1"), ("HTTToan", inv.payment_method)):
        _add(general, tag, value)
    if inv.provider_tax_code:
        _add(general, "MSTTCGP", inv.provider_tax_code)
    if inv.related is not None:
        rel = _add(general, "TTHDLQuan")
        for tag, value in (("TCHDon", inv.relation), ("LHDCLQuan", "1"), ("KHMSHDCLQuan", inv.related.template),
                           ("KHHDCLQuan", inv.related.symbol), ("SHDCLQuan", str(inv.related.number)),
                           ("NLHDCLQuan", inv.related.issued.isoformat())):
            _add(rel, tag, value)
        if inv.related.note:
            _add(rel, "GChu", inv.related.note)
    content = _add(data, "NDHDon")
    _party(content, "NBan", inv.seller)
    _party(content, "NMua", inv.buyer)
    goods = _add(content, "DSHHDVu")
    for n, line in enumerate(inv.lines, start=1):
        item = _add(goods, "HHDVu")
        unit_price = (line.amount / line.quantity).quantize(Decimal(1)) if line.quantity else line.amount
        for tag, value in (("TChat", "1"), ("STT", str(n)), ("MHHDVu", line.code), ("THHDVu", line.name),
                           ("DVTinh", line.unit), ("SLuong", line.quantity), ("DGia", unit_price), ("TLCKhau", "0"),
                           ("STCKhau", "0"), ("ThTien", line.amount), ("TSuat", inv.vat)):
            _add(item, tag, value)
    totals = _add(content, "TToan")
    rates = _add(totals, "THTTLTSuat")
    rate = _add(rates, "LTSuat")
    _add(rate, "TSuat", inv.vat)
    _add(rate, "ThTien", inv.net)
    _add(rate, "TThue", inv.tax)
    _add(totals, "TgTCThue", inv.net)
    _add(totals, "TgTThue", inv.tax)
    _add(totals, "TgTTTBSo", inv.total)
    _add(totals, "TgTTTBChu", in_words(inv.total))
    etree.SubElement(etree.SubElement(root, "DSCKS"), "NBan")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def sign(document: bytes, key: xmldsig.XmlKey) -> bytes:
    root = etree.fromstring(document, parser=_PARSER)
    return xmldsig.sign_part(document, root.find("DLHDon").get("Id"), SIGNATURE_HOLDER, key)


def verify(document: bytes, cert_pem: bytes | None = None) -> None:
    """SignatureInvalid unless DLHDon carries the seller's valid signature."""
    root = etree.fromstring(document, parser=_PARSER)
    data = root.find("DLHDon")
    xmldsig.verify_part(document, data.get("Id", "") if data is not None else "", cert_pem)


def parse(document: bytes) -> etree._Element:
    return etree.fromstring(document, parser=_PARSER)


def facts(document: bytes) -> dict:
    """What benhan reads back from an invoice it made: symbol, number, date, template, buyer, total."""
    root = parse(document)
    g = root.find("DLHDon/TTChung")
    return {"template": g.findtext("KHMSHDon", ""), "symbol": g.findtext("KHHDon", ""),
            "number": int(g.findtext("SHDon", "0")), "issued": date.fromisoformat(g.findtext("NLap", "")),
            "buyer": root.findtext("DLHDon/NDHDon/NMua/Ten", ""),
            "total": Decimal(root.findtext("DLHDon/NDHDon/TToan/TgTTTBSo", "0")),
            "code": root.findtext("MCCQT", "")}
