"""Issue 15's acceptance journey in the browser: a BHYT visit on the record (exam, X-ray, CT, a
prescription, the diagnosis, the end of the visit) → the cashier bills it by the key on the
patient's slip (the charges from the record) → shows the VietQR code for the patient's share (scanned
back from the screen) and records the transfer → prints the receipt → opens the BHYT desk, where
the visit's claim is checked (the clerk's report) and sent to the stand-in gateway, signed with the
facility's seal → the gateway accepts it and its receipt is shown."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pdfplumber
import pytest
from PIL import Image

from benhan import config as config_mod
from benhan.signing.local_ca import LocalCA
from benhan.vn import vietqr
from tests.claims.conftest import SEAL_PASSWORD
from tests.claims.test_claims_desk import STAFF_PASSWORD, claims_config, desk, standin_for
from tests.claims.test_record import DAY, bhyt_visit, ma_lk
from tests.live_server import live_server
from tests.ui.conftest import Journey
from tests.ui.test_cashier_journey import ACCOUNT, BIN, _scan


@pytest.fixture
def facility_seal(tmp_path):  # noqa: ANN001, ANN201
    issued = LocalCA("http://127.0.0.1:9").issue("Trung tâm Y tế Demo", organization="Trung tâm Y tế Demo")
    path = tmp_path / "seal.p12"
    path.write_bytes(issued.pkcs12(SEAL_PASSWORD))
    return path, issued.cert_pem()


@pytest.fixture
def bhyt_desk(tmp_path, facility_seal):  # noqa: ANN001, ANN201
    """SQLite (the desk's routes run on both databases in tests/claims/test_claims_desk.py)."""
    seal_path, cert_pem = facility_seal
    with standin_for(cert_pem) as gateway:
        cfg = claims_config(config_mod.load(env={}, data_dir=tmp_path / "data"), tmp_path, gateway=gateway.url,
                            seal=seal_path, vietqr_bank_bin=BIN, vietqr_account=ACCOUNT,
                            vietqr_account_name="TRUNG TAM Y TE DEMO")
        with desk(cfg) as (world, _app), live_server(world.store) as server:
            yield {"world": world, "url": server.url, "gateway": gateway}


def test_a_bhyt_visit_is_paid_by_qr_and_its_claim_checked_sent_and_accepted(browser, bhyt_desk):  # noqa: ANN001
    world, gateway = bhyt_desk["world"], bhyt_desk["gateway"]
    eid = bhyt_visit(world)
    key = ma_lk(world, eid)
    # exam 50,600 + X-ray 65,400 + CT 536,000 + 10 × 14,500 = 797,000; the card (DN, level 4) pays 80 %,
    # the patient 20 % = 159,400 đồng.
    share = Decimal(797000) * Decimal("0.20")
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    j = Journey(page, bhyt_desk["url"], "claim-journey")
    try:
        j.login("thungan", lands="/ui/cashier", password=STAFF_PASSWORD)
        page.fill("#f-ma_lk", key)                                   # the key on the patient's slip
        page.click("main form button")
        page.wait_for_url(re.compile(r".*/ui/cashier/bills/[^/?]+$"))
        invoice_id = page.url.rsplit("/", 1)[1]
        assert page.inner_text("#due") == "159.400 đ"
        j.shot("bill")

        shown = _scan(Image.open(io.BytesIO(page.locator("svg.vietqr").screenshot())))
        assert len(shown) == 1
        qr = vietqr.parse(shown[0])
        assert (qr.bank_bin, qr.account, qr.amount) == (BIN, ACCOUNT, share)
        page.fill("#f-transfer", "159.400")
        page.fill("#f-reference", "FT26324000777")
        page.click("form.pay-transfer button")
        page.wait_for_url(re.compile(r".*\?done=PT.*"))
        assert page.inner_text("#due") == "0 đ"
        j.shot("paid")
        receipt = j.fetch(f"/ui/cashier/bills/{invoice_id}/receipt.pdf")
        with pdfplumber.open(io.BytesIO(receipt)) as doc:
            text = "\n".join(p.extract_text() for p in doc.pages)
        assert "PHIẾU THU TIỀN VIỆN PHÍ" in text and "Nguyễn Văn An" in text and "159.400 đ" in text

        # The BHYT desk, from the menu: the day the visit ended.
        page.click("header nav a[href='/ui/claims']")
        page.wait_for_url(re.compile(r".*/ui/claims$"))
        page.fill("#f-day", DAY.isoformat())
        page.click("main form button")
        page.wait_for_url(re.compile(r".*/ui/claims\?day=.*"))
        row = page.locator(f"tr[data-ma-lk='{key}']")
        assert "Nguyễn Văn An" in row.inner_text() and "Đạt, chưa gửi" in row.inner_text()
        j.shot("desk")
        page.set_viewport_size({"width": 360, "height": 800})          # the desk on a phone: nothing wider
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.set_viewport_size({"width": 1280, "height": 720})

        row.locator("a.check").click()                                # Kiểm tra: the clerk's report
        page.wait_for_url(re.compile(f".*/ui/claims/{key}$"))
        report = page.inner_text("pre.report")
        assert f"Hồ sơ {key} — người bệnh Nguyễn Văn An: đạt, có thể gửi cổng giám định." in report
        j.shot("checked")
        page.click("form.send button")                                # Gửi
        page.wait_for_url(re.compile(f".*/ui/claims/{key}\\?sent=1$"))
        outbox = page.inner_text("table.messages")
        assert outbox.count("Cổng đã tiếp nhận") == 2                 # the check-in and the claim
        receipt_no = re.search(r"Mã giao dịch: (\w+)", outbox).group(1)
        j.shot("accepted")
        assert gateway.state.stats()["accepted"] == [key]
        issued = [body["maGiaoDich"] for body in gateway.state.receipts.values()]
        assert receipt_no in issued                                   # the gateway's own receipt, shown

        j.go(f"/ui/claims?day={DAY.isoformat()}")
        assert "Cổng đã tiếp nhận" in page.locator(f"tr[data-ma-lk='{key}']").inner_text()
        assert "1" in page.locator("table.per-day tbody tr").first.inner_text()
    finally:
        context.close()
