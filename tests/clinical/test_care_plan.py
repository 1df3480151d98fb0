"""The nursing care plan (clinical.care_plan) on real stores (SQLite and PostgreSQL): the first save needs
the assessment, activities add up with their frequency, a done mark lands on the activity named with its
time and nurse, two nurses saving from the same read cannot lose a mark (the second gets a conflict), and
an outpatient visit or an activity not in the plan is refused field by field."""
from __future__ import annotations

from datetime import datetime

import pytest

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical import care_plan
from benhan.clinical.common import FormInvalid, zone
from benhan.store.repository import Repository

MAI = Actor(name="ddmai", display="Nguyễn Thị Mai", roles=("nurse",))
LAN = Actor(name="ddlan", display="Trần Thị Lan", roles=("nurse",))
T = datetime(2026, 12, 17, 23, 40, tzinfo=zone("+07:00"))


def stay(repo: Repository, code: str = "IMP") -> dict:
    pid = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Hà Thị Lụa"}]}).res_id
    eid = repo.create("Encounter", {
        "resourceType": "Encounter", "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code},
        "subject": {"reference": f"Patient/{pid}"}, "period": {"start": "2026-12-17T07:00:00+07:00"}}).res_id
    return repo.read("Encounter", eid).json()


def test_plan_activities_and_done_marks(store):  # noqa: ANN001
    repo = Repository(store, Actor.system())
    enc = stay(repo)
    with pytest.raises(FormInvalid) as exc:
        care_plan.save(repo, MAI, enc, {"cp_activity_1": "Xoay trở"}, T)
    assert "cp_assessment" in exc.value.errors                  # a plan starts from the assessment
    with pytest.raises(FormInvalid) as exc:
        care_plan.save(repo, MAI, enc, {"cp_assessment": "Đau vết mổ", "cp_frequency_2": "2 giờ/lần"}, T)
    assert set(exc.value.errors) == {"cp_activity_2"}
    pid = care_plan.save(repo, MAI, enc, {"cp_assessment": "Đau vết mổ", "cp_activity_1": "Xoay trở",
                                          "cp_frequency_1": "2 giờ/lần"}, T)
    assert care_plan.save(repo, LAN, enc, {"cp_activity_3": "Thay băng"}, T) == pid
    care_plan.mark_done(repo, LAN, enc, {"cp_index": "1"}, T)
    plan = care_plan.of_visit(repo, enc["id"])
    assert plan["description"] == "Đau vết mổ" and plan["encounter"]["reference"] == f"Encounter/{enc['id']}"
    acts = care_plan.activities(plan)
    assert [(a.text, a.frequency) for a in acts] == [("Xoay trở", "2 giờ/lần"), ("Thay băng", "")]
    assert acts[0].done == [] and acts[1].done == [(T.isoformat(timespec="seconds"), "Trần Thị Lan (ddlan)")]
    for bad in ("2", "-1", "x"):
        with pytest.raises(FormInvalid):
            care_plan.mark_done(repo, LAN, enc, {"cp_index": bad}, T)


def test_two_nurses_from_the_same_read_do_not_lose_a_mark(store, monkeypatch):  # noqa: ANN001
    repo = Repository(store, Actor.system())
    enc = stay(repo)
    care_plan.save(repo, MAI, enc, {"cp_assessment": "Sốt", "cp_activity_1": "Chườm mát"}, T)
    read = care_plan._found(repo, enc["id"])
    monkeypatch.setattr(care_plan, "_found", lambda *_: (read[0] | {}, read[1]))
    care_plan.mark_done(repo, MAI, enc, {"cp_index": "0"}, T)            # the first saves
    monkeypatch.setattr(care_plan, "_found", lambda *_: (read[0] | {}, read[1]))
    with pytest.raises(errors.VersionConflict):
        care_plan.mark_done(repo, LAN, enc, {"cp_index": "0"}, T)        # the second read the same version
    monkeypatch.undo()
    assert len(care_plan.activities(care_plan.of_visit(repo, enc["id"]))[0].done) == 1


def test_an_outpatient_visit_has_no_care_plan(store):  # noqa: ANN001
    repo = Repository(store, Actor.system())
    with pytest.raises(FormInvalid) as exc:
        care_plan.save(repo, MAI, stay(repo, "AMB"), {"cp_assessment": "x", "cp_activity_1": "y"}, T)
    assert set(exc.value.errors) == {"form"}
