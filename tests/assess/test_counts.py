"""The automatic items' counts on both databases, against the records themselves: patients with a
CCCD, diagnoses with an ICD-10 code, discharge summaries and those signed, accounts with a role and
a time window."""
from __future__ import annotations

from benhan.assess import evaluate
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.signed_versions import SIGNED_TAG
from benhan.terminology.icd10 import URL as ICD10
from benhan.vn.identifiers import CCCD_SYSTEM
from tests import factories


def _without_cccd(p: dict) -> dict:
    kept = [i for i in p.get("identifier", []) if i.get("system") != CCCD_SYSTEM]
    if kept:
        p["identifier"] = kept
    else:
        p.pop("identifier", None)
    return p


def _items(store) -> dict:  # noqa: ANN001
    return {o.item.id: o for o in evaluate.assess(store).outcomes}


def test_the_shares_follow_the_records(store):  # noqa: ANN001
    repo = Repository(store, Actor.system("test"))
    made = []
    for i in range(10):
        p = _without_cccd(factories.patient(family=f"Lê {i}"))
        if i < 9:
            p.setdefault("identifier", []).append({"system": CCCD_SYSTEM, "value": f"0010900{i:05d}"})
        made.append(repo.create("Patient", p).res_id)
    for i, pid in enumerate(made[:4]):
        coding = [{"system": ICD10 if i < 3 else "http://snomed.info/sct", "code": "J06.9" if i < 3 else "54150009"}]
        repo.create("Condition", {"resourceType": "Condition", "subject": {"reference": f"Patient/{pid}"},
                                  "code": {"coding": coding}})
    discharge = {"resourceType": "Composition", "status": "final", "date": "2026-12-01",
                 "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
                 "subject": {"reference": f"Patient/{made[0]}"}, "author": [{"display": "BS"}], "title": "Giấy ra viện"}
    repo.create("Composition", discharge)
    repo.create("Composition", {**discharge, "meta": {"tag": [SIGNED_TAG]}})
    users.create_user(store, "bacsi", "Lê Văn Hùng", ["doctor"], password="một câu mật khẩu thật dài",
                      access_hours_text="Mon-Sat 07:00-17:30")
    users.create_user(store, "quantri", "Phạm Văn Quản", ["facility_admin"], password="một câu mật khẩu thật dài")

    got = _items(store)
    assert got["tt13-d1-k3-cccd"].status == "met" and "9/10" in got["tt13-d1-k3-cccd"].evidence[0]
    assert got["cv365-iii11-h-icd10"].status == "not_met" and "3/4" in got["cv365-iii11-h-icd10"].evidence[0]
    assert got["tt13-d3-signatures"].status == "not_met" and "1/2" in got["tt13-d3-signatures"].evidence[0]
    assert got["cv365-iii11-c-roles"].status == "met" and "2/2" in got["cv365-iii11-c-roles"].evidence[0]
    assert got["cv365-iii11-g-hours"].status == "met" and "1/2" in got["cv365-iii11-g-hours"].evidence[0]
    assert got["tcvn14423-mfa-admin"].status == "not_met"

    # One more patient without a CCCD: 9/11 is under 90 %.
    repo.create("Patient", _without_cccd(factories.patient(family="Không")))
    assert _items(store)["tt13-d1-k3-cccd"].status == "not_met"
