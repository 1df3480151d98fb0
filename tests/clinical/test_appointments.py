"""Appointments (issue 18.6): booking, rescheduling, cancelling, no-show, the capacity of a clinic's
slot, the day list (booked visits and discharge follow-ups) and check-in opening a linked visit.
The clock is injected and set in a non-UTC zone (+07:00, and -05:00 for the day boundary); on
SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import appointments as ap
from benhan.clinical import visits
from benhan.clinical.common import FormInvalid, zone
from benhan.store.repository import Repository

TZ = "+07:00"
NOW = datetime(2026, 12, 9, 16, 45, tzinfo=zone(TZ))     # the day before, late afternoon


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    repo = Repository(store, Actor.system())
    pats = [repo.create("Patient", {"resourceType": "Patient", "name": [{"text": n}]}).res_id
            for n in ("Nguyễn Thị Hoa", "Trần Văn Bình", "Lê Văn Cường")]
    room = repo.create("Location", {"resourceType": "Location", "status": "active", "name": "Phòng khám Nội"}).res_id
    other = repo.create("Location", {"resourceType": "Location", "status": "active", "name": "Phòng khám Nhi"}).res_id
    return repo, pats, room, other


def slot(day: str, hhmm: str, tz: str = TZ) -> datetime:
    s = ap.parse_slot(day, hhmm, tz)
    assert s is not None
    return s


def test_book_reschedule_cancel_and_no_show(world):  # noqa: ANN001
    repo, pats, room, other = world
    a = ap.book(repo, Actor.system(), pats[0], room, slot("2026-12-10", "08:30"), "Khám huyết áp", now=NOW)
    b = ap.book(repo, Actor.system(), pats[1], room, slot("2026-12-10", "09:00"), "", now=NOW)
    day = ap.day_list(repo, NOW.date() + timedelta(days=1), TZ)
    assert [(e.patient_name, e.start.strftime("%H:%M"), e.status, e.location_name) for e in day] == [
        ("Nguyễn Thị Hoa", "08:30", "booked", "Phòng khám Nội"), ("Trần Văn Bình", "09:00", "booked", "Phòng khám Nội")]
    ap.reschedule(repo, Actor.system(), a, slot("2026-12-11", "10:00"), other, now=NOW)
    moved = repo.read("Appointment", a).json()
    assert moved["start"] == "2026-12-11T10:00:00+07:00" and moved["status"] == "booked"
    assert [e.appointment_id for e in ap.day_list(repo, NOW.date() + timedelta(days=1), TZ)] == [b]
    assert ap.day_list(repo, NOW.date() + timedelta(days=2), TZ)[0].location_name == "Phòng khám Nhi"
    ap.set_status(repo, Actor.system(), a, "cancelled", "Bệnh nhân bận")
    ap.set_status(repo, Actor.system(), b, "noshow")
    assert repo.read("Appointment", a).json()["status"] == "cancelled"
    assert repo.read("Appointment", b).json()["status"] == "noshow"
    with pytest.raises(FormInvalid) as e:          # a closed appointment is not moved again
        ap.reschedule(repo, Actor.system(), a, slot("2026-12-12", "10:00"), now=NOW)
    assert e.value.errors["status"][0] == "ui.err.appt_closed"


def test_bad_slots_are_refused_with_a_message_key(world):  # noqa: ANN001
    repo, pats, room, _ = world
    for start, key in ((ap.parse_slot("2026-12-10", "08:10", TZ), "ui.err.appt_slot"),
                       (ap.parse_slot("2026-13-10", "08:00", TZ), "ui.err.appt_slot"),
                       (slot("2026-12-09", "08:00"), "ui.err.appt_past")):
        with pytest.raises(FormInvalid) as e:
            ap.book(repo, Actor.system(), pats[0], room, start, "", now=NOW)
        assert e.value.errors["start"][0] == key
    assert ap.day_list(repo, NOW.date() + timedelta(days=1), TZ) == []


def test_capacity_per_clinic_per_slot(world):  # noqa: ANN001
    repo, pats, room, other = world
    at = slot("2026-12-10", "08:00")
    first = ap.book(repo, Actor.system(), pats[0], room, at, "", now=NOW, capacity=2)
    ap.book(repo, Actor.system(), pats[1], room, at, "", now=NOW, capacity=2)
    with pytest.raises(FormInvalid) as e:
        ap.book(repo, Actor.system(), pats[2], room, at, "", now=NOW, capacity=2)
    assert e.value.errors["start"] == ("ui.err.appt_full", {"capacity": 2})
    ap.book(repo, Actor.system(), pats[2], other, at, "", now=NOW, capacity=2)     # another clinic: free
    ap.set_status(repo, Actor.system(), first, "cancelled")                        # a cancel frees a place
    ap.book(repo, Actor.system(), pats[2], room, at, "", now=NOW, capacity=2)


def test_the_day_is_the_local_day_of_the_facility(world):  # noqa: ANN001
    repo, pats, room, _ = world
    west = datetime(2026, 12, 9, 20, 0, tzinfo=zone("-05:00"))
    ap.book(repo, Actor.system(), pats[0], room, slot("2026-12-09", "23:30", "-05:00"), "", now=west)
    # 23:30 on the 9th at -05:00 is the 10th in UTC: the list of the 9th holds it, the 10th's does not.
    assert len(ap.day_list(repo, west.date(), "-05:00")) == 1
    assert ap.day_list(repo, west.date() + timedelta(days=1), "-05:00") == []


def test_check_in_opens_a_linked_visit_and_follow_ups_are_listed(world):  # noqa: ANN001
    repo, pats, room, _ = world
    a = ap.book(repo, Actor.system(), pats[0], room, slot("2026-12-10", "08:30"), "Khám huyết áp", now=NOW)
    # A follow-up written at discharge: no clinic, names the visit that booked it.
    old = visits.open_visit(repo, Actor.system(), pats[1], "kham-benh", room, "", visits.facility(repo),
                            when=NOW - timedelta(days=7))
    fu = repo.create("Appointment", {"resourceType": "Appointment", "status": "booked", "description": "Tái khám",
                                     "start": "2026-12-10T08:00:00+07:00", "end": "2026-12-10T08:30:00+07:00",
                                     "supportingInformation": [{"reference": f"Encounter/{old}"}],
                                     "participant": [{"actor": {"reference": f"Patient/{pats[1]}"},
                                                      "status": "accepted"}]}).res_id
    day = ap.day_list(repo, NOW.date() + timedelta(days=1), TZ)
    assert [(e.appointment_id, e.follow_up) for e in day] == [(fu, True), (a, False)]
    arrive = datetime(2026, 12, 10, 8, 20, tzinfo=zone(TZ))
    eid = ap.check_in(repo, Actor.system(), a, visits.facility(repo), when=arrive)
    enc = repo.read("Encounter", eid).json()
    assert enc["appointment"] == [{"reference": f"Appointment/{a}"}]
    assert enc["subject"]["reference"] == f"Patient/{pats[0]}" and enc["status"] == "arrived"
    assert repo.read("Appointment", a).json()["status"] == "fulfilled"
    with pytest.raises(FormInvalid):                 # a follow-up has no clinic: the desk names one
        ap.check_in(repo, Actor.system(), fu, visits.facility(repo), when=arrive)
    eid2 = ap.check_in(repo, Actor.system(), fu, visits.facility(repo), when=arrive, location_id=room)
    day = {e.appointment_id: e for e in ap.day_list(repo, arrive.date(), TZ)}
    assert day[a].encounter_id == eid and day[fu].encounter_id == eid2 and day[fu].status == "fulfilled"
    assert {eid, eid2} <= {q.encounter_id for q in visits.queue(repo, room, arrive.date())}
    with pytest.raises(FormInvalid):                 # checked in once
        ap.check_in(repo, Actor.system(), a, visits.facility(repo), when=arrive)


def test_a_follow_up_is_rescheduled_into_a_clinic_and_a_deleted_patient_is_still_listed(world):  # noqa: ANN001
    repo, pats, room, _ = world
    fu = repo.create("Appointment", {"resourceType": "Appointment", "status": "booked", "description": "Tái khám",
                                     "start": "2026-12-10T08:00:00+07:00",
                                     "participant": [{"actor": {"reference": f"Patient/{pats[1]}"},
                                                      "status": "accepted"}]}).res_id
    with pytest.raises(FormInvalid) as e:            # no clinic of its own: the desk must name one
        ap.reschedule(repo, Actor.system(), fu, slot("2026-12-11", "09:00"), now=NOW)
    assert e.value.errors["location"][0] == "ui.err.choose"
    ap.reschedule(repo, Actor.system(), fu, slot("2026-12-11", "09:00"), room, now=NOW)
    moved = ap.day_list(repo, NOW.date() + timedelta(days=2), TZ)
    assert [(x.appointment_id, x.location_name) for x in moved] == [(fu, "Phòng khám Nội")]
    repo.delete("Patient", pats[1])
    assert [(x.appointment_id, x.patient_name) for x in ap.day_list(repo, NOW.date() + timedelta(days=2), TZ)] == [
        (fu, "")]


def test_a_busy_days_list_holds_every_appointment_and_its_visit(world):  # noqa: ANN001
    """More appointments in a day than one search takes values (200): the visit each led to is
    found for all of them (the day's list had been refused with "more than 200 search values")."""
    from benhan.store import bundles
    repo, pats, room, _ = world
    many = 205
    bundles.process_bundle(repo, {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Appointment", "status": "booked", "description": f"Tái khám {i:03d}",
                      "start": f"2026-12-10T{7 + i // 60:02d}:{i % 60:02d}:00+07:00",
                      "participant": [{"actor": {"reference": f"Patient/{pats[i % 3]}"}, "status": "accepted"}]},
         "request": {"method": "POST", "url": "Appointment"}} for i in range(many)]}, "http://localhost/fhir")
    day = ap.day_list(repo, NOW.date() + timedelta(days=1), TZ)
    assert [e.reason for e in day] == [f"Tái khám {i:03d}" for i in range(many)]
    last = day[-1].appointment_id
    eid = ap.check_in(repo, Actor.system(), last, visits.facility(repo),
                      when=datetime(2026, 12, 10, 11, 30, tzinfo=zone(TZ)), location_id=room)
    linked = {e.appointment_id: e.encounter_id for e in ap.day_list(repo, NOW.date() + timedelta(days=1), TZ)}
    assert linked[last] == eid and sum(1 for v in linked.values() if v) == 1
