"""The referral's departure time (Giấy chuyển tuyến): a little ahead of now is how it is written
(before the ambulance leaves); a year typed wrong (2100) is refused on the field, not printed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import referral
from benhan.clinical.common import FormInvalid
from benhan.store.repository import Repository

ICT = timezone(timedelta(hours=7))
CLOCK = datetime(2026, 12, 16, 9, 30, tzinfo=ICT)
TYPED = {"ref_to": "Bệnh viện Trung ương Huế", "ref_to_code": "46001", "ref_reason": "1a"}


def _visit(store) -> tuple[Repository, dict]:  # noqa: ANN001
    repo = Repository(store, Actor.system("test"))
    pid = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Phạm Thị Ngọc Ánh"}]}).res_id
    eid = repo.create("Encounter", {
        "resourceType": "Encounter", "status": "in-progress", "subject": {"reference": f"Patient/{pid}"},
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "period": {"start": (CLOCK - timedelta(days=2)).isoformat()}}).res_id
    return repo, repo.read("Encounter", eid).json()


@pytest.mark.parametrize("when", ["08:00 01/01/2100", "09:30 18/12/2026"])
def test_a_departure_days_ahead_is_refused_on_its_field(store, when):  # noqa: ANN001
    repo, encounter = _visit(store)
    with pytest.raises(FormInvalid) as refused:
        referral.record(repo, Actor.system("test"), encounter, {**TYPED, "ref_when": when}, clock=CLOCK)
    assert set(refused.value.errors) == {"ref_when"}
    assert referral.of_visit(repo, encounter["id"]) == []


def test_a_departure_in_two_hours_is_written(store):  # noqa: ANN001
    repo, encounter = _visit(store)
    referral.record(repo, Actor.system("test"), encounter, {**TYPED, "ref_when": "11:30 16/12/2026"}, clock=CLOCK)
    [sr] = referral.of_visit(repo, encounter["id"])
    assert datetime.fromisoformat(sr["occurrenceDateTime"]) == CLOCK + timedelta(hours=2)
