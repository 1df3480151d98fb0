"""The cashier desk with e-invoicing, on both databases: a payment at the desk is invoiced and coded
by the stand-in provider and the bill page shows the invoice, its state and code; a refund is an
adjusting invoice referencing it; a provider that is down, a seal that is missing or e-invoicing not
configured never make the payment fail."""
from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest

from benhan.billing import payments
from benhan.outbox.queue import Outbox
from benhan.signing import xmldsig
from tests.billing.einvoice_world import PASSWORD, SELLER_MST, USER, standin
from tests.billing.test_payments_web import desk  # noqa: F401 - the cashier's logged-in desk

SEAL_PASSWORD = "pw"


def configure(store, tmp_path, url: str, with_seal: bool = True) -> bytes:  # noqa: ANN001
    from benhan.signing.local_ca import LocalCA
    p12, secret, provider_secret = tmp_path / "seal.p12", tmp_path / "seal.pw", tmp_path / "einvoice.pw"
    issued = LocalCA("http://127.0.0.1:9").issue("Bệnh viện Đa khoa Thử nghiệm")
    p12.write_bytes(issued.pkcs12(SEAL_PASSWORD))
    secret.write_text(SEAL_PASSWORD, encoding="utf-8")
    provider_secret.write_text(PASSWORD, encoding="utf-8")
    store.config = store.config.replace(
        einvoice_provider_url=url, einvoice_username=USER, einvoice_password_file=provider_secret,
        einvoice_seller_tax_code=SELLER_MST, einvoice_seller_address="Tòng Bạt, Ba Vì, Hà Nội", einvoice_series="CTBV",
        **({"facility_seal_file": p12, "facility_seal_password_file": secret} if with_seal else {}))
    return xmldsig.key_from_pkcs12(p12.read_bytes(), SEAL_PASSWORD).cert_pem


def pay(desk, amount: str):  # noqa: ANN001, ANN201, F811
    c, bill = desk["client"], desk["bill"]
    r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/pay", data={"csrf": desk["csrf"], "method": "cash",
                                                                "amount": amount, "_form": "cash"})
    assert r.status_code == 200 and r.url.path == f"/ui/cashier/bills/{bill.invoice_id}"
    return r


def test_a_payment_and_its_refund_are_invoiced_and_shown_with_the_code(desk, store, tmp_path):  # noqa: ANN001, F811
    server = standin()
    try:
        server.state.cert_pem = configure(store, tmp_path, server.url)     # the certificate the facility registered
        page = pay(desk, "116000")
        stats = httpx.get(f"{server.url}/_standin/stats", timeout=5).json()
        assert stats["issued"] == 1, stats
        code = stats["invoices"][0]["mccqt"]
        assert re.search(r"HĐĐT C\d\dTBV số 1 · đã cấp mã", page.text)
        assert code in page.text
        rid = payments.receipts_for(desk["repo"], f"Invoice/{desk['bill'].invoice_id}")[0].id
        r = desk["client"].post(f"/ui/cashier/bills/{desk['bill'].invoice_id}/refund",
                                data={"csrf": desk["csrf"], "receipt": rid, "amount": "16000",
                                      "reason": "Hủy chụp X-quang", "_form": "refund"})
        assert r.status_code == 200
        invoices = httpx.get(f"{server.url}/_standin/stats", timeout=5).json()["invoices"]
        assert [(i["number"], i["related"], i["total"]) for i in invoices] == [(1, None, "116000"), (2, "1", "-16000")]
        assert re.search(r"HĐĐT C\d\dTBV số 2 \(điều chỉnh\) · đã cấp mã", r.text)
    finally:
        server.stop()


def test_a_provider_that_is_down_leaves_the_invoice_waiting_and_the_payment_stands(desk, store, tmp_path):  # noqa: ANN001, F811
    configure(store, tmp_path, "http://127.0.0.1:9")
    page = pay(desk, "116000")
    assert payments.paid_for(desk["repo"], desk["bill"].invoice_id) == Decimal(116000)
    assert "chờ gửi" in page.text
    assert [i.state for i in Outbox(store.db).items(kind="einvoice")] == ["pending"]


@pytest.mark.parametrize("how", ["not configured", "no seal"])
def test_without_e_invoicing_the_payment_works(desk, store, tmp_path, how):  # noqa: ANN001, F811
    if how == "no seal":
        configure(store, tmp_path, "http://127.0.0.1:9", with_seal=False)
    page = pay(desk, "116000")
    assert payments.paid_for(desk["repo"], desk["bill"].invoice_id) == Decimal(116000)
    assert "HĐĐT" not in page.text and Outbox(store.db).items(kind="einvoice") == []
