"""A doctor corrects a signed discharge paper in the browser: she signs it with her token, finds a
mistake, clicks "Sửa sau khi ký", forgets the reason (told so, nothing signed), gives it with her
PIN, and sees the old version marked superseded and the new one listed; the chain page says both
versions and the link between them are valid."""
from __future__ import annotations

import re
import uuid

from benhan import config as config_mod
from benhan.signing.local_ca import LocalCA, Responder
from benhan.store.store import Store
from tests.live_server import live_server
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.signing.token import USER_PIN, init_softhsm, make_token
from tests.ui.conftest import ARTIFACTS, Journey


def test_a_doctor_corrects_a_signed_discharge_paper(browser, tmp_path):  # noqa: ANN001
    module = init_softhsm(tmp_path / "hsm")
    data = tmp_path / "data"
    with Responder() as responder:
        ca = responder.ca = LocalCA(responder.url)
        (data / "trust").mkdir(parents=True)
        (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
        make_token(module, f"BS-{uuid.uuid4().hex[:6]}", ca, "Lê Văn Hùng", f"CCCD:{DOCTOR_CCCD}")
        store = Store.open(config_mod.load(env={}, data_dir=data, pkcs11_module=module))
        try:
            _, _, eid = _world(store, "bacsi.sua")
            with live_server(store) as server:
                context = browser.new_context(locale="vi-VN")
                page = context.new_page()
                page.set_default_timeout(20_000)
                shots = ARTIFACTS / "amend-journey"
                shots.mkdir(parents=True, exist_ok=True)
                try:
                    Journey(page, server.url, "bacsi.sua").login("bacsi.sua", password=PASSWORD)
                    page.goto(f"{server.url}/ui/encounters/{eid}/documents")
                    page.select_option("#f-sign-form", "discharge")
                    page.fill("#f-pin", USER_PIN)
                    page.click("form[action$='/sign'] button")
                    page.wait_for_url(re.compile(r".*/documents\?signed=.*"))
                    first = page.url.split("signed=")[1]

                    page.click(f"#doc-{first} a.amend")
                    page.wait_for_load_state()
                    page.fill("#f-amend-reason", "   ")
                    page.fill("#f-amend-pin", USER_PIN)
                    page.click("form[action$='/amend'] button")
                    page.wait_for_load_state()
                    assert "phải ghi lý do sửa đổi" in page.inner_text("p.error")
                    page.screenshot(path=str(shots / "01-no-reason.png"), full_page=True)

                    page.fill("#f-amend-reason", "Bổ sung lời dặn tái khám sau 7 ngày")
                    page.fill("#f-amend-pin", USER_PIN)
                    page.click("form[action$='/amend'] button")
                    page.wait_for_url(re.compile(r".*/documents\?signed=.*"))
                    second = page.url.split("signed=")[1]
                    assert second != first
                    page.screenshot(path=str(shots / "02-amended.png"), full_page=True)
                    assert "Đã được thay thế bởi bản sửa đổi" in page.inner_text(f"#doc-{first}")
                    assert page.locator(f"#doc-{first} a.amend").count() == 0
                    assert page.locator(f"#doc-{second} a.amend").count() == 1

                    page.click(f"#doc-{second} a[href$='/chain']")
                    page.wait_for_load_state()
                    page.screenshot(path=str(shots / "03-chain.png"), full_page=True)
                    text = page.inner_text("main")
                    assert "Cả 2 bản và các liên kết giữa chúng đều hợp lệ" in text
                    assert "Bổ sung lời dặn tái khám sau 7 ngày" in text
                    assert page.locator("li.card.verify.ok").count() == 2
                finally:
                    context.close()
        finally:
            store.close()
