"""The acceptance journey of a legal electronic record (issue 13), in the browser: a doctor signs the
discharge paper with her token's PIN (SoftHSM2 plugged into the server), the patient confirms it with
the code sent to her phone (an SMS gateway stand-in) and again by signing on the tablet's screen
(drawn with the pointer: an empty pad is refused first), the director seals it with the facility's
seal, then opens "Kiểm tra chữ ký" and sees every signature: the author's, the patient's two
confirmations (told apart from digital signatures) and the facility's seal, the document unchanged."""
from __future__ import annotations

import re
import uuid

from benhan import config as config_mod
from benhan.auth import users
from benhan.documents import paper
from benhan.signing.local_ca import LocalCA, Responder
from benhan.store.store import Store
from tests.live_server import live_server
from tests.signing.sms_standin import SmsStandIn
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.signing.test_paper import FACILITY, SEAL_PASSWORD
from tests.signing.token import USER_PIN, init_softhsm, make_token
from tests.ui.conftest import Journey


def _draw(page, canvas: str = "#signature-pad") -> None:  # noqa: ANN001
    """A signature as a hand makes it: pointer down, a few strokes, pointer up."""
    box = page.locator(canvas).bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for i in range(1, 25):
        page.mouse.move(x + w * (0.1 + 0.03 * i), y + h * (0.3 if i % 2 else 0.75), steps=3)
    page.mouse.up()


