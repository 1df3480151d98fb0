"""The e-invoice XML read back independently (lxml XPath) with figures worked out by hand; the
facility's signature over DLHDon verifies and any change breaks it; the checks before sending catch
each kind of mistake; the stand-in provider accepts and refuses like the rules."""
from __future__ import annotations

import base64
from dataclasses import replace
from datetime import date
from decimal import Decimal

import httpx
import pytest
from lxml import etree

from benhan import errors
from benhan.billing.einvoice import validation, xml
from benhan.billing.einvoice.model import ADJUSTING, EInvoice, Line, Party, Related
from benhan.billing.einvoice.provider import HttpProvider
from tests.billing.einvoice_world import PASSWORD, USER, seal, settings, standin

DAY = date(2026, 12, 6)
PATIENT = Party("Nguyễn Văn An", personal_id="001080001111", address="Tản Lĩnh, Ba Vì", person="Nguyễn Văn An")


def invoice(number: int = 1, lines: tuple[Line, ...] | None = None, **changes) -> EInvoice:
    s = settings()
    base = EInvoice(purpose="payment", template="2", symbol="C26TBV", number=number, issued=DAY, seller=s.seller,
                    buyer=PATIENT, lines=lines or (Line("Viện phí theo bảng kê HD0001, phiếu thu PT1", Decimal(150000),
                                                        code="HD0001"),
                                                   Line("Tạm ứng viện phí", Decimal(2_345_000))))
    return replace(base, **changes)


def x(tree: etree._Element, path: str) -> str:
    return tree.xpath(f"string({path})")


def test_the_structure_and_totals_read_back_by_hand():
    tree = etree.fromstring(xml.build(invoice()))
    assert tree.tag == "HDon" and x(tree, "/HDon/DLHDon/@Id") == "HD-C26TBV-00000001"
    assert x(tree, "/HDon/DLHDon/TTChung/KHHDon") == "C26TBV" and x(tree, "/HDon/DLHDon/TTChung/SHDon") == "1"
    assert x(tree, "/HDon/DLHDon/TTChung/NLap") == "2026-12-06" and x(tree, "//TTChung/DVTTe") == "VND"
    assert x(tree, "//NBan/MST") == "0101234567" and x(tree, "//NMua/CCCDan") == "001080001111"
    assert x(tree, "//NMua/Ten") == "Nguyễn Văn An"
    assert tree.xpath("count(//DSHHDVu/HHDVu)") == 2
    assert [e.text for e in tree.xpath("//HHDVu/TSuat")] == ["KCT", "KCT"]
    # 150.000 + 2.345.000 = 2.495.000, no VAT on medical services.
    assert x(tree, "//TToan/TgTCThue") == "2495000" and x(tree, "//TToan/TgTThue") == "0"
    assert x(tree, "//TToan/TgTTTBSo") == "2495000"
    assert x(tree, "//TToan/TgTTTBChu") == "Hai triệu bốn trăm chín mươi lăm nghìn đồng"
    assert x(tree, "//THTTLTSuat/LTSuat/ThTien") == "2495000"
    assert tree.find("DSCKS/NBan") is not None and tree.find("DLHDon/TTChung/TTHDLQuan") is None


def test_an_adjusting_invoice_names_the_original_and_is_negative():
    adj = invoice(number=2, lines=(Line("Điều chỉnh giảm", Decimal(-50000)),), relation=ADJUSTING,
                  related=Related("2", "C26TBV", 1, DAY, "hoàn trả"))
    tree = etree.fromstring(xml.build(adj))
    assert x(tree, "//TTHDLQuan/TCHDon") == "2" and x(tree, "//TTHDLQuan/SHDCLQuan") == "1"
    assert x(tree, "//TTHDLQuan/KHHDCLQuan") == "C26TBV" and x(tree, "//TTHDLQuan/NLHDCLQuan") == "2026-12-06"
    assert x(tree, "//TToan/TgTTTBSo") == "-50000" and x(tree, "//TToan/TgTTTBChu") == "Âm năm mươi nghìn đồng"
    assert validation.validate(xml.build(adj)).ok
    broken = validation.validate(xml.build(adj).replace(b"<SHDCLQuan>1<", b"<SHDCLQuan>mot<"))
    assert [p.field for p in broken.problems] == ["TTHDLQuan/SHDCLQuan"]


def test_a_vat_rate_is_computed_on_the_lines():
    tree = etree.fromstring(xml.build(invoice(vat="5%", lines=(Line("Thuốc bán lẻ", Decimal(123_457)),))))
    # 5 % of 123.457 = 6.172,85 → 6.173 (half up); 123.457 + 6.173 = 129.630.
    assert x(tree, "//TgTThue") == "6173" and x(tree, "//TgTTTBSo") == "129630"


def test_the_signature_verifies_and_any_change_breaks_it():
    signed = xml.sign(xml.build(invoice()), seal())
    tree = etree.fromstring(signed)
    ref = tree.xpath("/HDon/DSCKS/NBan/*[local-name()='Signature']//*[local-name()='Reference']/@URI")
    assert ref == ["#HD-C26TBV-00000001"]
    xml.verify(signed, seal().cert_pem)
    with pytest.raises(errors.SignatureInvalid):
        xml.verify(signed.replace(b"<TgTTTBSo>2495000<", b"<TgTTTBSo>2495001<"), seal().cert_pem)
    with pytest.raises(errors.SignatureInvalid):        # another facility's certificate
        xml.verify(signed, seal("Phòng khám khác").cert_pem)


