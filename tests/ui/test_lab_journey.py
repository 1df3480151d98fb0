"""The laboratory journey in a real browser: the doctor orders electrolytes, the technician collects
the specimen on the worklist and opens its barcode label, the analyser (the simulator) sends a
critical potassium over MLLP with the label's accession in OBR-2, the technician validates
technically, another doctor medically, and the ordering doctor sees the critical value on the visit
page and acknowledges it."""
from __future__ import annotations

import re

from benhan import errors
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.lab import simulator, specimens
from benhan.lab.mllp import Listener
from benhan.store.repository import Repository
from tests.ui.conftest import PASSWORD, Journey
from tests.ui.test_journeys import scan_and_open_visit

QR = "001085004399||TRỊNH VĂN THẠCH|05051985|Nam|Số 12, Phường Hoàn Kiếm, Thành phố Hà Nội|01022024"


def _user(store, name: str, display: str, role: str) -> None:  # noqa: ANN001
    try:
        users.create_user(store, name, display, [role], password=PASSWORD)
    except errors.UserExists:
        pass


def test_order_collect_label_analyser_two_validations_and_acknowledgement(journey, world, browser):  # noqa: ANN001
    store = world["store"]
    _user(store, "ktv.lab", "Mạc Thị Huyền Trang", "lab_technician")
    _user(store, "bs.duyet", "Kiều Minh Quân", "doctor")
    j = journey
    j.login("bacsi")
    encounter = scan_and_open_visit(j, QR, "kham-benh", "Phòng khám đa khoa", "Mệt, chuột rút")
    j.page.select_option("#f-order_kind", "lab")
    j.page.select_option("#f-order_lab", "panel:electrolytes")
    j.page.click("form.order-form button[value=order]")
    j.page.wait_for_url(re.compile(rf".*/ui/encounters/{encounter}.*"))
    j.shot("ordered")

    contexts = []
    try:
        def login(name: str, label: str, lands: str = "/") -> Journey:
            context = browser.new_context(locale="vi-VN")
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(15_000)
            other = Journey(page, world["url"], label)
            other.login(name, lands=lands)
            return other

        lab = login("ktv.lab", "lab-journey-technician", lands="/ui/lab")
        card = lab.page.locator(".order", has_text="Trịnh Văn Thạch")
        card.locator("button", has_text="Lấy mẫu").click()
        lab.page.wait_for_load_state()
        link = lab.page.locator(".order", has_text="Trịnh Văn Thạch").locator("a.label")
        href = link.get_attribute("href")
        lab.shot("collected")
        assert lab.fetch(href).startswith(b"%PDF")
        specimen_id = href.split("/")[-2]
        repo = Repository(store, Actor.system())
        accession = repo.read("Specimen", specimen_id).json()["accessionIdentifier"]["value"]
        assert repo.read("ServiceRequest", accession).json()["encounter"]["reference"] == f"Encounter/{encounter}"

        # The analyser reads the tube's barcode and sends the result over MLLP on a free port.
        listener = Listener(store, "xn-journey", port=0).start()
        try:
            ack = simulator.send("127.0.0.1", listener.port, simulator.oru_r01(
                accession, [simulator.Result("2823-3", "7.2", "mmol/L", "3.5-5.0", "HH")], control_id="J-K72"))
        finally:
            listener.stop()
        assert simulator.ack_code(ack)[0] == "AA"

        lab.go("/ui/lab")
        analysed = lab.page.locator(".order", has_text="Trịnh Văn Thạch").locator(".analysed")
        assert "7,2" in analysed.inner_text()
        analysed.locator("button").click()
        lab.page.wait_for_url(re.compile(r".*/ui/lab$"))
        lab.shot("technical-validation")

        second = login("bs.duyet", "lab-journey-validator")
        second.go(f"/ui/encounters/{encounter}")
        second.page.locator("form[id^=validate-] button").click()
        second.page.wait_for_load_state()
        second.shot("medical-validation")
        assert second.page.locator("form[id^=validate-]").count() == 0

        j.go(f"/ui/encounters/{encounter}")
        banner = j.page.locator("#lab-flags")
        assert "Kali (K⁺) 7,2 mmol/L" in banner.inner_text()
        j.shot("critical-flag")
        banner.locator("button").click()
        j.page.wait_for_load_state()
        assert j.page.locator("#lab-flags").count() == 0
        j.shot("acknowledged")
    finally:
        for context in contexts:
            context.close()
    order = repo.read("ServiceRequest", accession).json()
    assert order["status"] == "completed" and specimens.specimen_of(order) == specimen_id
