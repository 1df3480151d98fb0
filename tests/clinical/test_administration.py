"""The medication administration record (clinical.administration): the doses an inpatient order
schedules for a day (injected clock, the facility's zone, across midnight), the nurse's record of a dose
given / held / refused as a MedicationAdministration, the same dose refused a second time (also two
nurses at the same instant, on SQLite and PostgreSQL), late and missed doses flagged."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import administration as adm
from benhan.clinical.common import FormInvalid, zone
from benhan.store.repository import Repository

HCM = "+07:00"
WEST = "-05:00"


def order(oid: str = "o1", per_day: int = 2, days: int | None = 3, authored: str = "2026-12-16T07:30:00+07:00",
          instruction: str = "", **repeat_extra) -> dict:  # noqa: ANN003
    repeat: dict = {"frequency": per_day, "period": 1, "periodUnit": "d", **repeat_extra}
    if days:
        repeat["boundsDuration"] = {"value": days, "unit": "ngày", "system": "http://unitsofmeasure.org", "code": "d"}
    dosage: dict = {"text": "Uống", "route": {"text": "Uống"}, "timing": {"repeat": repeat},
                    "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "viên"}}]}
    if instruction:
        dosage["patientInstruction"] = instruction
    return {"resourceType": "MedicationRequest", "id": oid, "status": "active", "intent": "order",
            "medicationReference": {"reference": "Medication/m1", "display": "Amoxicilin 500mg"},
            "subject": {"reference": "Patient/p1"}, "authoredOn": authored, "dosageInstruction": [dosage]}


def hours(ss: list[adm.Slot]) -> list[str]:
    return [f"{s.at:%H:%M}" for s in ss]


def test_frequency_a_day_at_the_ward_times_from_when_it_was_written():
    o = order(per_day=3, authored="2026-12-16T10:15:00+07:00")
    assert hours(adm.slots(o, date(2026, 12, 16), HCM)) == ["12:00", "16:00"]   # 08:00 was before the order
    assert hours(adm.slots(o, date(2026, 12, 17), HCM)) == ["08:00", "12:00", "16:00"]
    assert hours(adm.slots(o, date(2026, 12, 18), HCM)) == ["08:00", "12:00", "16:00"]
    assert adm.slots(o, date(2026, 12, 19), HCM) == []            # three days: 16, 17, 18
    assert adm.slots(o, date(2026, 12, 15), HCM) == []
    assert hours(adm.slots(order(per_day=1), date(2026, 12, 17), HCM)) == ["08:00"]
    assert hours(adm.slots(order(per_day=4), date(2026, 12, 17), HCM)) == ["08:00", "12:00", "16:00", "20:00"]
    assert hours(adm.slots(order(per_day=6), date(2026, 12, 17), HCM)) == ["00:00", "04:00", "08:00", "12:00",
                                                                         "16:00", "20:00"]


def test_named_times_time_of_day_and_every_n_hours():
    o = order(per_day=2, instruction="Uống sáng, tối sau ăn")
    assert hours(adm.slots(o, date(2026, 12, 17), HCM)) == ["08:00", "20:00"]
    o = order(per_day=2, instruction="Uống trưa")       # one name for two doses: the default times
    assert hours(adm.slots(o, date(2026, 12, 17), HCM)) == ["08:00", "16:00"]
    o = order(timeOfDay=["06:30:00", "18:30:00"])
    assert hours(adm.slots(o, date(2026, 12, 17), HCM)) == ["06:30", "18:30"]
    o = order(per_day=1, period=8, periodUnit="h")
    assert hours(adm.slots(o, date(2026, 12, 17), HCM)) == ["00:00", "08:00", "16:00"]
    stopped = {**order(), "status": "stopped"}
    assert adm.slots(stopped, date(2026, 12, 17), HCM) == []


def test_the_facility_day_not_utc():
    # Written 23:30 on the 16th in UTC-5 (04:30 UTC on the 17th): its first day is the 16th there.
    o = order(per_day=4, days=1, authored="2026-12-17T04:30:00+00:00")
    assert adm.slots(o, date(2026, 12, 16), WEST) == []            # every time of the 16th was before it
    assert adm.slots(o, date(2026, 12, 17), WEST) == []            # one day only
    o = order(per_day=4, days=2, authored="2026-12-17T04:30:00+00:00")
    got = adm.slots(o, date(2026, 12, 17), WEST)
    assert hours(got) == ["08:00", "12:00", "16:00", "20:00"]
    assert got[0].at.utcoffset() == timedelta(hours=-5)
    assert got[0].key == "o1/2026-12-17T08:00"


def test_due_late_missed_across_midnight():
    s = adm.slots(order(per_day=4), date(2026, 12, 17), HCM)[-1]           # 20:00
    at = lambda h, m=0, d=17: datetime(2026, 12, d, h, m, tzinfo=zone(HCM))  # noqa: E731
    assert adm.state(s, None, at(18)) == "upcoming"
    assert adm.state(s, None, at(19, 30)) == "due"
    assert adm.state(s, None, at(21, 1)) == "late"
    assert adm.state(s, None, at(0, 1, d=18)) == "missed"                 # past midnight, 4 h after
    assert adm.state(s, None, at(21, 1), late_after=timedelta(hours=2)) == "due"
    assert adm.state(s, {"status": "completed"}, at(0, 1, d=18)) == "given"


@pytest.fixture
def stay(store):  # noqa: ANN001, ANN201
    repo = Repository(store, Actor.system())
    pid = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Hà Thị Lụa"}]}).res_id
    eid = repo.create("Encounter", {"resourceType": "Encounter", "status": "in-progress",
                                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                              "code": "IMP"},
                                    "subject": {"reference": f"Patient/{pid}"},
                                    "period": {"start": "2026-12-16T07:00:00+07:00"}}).res_id
    body = order(per_day=2)
    body.pop("id")
    body["subject"] = {"reference": f"Patient/{pid}"}
    body["encounter"] = {"reference": f"Encounter/{eid}"}
    oid = repo.create("MedicationRequest", body).res_id
    return repo, repo.read("Encounter", eid).json(), oid


CLOCK = datetime(2026, 12, 17, 17, 0, tzinfo=zone(HCM))


def test_given_held_refused_recorded_and_listed(stay):  # noqa: ANN001
    repo, enc, oid = stay
    nurse = Actor.system()
    mid = adm.record(repo, nurse, enc, {"slot": f"{oid}/2026-12-17T08:00", "outcome": "given",
                                        "given_at": "17/12/2026 08:10", "dose": "2"}, HCM, CLOCK)
    given = repo.read("MedicationAdministration", mid).json()
    assert given["status"] == "completed"
    assert given["request"]["reference"] == f"MedicationRequest/{oid}"
    assert given["dosage"]["dose"] == {"value": 2, "unit": "viên"}
    assert given["dosage"]["route"] == {"text": "Uống"}
    assert given["effectiveDateTime"].startswith("2026-12-17T08:10")
    adm.record(repo, nurse, enc, {"slot": f"{oid}/2026-12-17T16:00", "outcome": "refused",
                                  "reason": "Buồn nôn, không uống được"}, HCM, CLOCK)
    doses = adm.day_doses(adm.orders_of(repo, enc["id"]), adm.records_of(repo, enc["id"]),
                          date(2026, 12, 17), CLOCK, HCM)
    assert [(f"{d.slot.at:%H:%M}", d.state) for d in doses] == [("08:00", "given"), ("16:00", "refused")]
    assert doses[1].record["statusReason"][0]["text"] == "Buồn nôn, không uống được"
    assert doses[1].record["status"] == "not-done"
    later = adm.day_doses(adm.orders_of(repo, enc["id"]), {}, date(2026, 12, 18), CLOCK + timedelta(hours=17), HCM)
    assert [d.state for d in later] == ["late", "upcoming"]          # 08:00 late at 10:00, 16:00 to come
    with pytest.raises(adm.AlreadyRecorded):
        adm.record(repo, nurse, enc, {"slot": f"{oid}/2026-12-17T08:00", "outcome": "held", "reason": "x"},
                   HCM, CLOCK)


def test_bad_input_refused_field_by_field(stay):  # noqa: ANN001
    repo, enc, oid = stay
    with pytest.raises(FormInvalid) as e:
        adm.record(repo, Actor.system(), enc, {"slot": f"{oid}/2026-12-17T09:00", "outcome": "held",
                                               "given_at": "hôm qua", "dose": "abc"}, HCM, CLOCK)
    assert set(e.value.errors) == {"slot", "reason", "given_at", "dose"}
    with pytest.raises(FormInvalid) as e:
        adm.record(repo, Actor.system(), enc, {"slot": f"{oid}/2026-12-17T16:00", "outcome": "given",
                                               "given_at": "17/12/2026 18:00"}, HCM, CLOCK)
    assert set(e.value.errors) == {"given_at"}
    assert adm.records_of(repo, enc["id"]) == {}


def test_two_nurses_at_once_one_record(stay):  # noqa: ANN001
    repo, enc, oid = stay
    barrier = threading.Barrier(2)
    results: list[object] = []

    def nurse() -> None:
        r = Repository(repo.store, Actor.system())
        barrier.wait()
        try:
            results.append(adm.record(r, Actor.system(), enc, {"slot": f"{oid}/2026-12-17T16:00",
                                                              "outcome": "given"}, HCM, CLOCK))
        except adm.AlreadyRecorded as exc:
            results.append(exc)
    threads = [threading.Thread(target=nurse) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(x).__name__ for x in results) == ["AlreadyRecorded", "str"]
    assert len(adm.records_of(repo, enc["id"])) == 1


def test_pending_lists_due_late_and_missed_of_open_stays(stay):  # noqa: ANN001
    repo, enc, oid = stay
    clock = datetime(2026, 12, 17, 15, 30, tzinfo=zone(HCM))
    adm.record(repo, Actor.system(), enc, {"slot": f"{oid}/2026-12-17T08:00", "outcome": "given"}, HCM,
               datetime(2026, 12, 17, 8, 5, tzinfo=zone(HCM)))
    got = [(p.encounter_id, p.patient, f"{p.dose.slot.at:%d %H:%M}", p.dose.state)
           for p in adm.pending(repo, clock, HCM)]
    # 16th 16:00 missed (within 24 h), 17th 08:00 given (not listed), 17th 16:00 due.
    assert got == [(enc["id"], "Hà Thị Lụa", "16 16:00", "missed"), (enc["id"], "Hà Thị Lụa", "17 16:00", "due")]
    finished = {**enc, "status": "finished"}
    repo.update("Encounter", enc["id"], finished)
    assert adm.pending(repo, clock, HCM) == []
