"""The lab technician and the pharmacist each have a home page that does their job: the laboratory
worklist (enter a result, see it flagged against the reference range, the doctor sees it in the
chart) and the prescriptions waiting to be handed over (with the patient's allergies; handing over
records a MedicationDispense per line)."""
from __future__ import annotations

import re

from benhan import errors
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.pharmacy import stock
from benhan.store.repository import Repository
from tests.ui.conftest import PASSWORD, Journey
from tests.ui.test_journeys import api, scan_and_open_visit

QR_LAB = "001185009876||VŨ THỊ NGỌC|07071985|Nữ|Số 3, Phường Ba Đình, Thành phố Hà Nội|01022024"


def _staff(store, username: str, name: str, role: str) -> None:  # noqa: ANN001
    try:
        users.create_user(store, username, name, [role], password=PASSWORD)
    except errors.UserExists:
        pass


def test_lab_technician_and_pharmacist_work_from_their_own_lists(journey, world, browser):  # noqa: ANN001
    _staff(world["store"], "xetnghiem", "Hoàng Thị Xuân", "lab_technician")
    _staff(world["store"], "duocsi", "Trần Văn Dược", "pharmacist")
    j = journey
    j.login("bacsi")
    encounter = scan_and_open_visit(j, QR_LAB, "kham-benh", "Phòng khám đa khoa", "Khát nhiều, tiểu nhiều")
    j.page.select_option("#f-order_kind", "lab")
    j.page.select_option("#f-order_lab", "test:14749-6")
    j.page.click("button[name=action][value=order]")
    j.page.wait_for_url(re.compile(r".*saved=orders.*"))
    j.page.select_option("#f-rx_drug", label="Paracetamol 500mg (viên)")
    j.page.fill("#f-rx_per_day", "2")
    j.page.fill("#f-rx_days", "3")
    j.page.click("#rx-form button")
    j.page.wait_for_url(re.compile(r".*saved=prescriptions.*"))

    lab = browser.new_context(locale="vi-VN").new_page()
    try:
        tech = Journey(lab, world["url"], "lab-technician")
        tech.login("xetnghiem", lands="/ui/lab")              # the home page is the worklist
        tech.shot("worklist")
        item = tech.page.locator(".order", has_text="Vũ Thị Ngọc")
        assert item.count() == 1
        item.locator("input[inputmode=decimal]").first.fill("12,4")
        item.get_by_role("button", name=re.compile("Nhập kết quả|Enter results")).click()   # not "Lấy mẫu"
        tech.page.wait_for_url(re.compile(r".*/ui/lab\?done=.*"))
        tech.shot("result-entered")
        done = tech.page.inner_text("#done")
        assert "12,4" in done and "Cao" in done                 # flagged High against the range
        assert tech.page.locator(".order", has_text="Vũ Thị Ngọc").count() == 0   # no longer waiting
    finally:
        lab.context.close()

    j.go(f"/ui/encounters/{encounter}")
    assert "12,4" in j.page.inner_text("#orders")             # the doctor sees it in the chart

    # Dispensing takes from stock (benhan.pharmacy): the main store holds a lot of it.
    system = Repository(world["store"], Actor.system())
    stock.setup_stores(system)
    para = next(i for i in stock.items(system) if i.name == "Paracetamol 500mg")
    stock.receive(system, Actor.system(), {"store": "main", "item": para.code, "supplier": "CPC1", "invoice": "1",
                                           "lot": "LAB-PH-1", "expiry": "2099-12-31", "quantity": "100", "price": "500"})
    pharmacy = browser.new_context(locale="vi-VN").new_page()
    try:
        ph = Journey(pharmacy, world["url"], "pharmacist")
        ph.login("duocsi", lands="/ui/pharmacy")
        ph.shot("to-dispense")
        rx = ph.page.locator(".order", has_text="Vũ Thị Ngọc")
        assert "Paracetamol" in rx.inner_text()
        rx.locator("button").click()
        ph.page.wait_for_url(re.compile(r".*/ui/pharmacy\?done=.*"))
        ph.shot("dispensed")
        assert ph.page.locator(".order", has_text="Vũ Thị Ngọc").count() == 0
    finally:
        pharmacy.context.close()

    patient = api(world, f"Encounter/{encounter}")["subject"]["reference"]
    dispensed = api(world, "MedicationDispense", subject=patient)["entry"]
    assert len(dispensed) == 1
    given = dispensed[0]["resource"]
    assert given["status"] == "completed" and given["quantity"]["value"] == 6
