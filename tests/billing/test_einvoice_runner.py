"""The e-invoice worker of `benhan serve` (both databases): after midnight it queues the day's summary
invoice once and sends what is due; an invoice the desk could not send (provider down) goes out in
the next round."""
from __future__ import annotations

from datetime import timedelta

from lxml import etree

from benhan.billing import payments
from benhan.billing.einvoice import service
from benhan.web.einvoice_runner import EInvoiceRunner, start_if_configured
from tests.billing.einvoice_world import standin
from tests.billing.test_einvoice_web import configure
from tests.billing.test_payments import CASHIER, NOON, _line, make_bill, make_world


def test_the_days_summary_is_made_after_midnight_and_sent(store, tmp_path) -> None:  # noqa: ANN001
    assert start_if_configured(store) is None               # nothing runs without a provider
    repo, ids = make_world(store)
    bill = make_bill(repo, ids, "HD0001", [_line("250000", "50000"), _line("100000", "0", "100000")])
    server = standin()
    try:
        server.state.cert_pem = configure(store, tmp_path, server.url)
        store.config = store.config.replace(einvoice_daily_summary=True, timezone="+07:00")
        payments.record_payment(repo, CASHIER, bill, "120000", payments.CASH, now=NOON)
        payments.record_payment(repo, CASHIER, bill, "30000", payments.VIETQR, now=NOON + timedelta(hours=3))
        runner = EInvoiceRunner(store)
        assert runner.round(NOON + timedelta(hours=6)) == 0          # the day is not over: nothing yet
        assert runner.round(NOON + timedelta(hours=13)) == 1         # 01:00 the next day
        assert runner.round(NOON + timedelta(hours=14)) == 0         # made once
        item = runner.outbox.by_key(service.daily_key(NOON.date()))
        assert item.state == "sent"
        tree = etree.fromstring(item.payload)
        assert tree.xpath("string(//TgTTTBSo)") == "150000" and tree.xpath("count(//HHDVu)") == 2
        assert server.state.stats()["invoices"][0]["total"] == "150000"
    finally:
        server.stop()
