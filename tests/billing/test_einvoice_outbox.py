"""E-invoices through the one outbox, on both databases: a payment's invoice is numbered, signed,
queued once and issued by the stand-in provider with its tax-authority code; 5xx answers are retried
and one invoice is issued; a refund is an adjusting invoice referencing the original; the day's
summary and the BHXH settlement invoices; and with e-invoicing not configured nothing is made."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from lxml import etree

from benhan import config as config_mod
from benhan.billing import payments
from benhan.billing.einvoice import service, xml
from benhan.billing.einvoice.provider import HttpProvider
from benhan.outbox.queue import Backoff, Outbox
from tests.billing.einvoice_world import PASSWORD, USER, seal, settings, standin
from tests.billing.test_payments import CASHIER, NOON, _line, make_bill, make_world


def x(payload: bytes, path: str) -> str:
    return etree.fromstring(payload).xpath(f"string({path})")


class Clock:
    def __init__(self) -> None:
        self.now = NOON

    def __call__(self):  # noqa: ANN204
        return self.now


def world(store):  # noqa: ANN001, ANN201
    repo, ids = make_world(store)
    bill = make_bill(repo, ids, "HD0001", [_line("250000", "50000"), _line("100000", "0", "100000")])
    clock = Clock()
    outbox = Outbox(store.db, clock=clock, rng=lambda: 1.0, backoff=Backoff(base_seconds=30, max_attempts=5))
    return repo, ids, bill, outbox, clock


def test_a_payment_is_invoiced_once_and_issued_with_its_code(store):  # noqa: ANN001
    repo, ids, bill, outbox, _ = world(store)
    server = standin()
    try:
        paid = payments.record_payment(repo, CASHIER, bill, "100000", payments.CASH, now=NOON)
        item = service.for_payment(repo, outbox, settings(), seal(), paid, ids["patient"])
        again = service.for_payment(repo, outbox, settings(), seal(), paid, ids["patient"])
        assert again.pk == item.pk and len(outbox.items(kind=service.KIND)) == 1
        assert x(item.payload, "//KHHDon") == "C26TBV" and x(item.payload, "//SHDon") == "1"
        assert x(item.payload, "//NMua/Ten") == "Nguyễn Văn An" and x(item.payload, "//TgTTTBSo") == "100000"
        assert x(item.payload, "//TgTTTBChu") == "Một trăm nghìn đồng"
        xml.verify(item.payload, seal().cert_pem)
        assert service.send_due(outbox, HttpProvider(server.url, USER, PASSWORD, timeout=5)) == 1
        status = service.status_for_receipt(outbox, paid)
        assert status.state == "sent" and len(status.code) == 34 and status.number == 1
        # The next receipt takes the next number: the repeat above used none.
        second = payments.record_payment(repo, CASHIER, bill, "50000", payments.VIETQR, now=NOON + timedelta(minutes=1))
        assert x(service.for_payment(repo, outbox, settings(), seal(), second, ids["patient"]).payload, "//SHDon") == "2"
    finally:
        server.stop()


def test_5xx_is_retried_and_one_invoice_is_issued(store):  # noqa: ANN001
    repo, ids, bill, outbox, clock = world(store)
    server = standin()
    provider = HttpProvider(server.url, USER, PASSWORD, timeout=5)
    try:
        paid = payments.record_payment(repo, CASHIER, bill, "150000", payments.CASH, now=NOON)
        item = service.for_payment(repo, outbox, settings(), seal(), paid, ids["patient"])
        httpx.post(f"{server.url}/_standin/faults", json={"status": 503, "count": 2}, timeout=5)
        service.send_due(outbox, provider)
        assert outbox.get(item.pk).state == "pending" and "503" in outbox.get(item.pk).last_error
        service.send_due(outbox, provider)
        assert outbox.get(item.pk).attempts == 1            # not due yet: the backoff holds it
        for _ in range(2):
            clock.now += timedelta(minutes=5)
            service.send_due(outbox, provider)
        assert outbox.get(item.pk).state == "sent"
        # A worker killed after the provider answered but before the outcome was kept sends it again
        # with the same key: the provider answers with the first code, no second invoice.
        first = service.status_of(outbox.get(item.pk)).code
        assert provider.issue(item.payload, item.idem_key).receipt["mccqt"] == first
        stats = httpx.get(f"{server.url}/_standin/stats", timeout=5).json()
        assert stats["issued"] == 1 and stats["received"][item.idem_key] == 2
    finally:
        server.stop()


def test_a_refund_is_an_adjusting_invoice_referencing_the_original(store):  # noqa: ANN001
    repo, ids, bill, outbox, clock = world(store)
    server = standin()
    try:
        paid = payments.record_payment(repo, CASHIER, bill, "150000", payments.CASH, now=NOON)
        original = service.for_payment(repo, outbox, settings(), seal(), paid, ids["patient"])
        back = payments.refund(repo, CASHIER, paid.id, "40000", "Hủy xét nghiệm", now=NOON + timedelta(hours=1),
                               bill=bill)
        fix = service.correction_for_refund(repo, outbox, settings(), seal(), back, ids["patient"])
        assert x(fix.payload, "//TTHDLQuan/TCHDon") == "2"
        assert x(fix.payload, "//TTHDLQuan/SHDCLQuan") == x(original.payload, "//SHDon") == "1"
        assert x(fix.payload, "//TTHDLQuan/NLHDCLQuan") == x(original.payload, "//NLap")
        assert x(fix.payload, "//TgTTTBSo") == "-40000" and x(fix.payload, "//SHDon") == "2"
        assert x(fix.payload, "//NMua/Ten") == "Nguyễn Văn An"
        assert len(outbox.items(kind=service.KIND)) == 2            # the original is still there, unchanged
        service.send_due(outbox, HttpProvider(server.url, USER, PASSWORD, timeout=5))
        assert service.status_for_receipt(outbox, back).state == "sent"
        assert service.status_for_receipt(outbox, paid).state == "sent"
        invoices = httpx.get(f"{server.url}/_standin/stats", timeout=5).json()["invoices"]
        assert [(i["number"], i["related"]) for i in invoices] == [(1, None), (2, "1")]
    finally:
        server.stop()


def test_the_days_summary_and_its_refunds(store):  # noqa: ANN001
    repo, ids, bill, outbox, _ = world(store)
    daily = settings(daily=True)
    first = payments.record_payment(repo, CASHIER, bill, "100000", payments.CASH, now=NOON)
    assert service.for_payment(repo, outbox, daily, seal(), first, ids["patient"]) is None
    payments.record_payment(repo, CASHIER, bill, "50000", payments.VIETQR, now=NOON + timedelta(minutes=5))
    payments.refund(repo, CASHIER, first.id, "30000", "Thu thừa", now=NOON + timedelta(minutes=9), bill=bill)
    item = service.daily_summary(repo, outbox, daily, seal(), NOON.date(), NOON.tzinfo)
    # 100.000 + 50.000 − 30.000 = 120.000, to the consumer, three lines.
    assert x(item.payload, "//NMua/Ten") == "Bán cho người tiêu dùng"
    assert x(item.payload, "count(//HHDVu)") == "3" and x(item.payload, "//TgTTTBSo") == "120000"
    assert service.status_for_receipt(outbox, first).number == 1


def test_the_bhxh_share_at_settlement_and_a_later_difference(store):  # noqa: ANN001
    _, _, bill, outbox, _ = world(store)
    first = service.for_settlement(outbox, settings(), seal(), bill.number, Decimal("200000"), NOON.date())
    assert x(first.payload, "//NMua/Ten") == "Bảo hiểm xã hội thành phố Hà Nội"
    assert x(first.payload, "//NMua/MST") == "0100112344" and x(first.payload, "//TgTTTBSo") == "200000"
    assert service.for_settlement(outbox, settings(), seal(), bill.number, Decimal("200000"), NOON.date()) is None
    less = service.for_settlement(outbox, settings(), seal(), bill.number, Decimal("185000"), NOON.date())
    assert x(less.payload, "//TgTTTBSo") == "-15000" and x(less.payload, "//TTHDLQuan/SHDCLQuan") == "1"


def test_not_configured_makes_no_invoice(tmp_path):  # noqa: ANN001
    cfg = config_mod.load(data_dir=tmp_path)
    assert service.settings_from(cfg, "Trung tâm Y tế Ba Vì") is None
