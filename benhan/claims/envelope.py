"""The file sent to the gateway: ``GIAMDINHHS`` with the facility code, the date it was made and one
``HOSO`` whose ``FILEHOSO`` elements each carry a table (``LOAIHOSO`` XML1…, ``NOIDUNGFILE`` the
table's XML in base64), signed by the facility in ``CHUKYDONVI`` (vietnam.md §3.3).

The check-in is the same envelope with XML0 alone (⚠ the BHXH guide asks for a signed XML0; its
exact wrapping is in docs/claims.md as not confirmed).
"""
from __future__ import annotations

import base64
from datetime import datetime

from lxml import etree

from benhan.claims.tables import Table, day, from_xml, to_xml
from benhan.signing import xmldsig

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
SIGNATURE_HOLDER = "CHUKYDONVI"


def build(facility: str, made: datetime, tables: list[Table]) -> bytes:
    root = etree.Element("GIAMDINHHS", nsmap={"xsi": XSI, "xsd": XSD})
    etree.SubElement(etree.SubElement(root, "THONGTINDONVI"), "MACSKCB").text = facility
    info = etree.SubElement(root, "THONGTINHOSO")
    etree.SubElement(info, "NGAYLAP").text = day(made)
    etree.SubElement(info, "SOLUONGHOSO").text = "1"
    hoso = etree.SubElement(etree.SubElement(info, "DANHSACHHOSO"), "HOSO")
    for table in tables:
        item = etree.SubElement(hoso, "FILEHOSO")
        etree.SubElement(item, "LOAIHOSO").text = table.name
        etree.SubElement(item, "NOIDUNGFILE").text = base64.b64encode(to_xml(table)).decode()
    etree.SubElement(root, SIGNATURE_HOLDER)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def sign(envelope: bytes, key: xmldsig.XmlKey) -> bytes:
    return xmldsig.sign_into(envelope, SIGNATURE_HOLDER, key)


def read(envelope: bytes) -> tuple[str, list[Table]]:
    """The facility code and the tables of an envelope (ValueError when it is not one)."""
    try:
        root = etree.fromstring(envelope, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"không phải XML: {exc}") from None
    if root.tag != "GIAMDINHHS":
        raise ValueError(f"thẻ gốc là {root.tag}, phải là GIAMDINHHS")
    facility = root.findtext("THONGTINDONVI/MACSKCB") or ""
    tables = []
    for item in root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO"):
        name = item.findtext("LOAIHOSO") or ""
        try:
            data = base64.b64decode(item.findtext("NOIDUNGFILE") or "", validate=True)
        except ValueError:
            raise ValueError(f"{name}: NOIDUNGFILE không phải base64") from None
        try:
            tables.append(from_xml(name, data))
        except KeyError:
            raise ValueError(f"LOAIHOSO {name} không được hỗ trợ") from None
        except etree.XMLSyntaxError as exc:
            raise ValueError(f"{name}: nội dung không phải XML ({exc})") from None
    return facility, tables