@pytest.mark.parametrize("change, field", [
    (lambda b: b.replace(b"<KHHDon>C26TBV<", b"<KHHDon>C25TBV<"), "TTChung/KHHDon"),
    (lambda b: b.replace(b"<SHDon>1<", b"<SHDon>123456789<"), "TTChung/SHDon"),
    (lambda b: b.replace(b"<MST>0101234567<", b"<MST>12345<"), "NBan/MST"),
    (lambda b: b.replace(b"<TgTCThue>2495000<", b"<TgTCThue>2495100<"), "TToan/TgTCThue"),
    (lambda b: b.replace("Hai triệu".encode(), "Ba triệu".encode()), "TToan/TgTTTBChu"),
    (lambda b: b.replace("<Ten>Nguyễn Văn An<".encode(), b"<Ten><"), "NMua/Ten"),
    (lambda b: b.replace(b"<CCCDan>001080001111<", b"<CCCDan>0010800<"), "NMua/CCCDan"),
])
def test_the_checks_before_sending_name_the_field(change, field):  # noqa: ANN001
    report = validation.validate(change(xml.build(invoice())))
    assert not report.ok and field in [p.field for p in report.problems]
    assert "C2" in report.text() and "lỗi cần sửa" in report.text()


def test_an_original_invoice_cannot_be_negative():
    report = validation.validate(xml.build(invoice(lines=(Line("Sai", Decimal(-1)),))))
    assert "TToan/TgTTTBSo" in [p.field for p in report.problems]


def _post(server, body: dict, auth: tuple[str, str] = (USER, PASSWORD)) -> httpx.Response:  # noqa: ANN001
    return httpx.post(f"{server.url}/api/einvoice/issue", json=body, auth=auth, timeout=10)


def _b64(inv: EInvoice) -> str:
    return base64.b64encode(xml.sign(xml.build(inv), seal())).decode()


def test_the_standin_issues_in_order_and_refuses_what_breaks_the_rules():
    server = standin()
    try:
        assert _post(server, {"idemKey": "a", "xmlBase64": _b64(invoice(1))}, ("bv-thu", "sai")).status_code == 401
        gap = _post(server, {"idemKey": "k3", "xmlBase64": _b64(invoice(3))})
        assert gap.status_code == 409                                            # number 1 not issued yet
        first = _post(server, {"idemKey": "k1", "xmlBase64": _b64(invoice(1))})
        assert first.status_code == 200 and len(first.json()["mccqt"]) == 34
        again = _post(server, {"idemKey": "k1", "xmlBase64": _b64(invoice(1))})
        assert again.json()["mccqt"] == first.json()["mccqt"]                   # a repeat: the first answer
        reused = _post(server, {"idemKey": "other", "xmlBase64": _b64(invoice(1))})
        assert reused.status_code == 422 and reused.json()["dsLoi"][0]["truong"] == "SHDon"
        unsigned = base64.b64encode(xml.build(invoice(2))).decode()
        assert _post(server, {"idemKey": "u", "xmlBase64": unsigned}).json()["dsLoi"][0]["truong"] == "DSCKS/NBan"
        tampered = base64.b64encode(xml.sign(xml.build(invoice(2)), seal()).replace(b"2495000", b"2495001")).decode()
        assert _post(server, {"idemKey": "t", "xmlBase64": tampered}).status_code == 422
        foreign = base64.b64encode(xml.sign(xml.build(invoice(2)), seal("Phòng khám khác"))).decode()
        assert _post(server, {"idemKey": "f", "xmlBase64": foreign}).status_code == 422
        other_seller = invoice(2, seller=Party("Khác", tax_code="0309999999", address="HCM"))
        assert _post(server, {"idemKey": "s", "xmlBase64": _b64(other_seller)}).json()["dsLoi"][0]["truong"] == "NBan/MST"
        orphan = invoice(2, lines=(Line("Điều chỉnh giảm", Decimal(-1000)),), relation=ADJUSTING,
                         related=Related("2", "C26TBV", 7, DAY))
        assert _post(server, {"idemKey": "o", "xmlBase64": _b64(orphan)}).json()["dsLoi"][0]["truong"] == "TTHDLQuan"
        wrong_date = replace(orphan, related=Related("2", "C26TBV", 1, date(2026, 12, 5)))
        assert _post(server, {"idemKey": "d", "xmlBase64": _b64(wrong_date)}).status_code == 422
        fix = replace(orphan, related=Related("2", "C26TBV", 1, DAY))
        assert _post(server, {"idemKey": "k2", "xmlBase64": _b64(fix)}).status_code == 200
        assert _post(server, {"idemKey": "k3", "xmlBase64": _b64(invoice(3))}).status_code == 200
        stats = httpx.get(f"{server.url}/_standin/stats", timeout=5).json()
        assert stats["issued"] == 3 and [i["number"] for i in stats["invoices"]] == [1, 2, 3]
    finally:
        server.stop()


def test_the_http_client_maps_the_answers():
    server = standin()
    try:
        client = HttpProvider(server.url, USER, PASSWORD, timeout=5)
        httpx.post(f"{server.url}/_standin/faults", json={"status": 503, "count": 1}, timeout=5)
        assert client.issue(xml.sign(xml.build(invoice(1)), seal()), "k1").outcome == "retry"
        sent = client.issue(xml.sign(xml.build(invoice(1)), seal()), "k1")
        assert sent.outcome == "sent" and sent.receipt["mccqt"]
        refused = client.issue(xml.build(invoice(2)), "k2")
        assert refused.outcome == "rejected" and "DSCKS/NBan" in refused.error
        assert HttpProvider("http://127.0.0.1:9", USER, PASSWORD, timeout=2).issue(b"<x/>", "k").outcome == "retry"
    finally:
        server.stop()
