"""The appointments page without a browser (the real app in-process, a real SQLite store, real
logins): the registrar's desk links to it; the registrar finds a patient and books tomorrow; the
day list shows the booking; a full slot is refused with a translated message (Vietnamese and
English); reschedule, no-show and cancel from the list; check-in opens the linked visit; a cashier
(no appointments in the role) gets a 403 page. Tomorrow is booked, so the test runs at any hour."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from benhan.auth import users
from benhan.clinical.common import now
from tests.ui import chart_world
from tests.ui.test_role_pages import PASSWORD, Client


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN001, ANN201
    from benhan import config
    from benhan.auth.actor import Actor
    from benhan.clinical.demo import facility_bundle
    from benhan.store.bundles import process_bundle
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    from benhan.web.app import create_app
    # A clinic takes one patient per slot here (the setting), so a second booking is refused.
    store = Store.open(config.load(env={"BENHAN_APPOINTMENT_SLOT_CAPACITY": "1"},
                                   data_dir=tmp_path_factory.mktemp("appt") / "data"))
    process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
    w = chart_world.build(store)
    repo = Repository(store, Actor.system())
    extra = [repo.create("Patient", {"resourceType": "Patient", "name": [{"text": n}]}).res_id
             for n in ("Đỗ Thị Xuân Hẹn", "Phan Văn Đủ Chỗ")]
    extra.append(repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Mai Thị Nhắn Tin"}],
                                         "telecom": [{"system": "phone", "value": "+84 912 345 678"}]}).res_id)
    app = create_app(store.config, store)
    clients = {}
    for username, name, role in (("tiepdon", "Phạm Thị Lan", "registrar"), ("thungan", "Vũ Thị Thu", "cashier")):
        users.create_user(store, username, name, [role], password=PASSWORD)
        clients[role] = Client(app, username, role, None)
    yield {"w": w, "extra": extra, "clients": clients, "repo": repo,
           "tomorrow": now(store.config.timezone).date() + timedelta(days=1)}
    for c in clients.values():
        c.http.close()
    store.close()


def rows(html: str) -> list[str]:
    return re.findall(r'<tr id="appt-([^"]+)"', html)


def test_book_from_the_desk_list_reschedule_cancel_and_check_in(world):  # noqa: ANN001
    c = world["clients"]["registrar"]
    assert 'href="/ui/appointments"' in c.http.get("/").text
    day = world["tomorrow"].isoformat()
    found = c.http.get(f"/ui/appointments?day={day}&q=Đỗ Thị Xuân").text
    assert "Đỗ Thị Xuân Hẹn" in found
    room = re.search(r'<select name="location"><option value="([^"]+)"', found).group(1)
    pid = world["extra"][0]
    r = c.post("/ui/appointments/book", {"patient": pid, "location": room, "day": day, "slot": "09:30",
                                          "reason": "Khám tiểu đường"})
    assert r.status_code == 303, r.text[:300]
    listed = c.http.get(f"/ui/appointments?day={day}").text
    assert len(rows(listed)) == 1 and "Đỗ Thị Xuân Hẹn" in listed and "09:30" in listed and "Đã hẹn" in listed
    aid = rows(listed)[0]
    # A slot not on the half hour: refused with the Vietnamese message, nothing written.
    r = c.post("/ui/appointments/book", {"patient": world["extra"][1], "location": room, "day": day, "slot": "09:40"})
    assert r.status_code == 400 and "Ngày hoặc giờ hẹn không hợp lệ" in r.text
    # Rescheduled to 10:00, then checked in: the visit opened is linked to the appointment.
    assert c.post(f"/ui/appointments/{aid}", {"action": "reschedule", "day": day, "slot": "10:00",
                                              "back": day}).status_code == 303
    assert world["repo"].read("Appointment", aid).json()["start"].startswith(f"{day}T10:00")
    r = c.post(f"/ui/appointments/{aid}", {"action": "checkin", "back": day})
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/encounters/")
    eid = r.headers["location"].rsplit("/", 1)[1]
    assert world["repo"].read("Encounter", eid).json()["appointment"] == [{"reference": f"Appointment/{aid}"}]
    listed = c.http.get(f"/ui/appointments?day={day}").text
    assert "Đã đến khám" in listed and f"/ui/encounters/{eid}" in listed
    # Checked in: cancelling it now is refused with a message, not a 500.
    r = c.post(f"/ui/appointments/{aid}", {"action": "cancelled", "back": day})
    assert r.status_code == 400 and "Lịch hẹn này đã đóng" in r.text
    # Another booking, marked no-show; a third cancelled.
    for pid2, action, shown in ((world["extra"][1], "noshow", "Không đến"), (world["w"]["patient"], "cancelled", "Đã hủy")):
        assert c.post("/ui/appointments/book", {"patient": pid2, "location": room, "day": day,
                                                "slot": "11:00"}).status_code == 303
        new = [x for x in rows(c.http.get(f"/ui/appointments?day={day}").text)
               if world["repo"].read("Appointment", x).json()["status"] == "booked"][0]
        assert c.post(f"/ui/appointments/{new}", {"action": action, "back": day}).status_code == 303
        assert world["repo"].read("Appointment", new).json()["status"] == action
        assert shown in c.http.get(f"/ui/appointments?day={day}").text


def test_a_full_slot_is_refused_in_the_users_language(world):  # noqa: ANN001
    c = world["clients"]["registrar"]
    day = world["tomorrow"].isoformat()
    room = re.search(r'<select name="location"><option value="([^"]+)"',
                     c.http.get(f"/ui/appointments?day={day}&q=Đỗ Thị Xuân").text).group(1)
    assert c.post("/ui/appointments/book", {"patient": world["extra"][0], "location": room, "day": day,
                                            "slot": "15:00"}).status_code == 303
    r = c.post("/ui/appointments/book", {"patient": world["extra"][1], "location": room, "day": day, "slot": "15:00"})
    assert r.status_code == 400 and "đã đủ 1 người" in r.text
    c.http.cookies.set("lang", "en")
    try:
        r = c.post("/ui/appointments/book", {"patient": world["extra"][1], "location": room, "day": day,
                                              "slot": "15:00"})
        assert r.status_code == 400 and "slot is full (1 patients)" in r.text
    finally:
        c.http.cookies.set("lang", "vi")


def test_a_role_without_appointments_is_refused(world):  # noqa: ANN001
    c = world["clients"]["cashier"]
    assert c.http.get("/ui/appointments").status_code == 403
    assert c.post("/ui/appointments/book", {"slot": "08:00"}).status_code == 403


def test_the_list_says_who_gets_no_sms_and_records_a_refusal(world):  # noqa: ANN001
    from benhan.clinical import appointments as ap
    c = world["clients"]["registrar"]
    day = (world["tomorrow"] + timedelta(days=1)).isoformat()
    room = re.search(r'<select name="location"><option value="([^"]+)"',
                     c.http.get(f"/ui/appointments?day={day}&q=Mai Thị").text).group(1)
    for pid, hhmm in ((world["extra"][0], "14:00"), (world["extra"][2], "14:30")):
        assert c.post("/ui/appointments/book", {"patient": pid, "location": room, "day": day,
                                                "slot": hhmm}).status_code == 303
    listed = c.http.get(f"/ui/appointments?day={day}").text
    assert "Không có số di động: không nhắc hẹn qua SMS" in listed and "Nhắc hẹn qua SMS tới 0912345678" in listed
    aid = next(a for a in rows(listed) if ap.patient_of(world["repo"].read("Appointment", a).json()) == world["extra"][2])
    assert c.post(f"/ui/appointments/{aid}", {"action": "no_sms", "back": day}).status_code == 303
    assert ap.refuses_reminders(world["repo"].read("Patient", world["extra"][2]).json())
    assert "Người bệnh từ chối nhận tin nhắn nhắc hẹn" in c.http.get(f"/ui/appointments?day={day}").text
    assert c.post(f"/ui/appointments/{aid}", {"action": "sms", "back": day}).status_code == 303
    assert not ap.refuses_reminders(world["repo"].read("Patient", world["extra"][2]).json())


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "hôm nay"])
def test_a_day_out_of_range_or_not_a_date_shows_today(world, day):  # noqa: ANN001
    r = world["clients"]["registrar"].http.get(f"/ui/appointments?day={day}")
    assert r.status_code == 200 and "Lịch hẹn khám" in r.text
