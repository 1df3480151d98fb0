"""The registrar's appointments in a real browser (chromium, the live server): from the desk to the
appointments page, a patient found and booked for tomorrow, the row on tomorrow's list, a booking
over the slot refused on the page (not a 500), then check-in lands on the visit it opened.
Tomorrow is booked, so the journey runs at any hour."""
from __future__ import annotations

import re
from datetime import timedelta

from benhan.auth.actor import Actor
from benhan.clinical.common import now
from benhan.store.repository import Repository


def test_book_from_the_desk_and_check_in(journey, world):  # noqa: ANN001
    store = world["store"]
    repo = Repository(store, Actor.system())
    pid = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Kiều Thị Hẹn Lịch"}],
                                  "telecom": [{"system": "phone", "value": "0912000111"}]}).res_id
    tomorrow = (now(store.config.timezone).date() + timedelta(days=1)).isoformat()
    j = journey
    j.login("tiepdon")
    j.page.click("text=Lịch hẹn khám")
    j.page.wait_for_url(re.compile(r".*/ui/appointments$"))
    j.page.fill("#f-q", "Kiều Thị")
    j.page.click("#appt-search button")
    booking = j.page.locator("form[action='/ui/appointments/book']").filter(has=j.page.locator(f"input[value='{pid}']"))
    booking.locator("input[name=day]").fill(tomorrow)
    booking.locator("input[name=slot]").fill("09:00")
    booking.locator("input[name=reason]").fill("Khám định kỳ")
    j.shot("booking")
    booking.locator("button").click()
    j.page.wait_for_url(re.compile(rf".*/ui/appointments\?day={tomorrow}$"))
    row = j.page.locator("tr", has_text="Kiều Thị Hẹn Lịch")
    assert "09:00" in row.inner_text() and "Đã hẹn" in row.inner_text()
    assert "Nhắc hẹn qua SMS tới 0912000111" in row.inner_text()
    j.shot("listed")
    # Moved to a time not on a slot: refused with a message on the page.
    row.locator("input[name=slot]").fill("09:10")
    row.locator("button", has_text="Đổi lịch").click()
    assert "Ngày hoặc giờ hẹn không hợp lệ" in j.page.locator("p.error").first.inner_text()
    j.go(f"/ui/appointments?day={tomorrow}")
    j.page.locator("tr", has_text="Kiều Thị Hẹn Lịch").locator("button", has_text="Tiếp đón").click()
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    j.shot("visit")
    eid = j.page.url.rsplit("/", 1)[1]
    enc = repo.read("Encounter", eid).json()
    assert enc["subject"]["reference"] == f"Patient/{pid}" and enc["appointment"][0]["reference"].startswith("Appointment/")
