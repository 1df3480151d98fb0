"""Vital-signs rounds due per care level (clinical.rounds): the interval the doctor's latest care level sets,
the next round from the last vital signs, due and overdue with an injected clock across midnight in a
non-UTC zone, and the ward's list read from real records (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import notes, rounds, vitals
from benhan.clinical.common import zone
from benhan.store.repository import Repository

HCM = zone("+07:00")
WEST = zone("-05:00")


def note(level: str, when: str, kind: str = "progress") -> dict:
    body = {"resourceType": "ClinicalImpression", "status": "completed", "date": when,
            "code": {"coding": [{"system": notes.NOTE_SYSTEM, "code": kind}]}, "summary": "Ổn định"}
    if level:
        body["extension"] = [{"url": notes.CARE_LEVEL_EXT,
                              "valueCoding": {"system": notes.CARE_LEVEL_SYSTEM, "code": level}}]
    return body


def test_the_latest_progress_note_sets_the_level_by_instant_not_text():
    # 23:30 at -05:00 is 04:30 UTC the next day: later than 01:00 +07:00 (18:00 UTC) of that day.
    ns = [note("1", "2026-12-17T01:00:00+07:00"), note("3", "2026-12-16T23:30:00-05:00"),
          note("2", "2026-12-18T09:00:00+07:00", kind="nursing"), note("", "2026-12-18T10:00:00+07:00")]
    assert rounds.level_of(ns) == "3"
    assert rounds.level_of([{**note("2", "2026-12-18T09:00:00+07:00"), "status": "entered-in-error"}]) == ""
    assert rounds.level_of([]) == ""


@pytest.mark.parametrize("tz", [HCM, WEST])
def test_rounds_due_per_care_level_across_midnight(tz):  # noqa: ANN001
    last = datetime(2026, 12, 17, 22, 0, tzinfo=tz)
    for level, hours in (("1", 3), ("2", 6), ("3", 12), ("", 12)):
        at, state = rounds.next_round(level, last, None, last + timedelta(hours=hours, minutes=-1))
        assert (at, state) == (last + timedelta(hours=hours), "upcoming")
    at, state = rounds.next_round("1", last, None, datetime(2026, 12, 18, 1, 0, tzinfo=tz))
    assert (at.astimezone(tz).strftime("%d %H:%M"), state) == ("18 01:00", "due")      # past midnight
    assert rounds.next_round("1", last, None, datetime(2026, 12, 18, 1, 59, tzinfo=tz))[1] == "due"
    assert rounds.next_round("1", last, None, datetime(2026, 12, 18, 2, 0, tzinfo=tz))[1] == "overdue"
    # The facility's settings replace a level's interval; the others keep theirs.
    assert rounds.next_round("1", last, None, datetime(2026, 12, 18, 1, 0, tzinfo=tz), {"1": 4})[1] == "upcoming"
    assert rounds.next_round("2", last, None, datetime(2026, 12, 18, 4, 0, tzinfo=tz), {"1": 4})[1] == "due"
    # No vital signs yet: due from admission.
    admitted = datetime(2026, 12, 17, 23, 50, tzinfo=tz)
    assert rounds.next_round("2", None, admitted, admitted + timedelta(minutes=61)) == (admitted, "overdue")


@pytest.fixture
def ward(store):  # noqa: ANN001, ANN201
    repo = Repository(store, Actor.system())
    stays = {}
    for name in ("Hà Thị Lụa", "Trần Văn Bình"):
        pid = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": name}]}).res_id
        stays[name] = (pid, repo.create("Encounter", {
            "resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": "2026-12-17T07:00:00+07:00"}}).res_id)
    return repo, stays


def test_the_ward_list_flags_the_overdue_round(ward):  # noqa: ANN001
    repo, stays = ward
    lua, binh = stays["Hà Thị Lụa"], stays["Trần Văn Bình"]
    for name, level in (("Hà Thị Lụa", "1"), ("Trần Văn Bình", "3")):
        pid, eid = stays[name]
        repo.create("ClinicalImpression", {**note(level, "2026-12-17T08:00:00+07:00"),
                                           "subject": {"reference": f"Patient/{pid}"},
                                           "encounter": {"reference": f"Encounter/{eid}"}})
        vitals.record(repo, Actor.system(), pid, eid, {"pulse": "80", "temperature": "37"},
                      "2026-12-17T21:00:00+07:00")
    clock = datetime(2026, 12, 18, 1, 30, tzinfo=HCM)      # cấp I due at 00:00 → overdue; cấp III at 09:00
    got = [(r.encounter_id, r.patient, r.level, f"{r.at.astimezone(HCM):%d %H:%M}", r.state)
           for r in rounds.due_rounds(repo, clock)]
    assert got == [(lua[1], "Hà Thị Lụa", "1", "18 00:00", "overdue")]
    # A new round taken clears it (the next at 04:35); the cấp III stay comes due at 09:00.
    vitals.record(repo, Actor.system(), lua[0], lua[1], {"pulse": "82"}, "2026-12-18T01:35:00+07:00")
    assert rounds.due_rounds(repo, clock + timedelta(minutes=10)) == []
    later = [(r.patient, f"{r.at.astimezone(HCM):%H:%M}", r.state)
             for r in rounds.due_rounds(repo, datetime(2026, 12, 18, 9, 10, tzinfo=HCM))]
    assert later == [("Hà Thị Lụa", "04:35", "overdue"), ("Trần Văn Bình", "09:00", "due")]
    # A finished stay is not listed.
    enc = repo.read("Encounter", binh[1]).json()
    repo.update("Encounter", binh[1], {**enc, "status": "finished"})
    assert [r.patient for r in rounds.due_rounds(repo, datetime(2026, 12, 18, 9, 10, tzinfo=HCM))] == ["Hà Thị Lụa"]
