"""A child's results are judged against a child's reference range, not an adult's: a haemoglobin of
105 g/L is low at 4 years (110–140) and at 30 (120–155, a woman), 125 g/L normal at 4 but 125 still
normal for the woman; a one-month-old gets no range rather than an adult's (a newborn is not a small
adult). The age is taken on the day the specimen was taken; the range says which band it is."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.store.repository import Repository
from tests.forms import seed

SPECIMEN_DAY = datetime(2026, 12, 15, 9, 0, tzinfo=timezone.utc)


def _result(store, birth: str, hgb: str) -> dict:  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    lab = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:cbc"})
    order = repo.read("ServiceRequest", lab).json()
    report = orders.enter_results(repo, Actor(name="ktv", display="Mạc Thị Huyền Trang"), order, True,
                                  {orders.result_field("718-7"): hgb}, clock=SPECIMEN_DAY, birth_date=birth)
    found = repo.read("DiagnosticReport", report).json()
    obs = [repo.read("Observation", r["reference"].split("/")[1]).json() for r in found["result"]]
    (hgb_obs,) = [o for o in obs if o["code"]["coding"][0]["code"] == "718-7"]
    return hgb_obs


def _flag(obs: dict) -> str:
    return obs["interpretation"][0]["coding"][0]["code"]


@pytest.mark.parametrize("birth, hgb, low, high, flag, text", [
    ("2022-06-01", "105", 110, 140, "L", "Trẻ 1–5 tuổi"),       # 4 years old: low
    ("2022-06-01", "125", 110, 140, "N", "Trẻ 1–5 tuổi"),       # 4 years old: normal
    ("2022-12-16", "125", 110, 140, "N", "Trẻ 1–5 tuổi"),       # turns 4 the day after: still 3, same band
    ("2016-03-10", "118", 115, 155, "N", "Trẻ 6–11 tuổi"),      # 10 years old
    ("1996-05-20", "105", 120, 155, "L", "Người lớn nữ"),       # 30, a woman
])
def test_the_range_follows_the_patients_age_on_the_specimen_day(store, birth, hgb, low, high, flag, text):  # noqa: ANN001
    obs = _result(store, birth, hgb)
    rng = obs["referenceRange"][0]
    assert (rng["low"]["value"], rng["high"]["value"]) == (low, high)
    assert rng["text"] == text
    assert _flag(obs) == flag


def test_a_newborn_gets_no_adult_range(store):  # noqa: ANN001
    obs = _result(store, "2026-11-20", "150")
    rng = obs["referenceRange"][0]
    assert "low" not in rng and "high" not in rng
    assert "chưa có khoảng tham chiếu" in rng["text"]
