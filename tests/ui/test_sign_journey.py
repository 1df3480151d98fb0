"""A doctor signs a discharge paper in the browser with her token's PIN (a SoftHSM2 token plugged
into the server), sees it listed as signed, downloads the signed PDF and checks the signature; a
wrong PIN is a translated message, not an error page; the patient confirms it with the code sent to
her phone (an SMS gateway stand-in), shown as an electronic confirmation, not a signature."""
from __future__ import annotations

import re
import uuid

from benhan import config as config_mod
from benhan.signing.local_ca import LocalCA, Responder
from benhan.store.store import Store
from tests.live_server import live_server
from tests.signing.sms_standin import SmsStandIn
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.signing.token import USER_PIN, init_softhsm, make_token
from tests.ui.conftest import ARTIFACTS, Journey


def test_a_doctor_signs_a_discharge_paper_with_her_token_and_checks_it(browser, tmp_path):  # noqa: ANN001
    module = init_softhsm(tmp_path / "hsm")
    data = tmp_path / "data"
    with Responder() as responder, SmsStandIn() as sms:
        ca = responder.ca = LocalCA(responder.url)
        (data / "trust").mkdir(parents=True)
        (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
        make_token(module, f"BS-{uuid.uuid4().hex[:6]}", ca, "Lê Văn Hùng", f"CCCD:{DOCTOR_CCCD}")
        store = Store.open(config_mod.load(env={}, data_dir=data, pkcs11_module=module, sms_gateway_url=sms.url,
                                           sms_gateway_key=sms.key))
        try:
            _, actor, eid = _world(store, "bacsi.ky")
            with live_server(store) as server:
                context = browser.new_context(locale="vi-VN")
                page = context.new_page()
                page.set_default_timeout(20_000)
                shots = ARTIFACTS / "sign-journey"
                shots.mkdir(parents=True, exist_ok=True)
                try:
                    Journey(page, server.url, "bacsi.ky").login("bacsi.ky", password=PASSWORD)
                    page.goto(f"{server.url}/ui/encounters/{eid}")
                    page.click(f"a[href='/ui/encounters/{eid}/documents']")
                    page.select_option("#f-sign-form", "discharge")
                    page.fill("#f-pin", "000000")
                    page.click("form[action$='/sign'] button")
                    page.wait_for_load_state()
                    assert "sai mã PIN" in page.inner_text("p.error")     # in Vietnamese, not an error page
                    page.screenshot(path=str(shots / "01-wrong-pin.png"), full_page=True)
                    page.select_option("#f-sign-form", "discharge")
                    page.fill("#f-pin", USER_PIN)
                    page.click("form[action$='/sign'] button")
                    page.wait_for_url(re.compile(r".*/documents\?signed=.*"))
                    page.screenshot(path=str(shots / "02-signed.png"), full_page=True)
                    row = page.locator("table tr", has_text="Giấy ra viện")
                    assert "Đã ký số bởi Lê Văn Hùng" in row.inner_text()
                    pdf = context.request.get(server.url + row.locator("a", has_text="PDF").get_attribute("href"))
                    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
                    row.locator("a", has_text="Kiểm tra chữ ký").click()
                    page.wait_for_load_state()
                    page.screenshot(path=str(shots / "03-verified.png"), full_page=True)
                    assert page.locator("section.verify.ok").count() == 2       # the PDF and the FHIR document
                    assert "Nội dung không thay đổi từ khi ký" in page.inner_text("main")

                    page.go_back()
                    page.wait_for_load_state()
                    page.fill("form.otp-request input[name=phone]", "0912345678")
                    page.click("form.otp-request button")
                    page.wait_for_load_state()
                    assert "091****678" in page.inner_text("main")
                    code = re.search(r"\b(\d{6})\b", sms.sent[-1]["text"]).group(1)
                    page.fill("#f-code", code)
                    page.click("main form button")
                    page.wait_for_url(re.compile(r".*/documents\?confirmed=.*"))
                    page.screenshot(path=str(shots / "04-patient-confirmed.png"), full_page=True)
                    confirmed = page.inner_text(".confirmation")
                    assert "xác nhận bằng OTP (091****678)" in confirmed and "không phải chữ ký số" in confirmed
                finally:
                    context.close()
        finally:
            store.close()
