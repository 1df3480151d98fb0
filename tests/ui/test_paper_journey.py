"""A clerk's day with paper, in the browser: from the patient page to "Chuyển đổi văn bản giấy", a
photographed lab report uploaded (a file that is not a scan first: the reason in Vietnamese on the same
page), then listed on the patient page, its sealed PDF downloaded and its seal checked."""
from __future__ import annotations

import re

from benhan import config as config_mod
from benhan.signing.local_ca import LocalCA, Responder
from benhan.store.store import Store
from tests.live_server import live_server
from tests.signing.test_documents import PASSWORD, _world
from tests.signing.test_paper import FACILITY, SEAL_PASSWORD, _patient, jpeg
from tests.ui.conftest import ARTIFACTS, Journey


def test_a_photographed_report_is_converted_in_the_browser(browser, tmp_path):  # noqa: ANN001
    data = tmp_path / "data"
    with Responder() as responder:
        ca = responder.ca = LocalCA(responder.url)
        (data / "trust").mkdir(parents=True)
        (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
        p12, secret = tmp_path / "seal.p12", tmp_path / "seal-password"
        p12.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
        secret.write_text(SEAL_PASSWORD, encoding="utf-8")
        store = Store.open(config_mod.load(env={}, data_dir=data, facility_seal_file=p12,
                                           facility_seal_password_file=secret))
        try:
            repo, _, eid = _world(store, "bacsi.giay")
            pid = _patient(repo, eid)
            (tmp_path / "ghi-chu.pdf").write_text("không phải bản quét", encoding="utf-8")
            (tmp_path / "xet-nghiem.jpg").write_bytes(jpeg(600, 800))
            with live_server(store) as server:
                context = browser.new_context(locale="vi-VN")
                page = context.new_page()
                page.set_default_timeout(20_000)
                shots = ARTIFACTS / "paper-journey"
                shots.mkdir(parents=True, exist_ok=True)
                try:
                    Journey(page, server.url, "bacsi.giay").login("bacsi.giay", password=PASSWORD)
                    page.goto(f"{server.url}/ui/patients/{pid}")
                    page.click(f"a[href='/ui/patients/{pid}/paper']")
                    page.select_option("#f-paper-kind", "lab")
                    page.fill("#f-paper-date", "03/05/2019")
                    page.set_input_files("#f-paper-file", str(tmp_path / "ghi-chu.pdf"))
                    page.click("form[action$='/paper'] button")
                    page.wait_for_load_state()
                    assert "không phải PDF, JPEG hay PNG" in page.inner_text("p.error")
                    assert page.input_value("#f-paper-date") == "03/05/2019"        # what was typed is kept
                    page.screenshot(path=str(shots / "01-not-a-scan.png"), full_page=True)
                    page.fill("#f-paper-title", "Phiếu xét nghiệm máu")
                    page.set_input_files("#f-paper-file", str(tmp_path / "xet-nghiem.jpg"))
                    page.click("form[action$='/paper'] button")
                    page.wait_for_url(re.compile(r".*/paper\?converted=.*"))
                    page.screenshot(path=str(shots / "02-converted.png"), full_page=True)
                    row = page.locator("table tr", has_text="Phiếu xét nghiệm máu")
                    assert "03/05/2019" in row.inner_text()
                    pdf = context.request.get(server.url + row.locator("a", has_text="PDF").get_attribute("href"))
                    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
                    page.goto(f"{server.url}/ui/patients/{pid}")
                    section = page.locator("#paper-documents")
                    assert "Phiếu kết quả xét nghiệm" in section.inner_text()
                    section.locator("a", has_text="Kiểm tra chữ ký").click()
                    page.wait_for_load_state()
                    page.screenshot(path=str(shots / "03-verified.png"), full_page=True)
                    assert page.locator("section.verify.ok").count() == 1 and FACILITY in page.inner_text("main")
                finally:
                    context.close()
        finally:
            store.close()
