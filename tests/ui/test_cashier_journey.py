"""The cashier's journey in the browser: a visit with orders is billed (bill_for_encounter); the
cashier (thungan) lands on her desk, opens the bill, shows the patient the VietQR code for the exact
amount (the code on the screen is scanned back with a QR decoder), a wrong amount is a translated
message, she records the transfer, prints the receipt (the PDF's text and its code checked) and the
bill is paid; the shift closing shows the takings. Also at 360 px: nothing wider than the phone."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pdfplumber
import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from benhan import config as config_mod
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.billing import accounts
from benhan.clinical.common import now
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.vn import vietqr
from tests.billing.charges_world import AUGMENTIN, CT, XRAY, at, make_world
from tests.live_server import live_server
from tests.ui.conftest import PASSWORD, Journey

BIN, ACCOUNT = "970436", "0011004123456"
DAY = date(2026, 11, 20)


@pytest.fixture
def desk(tmp_path):  # noqa: ANN001, ANN201
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data", vietqr_bank_bin=BIN,
                                       vietqr_account=ACCOUNT, vietqr_account_name="TRUNG TAM Y TE DEMO"))
    try:
        world = make_world(store)
        # No card: the patient pays everything. Exam 50,600 + X-ray 65,400 + CT 536,000 + 10 × 14,500 = 797,000.
        pid = world.patient("001090123457", "Trần Thị Bình")
        eid = world.visit(pid, at(DAY))
        world.order(eid, XRAY, at(DAY, 9))
        world.order(eid, CT, at(DAY, 9, 30))
        world.prescribe(eid, AUGMENTIN, 10, at(DAY, 10))
        bill = accounts.bill_for_encounter(world.system, eid, now=now())
        users.create_user(store, "thungan", "Vũ Thị Thu", ["cashier"], password=PASSWORD)
        with live_server(store) as server:
            yield {"store": store, "url": server.url, "bill": bill}
    finally:
        store.close()


def _scan(image: Image.Image) -> list[str]:
    return [f.text for f in zxingcpp.read_barcodes(image)]


def test_the_cashier_takes_a_vietqr_transfer_and_prints_the_receipt(browser, desk):  # noqa: ANN001
    bill = desk["bill"]
    assert bill.patient_due == Decimal(797000)        # worked out by hand above
    context = browser.new_context(locale="vi-VN", viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    j = Journey(page, desk["url"], "cashier-journey")
    try:
        j.login("thungan", lands="/ui/cashier")
        assert bill.number in page.inner_text("table.bills")
        j.shot("open-bills")
        page.click(f"a:text('{bill.number}')")
        page.wait_for_url(re.compile(f".*/ui/cashier/bills/{bill.invoice_id}$"))
        assert page.inner_text("#due") == "797.000 đ"
        assert "Chụp X-quang" in page.inner_text("table.lines") or len(bill.lines) == page.locator(
            "table.lines tbody tr").count()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360     # usable on a phone
        j.shot("bill")

        # The code on the screen, as the patient's phone sees it.
        shown = _scan(Image.open(io.BytesIO(page.locator("svg.vietqr").screenshot())))
        assert len(shown) == 1
        qr = vietqr.parse(shown[0])
        assert (qr.bank_bin, qr.account, qr.amount, qr.bill_number) == (BIN, ACCOUNT, Decimal(797000), bill.number)
        assert qr.purpose == f"VP {bill.number}"

        # The receipt while unpaid carries the code too.
        unpaid = j.fetch(f"/ui/cashier/bills/{bill.invoice_id}/receipt.pdf")
        bitmap = pypdfium2.PdfDocument(unpaid)[0].render(scale=3).to_pil()
        assert _scan(bitmap) == shown

        # A mistyped amount: a message in Vietnamese beside the field, nothing recorded.
        page.fill("#f-transfer", "-797000")
        page.click("form.pay-transfer button")
        page.wait_for_load_state()
        assert "Số tiền phải là số nguyên đồng" in page.inner_text("form.pay-transfer")
        page.fill("#f-transfer", "800000")
        page.click("form.pay-transfer button")
        page.wait_for_load_state()
        assert "lớn hơn số còn phải trả 797.000 đ" in page.inner_text("form.pay-transfer")
        j.shot("refused")

        page.fill("#f-transfer", "797.000")
        page.fill("#f-reference", "FT26324000123")
        page.click("form.pay-transfer button")
        page.wait_for_url(re.compile(r".*\?done=PT.*"))
        assert "Đã ghi phiếu PT" in page.inner_text("p.notice")
        assert page.inner_text("#due") == "0 đ" and page.locator("#settled").count() == 1
        assert "FT26324000123" in page.inner_text("table.receipts")
        j.shot("paid")

        pdf = j.fetch(f"/ui/cashier/bills/{bill.invoice_id}/receipt.pdf")
        with pdfplumber.open(io.BytesIO(pdf)) as doc:
            assert len(doc.pages) >= 1 and round(doc.pages[0].width / 72 * 25.4) == 148        # A5
            text = "\n".join(p.extract_text() for p in doc.pages)
        assert "PHIẾU THU TIỀN VIỆN PHÍ" in text and bill.number in text and "Trần Thị Bình" in text
        assert "797.000 đ" in text and "ĐÃ THANH TOÁN ĐỦ" in text and "chuyển khoản VietQR" in text
        assert _scan(pypdfium2.PdfDocument(pdf)[0].render(scale=3).to_pil()) == []     # paid: no code

        # The receipt of this one transaction (one per payment, NĐ 254/2026 Đ9 k4 m).
        one = j.fetch(page.get_attribute("a.print-one", "href"))
        with pdfplumber.open(io.BytesIO(one)) as doc:
            words = "\n".join(p.extract_text() for p in doc.pages)
        number = re.search(r"Số phiếu: (PT\S+)", words).group(1)
        assert number in page.inner_text("table.receipts") and "Số tiền: 797.000 đ" in words
        assert "Hình thức: chuyển khoản VietQR" in words

        # The cost statement the patient signs, from the same desk.
        statement = j.fetch(page.get_attribute("#cost-statement", "href"))
        with pdfplumber.open(io.BytesIO(statement)) as doc:
            words = "\n".join(p.extract_text() for p in doc.pages)
        assert "01/KBCB" in words and "Trần Thị Bình" in words

        stored = Repository(desk["store"], Actor.system()).read("Invoice", bill.invoice_id).json()
        assert stored["status"] == "balanced"
        j.go("/ui/cashier")
        assert bill.number not in page.inner_text("main")

        j.go("/ui/cashier/closing")
        assert "797.000 đ" in page.inner_text("table.totals")
        page.click("main form button")
        page.wait_for_url(re.compile(r".*/closing\?done=KC-.*"))
        assert page.inner_text("#open-total") == "0 đ"
        j.shot("closed")
    finally:
        context.close()
