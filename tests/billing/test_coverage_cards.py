"""The card decides the benefit: the rate the card check stored on the Coverage, the rate assumed for a
number that does not carry one, the co-payment exemption from its date, and the card's validity.
Record-based, both databases; figures worked out by hand (exam 50,600; head CT 536,000; Augmentin
14,500 a tablet)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from benhan.billing import coverage
from benhan.billing.charges import compute
from tests.billing.charges_world import AUGMENTIN, CT, at, make_world

D = Decimal
DAY = date(2026, 11, 20)


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    return make_world(store)


def _coverage_ext(world, pid: str, ext: dict) -> None:  # noqa: ANN001
    found = world.system.search_type("Coverage", [("beneficiary", f"Patient/{pid}")]).matches
    body = found[0].json()
    body.setdefault("extension", []).append(ext)
    world.system.update("Coverage", body["id"], body)


def test_the_rate_the_card_check_stored_wins(world):  # noqa: ANN001
    pid = world.patient("001090123441", "Nguyễn Văn Tâm", bhyt="0123456741")     # 10-digit: no rate in it
    _coverage_ext(world, pid, {"url": coverage.CARD_RATE_EXT, "valueDecimal": 95})
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 9))
    c = compute(world.repo, eid, on=DAY)
    # (50,600 + 536,000) × 0.95 = 557,270 from the fund; 29,330 the patient.
    assert {ln.benefit_rate for ln in c.lines} == {D(95)}
    assert sum(ln.bhyt_paid for ln in c.lines) == D("557270.00")
    assert sum(ln.patient_copay for ln in c.lines) == D("29330.00")
    assert not any("assumed" in u for u in c.uncharged)


def test_a_number_without_its_rate_is_billed_at_the_assumed_rate_and_says_so(world):  # noqa: ANN001
    pid = world.patient("001090123442", "Trần Văn Út", bhyt="0123456742")
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 9))
    c = compute(world.repo, eid, on=DAY)
    assert {ln.benefit_rate for ln in c.lines} == {D(80)}
    assert any("0123456742" in u and "80% assumed" in u for u in c.uncharged)


def test_the_copayment_exemption_applies_from_its_date(world):  # noqa: ANN001
    pid = world.patient("001090123443", "Lê Thị Vân", bhyt="DN4790123456743")
    _coverage_ext(world, pid, {"url": coverage.COPAY_EXEMPT_EXT, "valueDate": "2026-11-21"})
    eid = world.visit(pid, at(date(2026, 11, 19)), kind="noi-tru")
    before = world.prescribe(eid, AUGMENTIN, 10, at(date(2026, 11, 20), 9))
    after = world.prescribe(eid, AUGMENTIN, 10, at(date(2026, 11, 22), 9))
    world.end(eid, at(date(2026, 11, 23), 9))
    lines = {ln.source_ref: ln for ln in compute(world.repo, eid).lines if ln.kind == "drug"}
    # 10 × 14,500 = 145,000: before the date 80% (116,000 / 29,000), from it 100%.
    b, a = lines[f"MedicationRequest/{before}"], lines[f"MedicationRequest/{after}"]
    assert (b.benefit_rate, b.bhyt_paid, b.patient_copay) == (D(80), D("116000.00"), D("29000.00"))
    assert (a.benefit_rate, a.bhyt_paid, a.patient_copay) == (D(100), D("145000.00"), D("0.00"))


def test_a_card_not_valid_on_the_day_pays_nothing(world):  # noqa: ANN001
    pid = world.patient("001090123444", "Phạm Văn Xuân", bhyt="DN4790123456744", valid=("01/01/2026", "15/11/2026"))
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 9))
    lines = compute(world.repo, eid, on=DAY).lines
    assert sum(ln.bhyt_paid + ln.insured_amount for ln in lines) == D("0.00")
    assert sum(ln.patient_self for ln in lines) == D("586600.00")       # 50,600 + 536,000
    assert {ln.extra.get("not_covered") for ln in lines} == {"card not valid on the date"}


def test_a_card_ending_during_a_stay_pays_15_days_more_only_if_valid_on_admission(world):  # noqa: ANN001
    # Card valid to 20/11/2026. Admitted 18/11, a drug on 22/11 (2 days after the end: paid) and on
    # 07/12 (17 days after: not paid). A patient admitted after the end gets no such days.
    pid = world.patient("001090123445", "Đinh Văn Yên", bhyt="DN4790123456745", valid=("01/01/2026", "20/11/2026"))
    eid = world.visit(pid, at(date(2026, 11, 18)), kind="noi-tru")
    within = world.prescribe(eid, AUGMENTIN, 10, at(date(2026, 11, 22), 9))
    beyond = world.prescribe(eid, AUGMENTIN, 10, at(date(2026, 12, 7), 9))
    world.end(eid, at(date(2026, 12, 8), 9))
    drugs = {ln.source_ref: ln for ln in compute(world.repo, eid).lines if ln.kind == "drug"}
    assert drugs[f"MedicationRequest/{within}"].bhyt_paid == D("116000.00")       # 145,000 × 0.8
    assert drugs[f"MedicationRequest/{beyond}"].bhyt_paid == D("0.00")
    assert drugs[f"MedicationRequest/{beyond}"].patient_self == D("145000.00")
    late = world.visit(pid, at(date(2026, 11, 22)), kind="noi-tru")
    world.prescribe(late, AUGMENTIN, 10, at(date(2026, 11, 22), 10))
    world.end(late, at(date(2026, 11, 24), 9))
    assert sum(ln.bhyt_paid for ln in compute(world.repo, late).lines) == D("0.00")
