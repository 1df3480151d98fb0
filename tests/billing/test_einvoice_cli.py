"""`benhan einvoice send|status` as a clerk runs them (real processes, both databases)."""
from __future__ import annotations

import os
import subprocess

from benhan.billing import payments
from benhan.billing.einvoice import service
from benhan.outbox.queue import Outbox
from tests.billing.einvoice_world import PASSWORD, SELLER_MST, USER, seal, settings, standin
from tests.billing.test_payments import CASHIER, NOON, _line, make_bill, make_world
from tests.server_process import benhan_command


def run(store, *args: str, **env: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    where = ["--data-dir", str(store.config.data_dir)]
    if not store.config.sqlalchemy_url.startswith("sqlite"):
        where += ["--database-url", store.config.sqlalchemy_url]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    return subprocess.run(benhan_command("einvoice", *args, *where), capture_output=True, text=True, timeout=120,
                          env={**clean, **env})


def test_send_and_status(store) -> None:  # noqa: ANN001
    repo, ids = make_world(store)
    bill = make_bill(repo, ids, "HD0001", [_line("250000", "50000")])
    paid = payments.record_payment(repo, CASHIER, bill, "50000", payments.CASH, now=NOON)
    service.for_payment(repo, Outbox(store.db), settings(), seal(), paid, ids["patient"])
    done = run(store, "send")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("benhan: BENHAN-8071: ") and len(done.stderr.strip().splitlines()) == 1
    before = run(store, "status")
    assert before.returncode == 0 and "C26TBV        1" in before.stdout and "| 50000 đ | pending" in before.stdout
    server = standin()
    try:
        env = {"BENHAN_EINVOICE_PROVIDER_URL": server.url, "BENHAN_EINVOICE_USERNAME": USER,
               "BENHAN_EINVOICE_PASSWORD": PASSWORD, "BENHAN_EINVOICE_SELLER_TAX_CODE": SELLER_MST}
        done = run(store, "send", **env)
        assert done.returncode == 0 and done.stdout.strip() == "1 attempted; sent: 1", done.stderr
        code = server.state.stats()["invoices"][0]["mccqt"]
        after = run(store, "status")
        assert f"| sent | {code}" in after.stdout
    finally:
        server.stop()


def test_settle_invoices_bhxh_once_then_the_difference(store, tmp_path) -> None:  # noqa: ANN001
    from tests.billing.test_einvoice_web import configure
    repo, ids = make_world(store)
    make_bill(repo, ids, "HD0007", [_line("250000", "50000")])
    configure(store, tmp_path, "http://127.0.0.1:9")
    env = {"BENHAN_EINVOICE_PROVIDER_URL": "http://127.0.0.1:9", "BENHAN_EINVOICE_SELLER_TAX_CODE": SELLER_MST,
           "BENHAN_EINVOICE_SERIES": "CTBV", "BENHAN_EINVOICE_SELLER_ADDRESS": "Ba Vì",
           "BENHAN_FACILITY_SEAL_FILE": str(tmp_path / "seal.p12"),
           "BENHAN_FACILITY_SEAL_PASSWORD_FILE": str(tmp_path / "seal.pw")}
    done = run(store, "settle", "HD9999", "200000", **env)
    assert done.returncode == 1 and done.stderr.startswith("benhan: BENHAN-8071: ")
    assert run(store, "settle", "HD0007", "hai trăm", **env).returncode == 1
    first = run(store, "settle", "HD0007", "200.000", "--date", "2026-12-20", **env)
    assert first.returncode == 0 and first.stdout.strip() == "C26TBV/1 queued", first.stderr
    assert run(store, "settle", "HD0007", "200000", "--date", "2026-12-21", **env).stdout.strip() == \
        "already invoiced at that amount"
    assert run(store, "settle", "HD0007", "190000", "--date", "2026-12-28", **env).stdout.strip() == "C26TBV/2 queued"
    listed = run(store, "status").stdout
    assert "Bảo hiểm xã hội tỉnh | 200000 đ | pending" in listed and "ĐC Bảo hiểm xã hội tỉnh | -10000 đ" in listed