def test_doctor_signs_patient_confirms_director_seals_and_verifies(browser, tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.delenv(paper.SEAL_PASSWORD_ENV, raising=False)
    module = init_softhsm(tmp_path / "hsm")
    data = tmp_path / "data"
    with Responder() as responder, SmsStandIn() as sms:
        ca = responder.ca = LocalCA(responder.url)
        (data / "trust").mkdir(parents=True)
        (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
        make_token(module, f"BS-{uuid.uuid4().hex[:6]}", ca, "Lê Văn Hùng", f"CCCD:{DOCTOR_CCCD}")
        seal, secret = tmp_path / "seal.p12", tmp_path / "seal.pass"
        seal.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
        secret.write_text(SEAL_PASSWORD, encoding="utf-8")
        store = Store.open(config_mod.load(env={}, data_dir=data, pkcs11_module=module, sms_gateway_url=sms.url,
                                           sms_gateway_key=sms.key, facility_seal_file=seal,
                                           facility_seal_password_file=secret))
        try:
            _, _, eid = _world(store, "bacsi.ky")
            users.create_user(store, "giamdoc", "Đỗ Văn Minh", ["director"], password=PASSWORD)
            with live_server(store) as server:
                _doctor_and_patient(browser, server.url, eid, sms)
                _director(browser, server.url, eid)
        finally:
            store.close()


def _doctor_and_patient(browser, base: str, eid: str, sms: SmsStandIn) -> None:  # noqa: ANN001
    # The doctor's workstation, then the ward's tablet (touch screen, tablet-sized).
    context = browser.new_context(locale="vi-VN", viewport={"width": 800, "height": 1280}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    j = Journey(page, base, "legal-record-journey")
    try:
        j.login("bacsi.ky", password=PASSWORD)
        j.go(f"/ui/encounters/{eid}")
        page.click(f"a[href='/ui/encounters/{eid}/documents']")
        assert page.locator("form.seal").count() == 0                   # the doctor signs; she does not seal
        page.select_option("#f-sign-form", "discharge")
        page.fill("#f-pin", USER_PIN)
        page.click("form[action$='/sign'] button")
        page.wait_for_url(re.compile(r".*/documents\?signed=.*"))
        j.shot("doctor-signed")
        row = page.locator("table tr", has_text="Giấy ra viện")
        assert "Đã ký số bởi Lê Văn Hùng" in row.inner_text()

        # The patient confirms with the code sent to her phone.
        row.locator("form.otp-request input[name=phone]").fill("0912345678")
        row.locator("form.otp-request button").click()
        page.wait_for_load_state()
        code = re.search(r"\b(\d{6})\b", sms.sent[-1]["text"]).group(1)
        page.fill("#f-code", code)
        page.click("main form button")
        page.wait_for_url(re.compile(r".*/documents\?confirmed=.*"))
        j.shot("patient-confirmed-by-otp")

        # …and by signing on the screen: an untouched pad is refused, a drawn signature kept.
        page.locator("table tr", has_text="Giấy ra viện").locator("a.pad-link").click()
        page.wait_for_load_state()
        page.fill("#f-device", "Máy tính bảng khoa Nội")
        page.click("#pad-save")
        page.wait_for_load_state()
        assert "chưa có chữ ký trên màn hình" in page.inner_text("p.error")
        # A phone-sized screen: the box shrinks to fit and a stroke lands where the finger is.
        page.set_viewport_size({"width": 360, "height": 740})
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.locator("#signature-pad").bounding_box()["width"] < 360
        _draw(page)
        j.shot("patient-signs-on-the-screen")
        page.click("#pad-save")
        page.wait_for_url(re.compile(r".*/documents\?confirmed=.*"))
        j.shot("patient-confirmed-on-the-screen")
        confirmed = page.locator("table tr", has_text="Giấy ra viện").locator(".confirmation").all_inner_texts()
        assert len(confirmed) == 2 and "xác nhận bằng OTP (091****678)" in confirmed[0]
        assert "Người bệnh xác nhận bằng chữ ký tay trên màn hình lúc" in confirmed[1]
        assert "Máy tính bảng khoa Nội" in confirmed[1] and "không phải chữ ký số" in confirmed[1]
    finally:
        context.close()


def _director(browser, base: str, eid: str) -> None:  # noqa: ANN001
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    j = Journey(page, base, "legal-record-journey-director")
    try:
        j.login("giamdoc", password=PASSWORD)
        j.go(f"/ui/encounters/{eid}/documents")
        row = page.locator("table tr", has_text="Giấy ra viện")
        assert row.locator("form.seal button").inner_text() == "Đóng dấu cơ sở"
        row.locator("form.seal button").click()
        page.wait_for_url(re.compile(r".*/documents\?sealed=.*"))
        j.shot("director-sealed")
        row = page.locator("table tr", has_text="Giấy ra viện")
        assert page.locator("table tr", has_text="Giấy ra viện").count() == 1        # one row per paper
        assert "Đã ký số bởi Lê Văn Hùng" in row.inner_text() and "Đã đóng dấu số của cơ sở" in row.inner_text()
        assert row.locator("form.seal").count() == 0
        row.locator("a", has_text="Kiểm tra chữ ký").click()
        page.wait_for_load_state()
        j.shot("director-verifies")
        assert page.locator("section.verify.author.ok").count() == 2           # the PDF and the FHIR document
        assert page.locator("section.verify.seal.ok").count() == 2
        assert page.locator("section.verify.warn").count() == 0
        author = page.locator("section.verify.author").first.inner_text()
        assert "Đã ký số bởi Lê Văn Hùng (CCCD:" in author and "Trạng thái chứng thư khi ký: hợp lệ" in author
        assert f"Đã ký số bởi {FACILITY}" in page.locator("section.verify.seal").first.inner_text()
        checks = page.locator(".confirmation-check.ok")
        assert checks.count() == 2
        assert "xác nhận bằng mã OTP gửi đến 091****678" in checks.nth(0).inner_text()
        assert "chữ ký tay trên màn hình, thiết bị: Máy tính bảng khoa Nội" in checks.nth(1).inner_text()
        assert checks.nth(1).locator("img").evaluate("i => i.naturalWidth") > 0   # the drawing itself
        assert page.inner_text("main").count("Tài liệu không thay đổi từ khi xác nhận.") == 2
    finally:
        context.close()
