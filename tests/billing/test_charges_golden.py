"""Charges from the record, golden figures: visits written as the clinical workflows write them, on
both databases, billed from the catalogue on the date of service. Every expected amount is worked out
by hand in the test from the rules (vietnam-billing.md §1–§2) — the prices of the demo catalogue and
of charges_world, the benefit level, the route — never by calling the code under test.

Base salary from 01/07/2026: 2,530,000; 15% of it = 379,500 (the small-visit threshold);
45 × it = 113,850,000 (the supply package ceiling)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from benhan.billing.charges import charge_lines, compute
from benhan.clinical.catalogue.layouts import SERVICE
from tests.billing.charges_world import (AUGMENTIN, BED, CT, EXAM, HAPACOL, OTHER_EXAMS, STENT, SYRINGE, XRAY, at,
                                         make_world)

D = Decimal
DAY = date(2026, 11, 20)
# Demo catalogue prices (đồng): exam 50,600; chest X-ray 65,400; head CT 536,000; Augmentin 14,500 a tablet.


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    return make_world(store)


def _by_code(lines):  # noqa: ANN001, ANN202
    return {(ln.kind, ln.code): ln for ln in lines}


def _check_invariant(lines) -> None:  # noqa: ANN001
    for ln in lines:
        assert ln.amount == ln.patient_self + ln.patient_copay + ln.bhyt_paid + ln.other_sources, ln
        assert ln.patient_copay + ln.bhyt_paid == ln.insured_amount, ln


def _usual_visit(world, pid: str, **kw) -> str:  # noqa: ANN001
    """Exam, chest X-ray, head CT and 10 Augmentin: 50,600 + 65,400 + 536,000 + 145,000 = 797,000."""
    eid = world.visit(pid, at(DAY), **kw)
    world.order(eid, XRAY, at(DAY, 9))
    world.order(eid, CT, at(DAY, 9, 30))
    world.prescribe(eid, AUGMENTIN, 10, at(DAY, 10))
    return eid


def test_outpatient_bhyt_80_percent(world):  # noqa: ANN001
    pid = world.patient("001090123401", "Nguyễn Văn An", bhyt="DN4790123456701")     # DN: level 4 = 80%
    eid = _usual_visit(world, pid, route="dang-ky")
    lines = charge_lines(world.repo, eid, on=DAY)
    got = _by_code(lines)
    assert set(got) == {("exam", EXAM), ("service", XRAY), ("service", CT), ("drug", AUGMENTIN[0])}
    # Covered cost 797,000 ≥ 379,500: the card rate, 80%, on every line (code 1.1).
    exam = got[("exam", EXAM)]
    assert (exam.amount, exam.bhyt_paid, exam.patient_copay, exam.patient_self) == (
        D("50600.00"), D("40480.00"), D("10120.00"), D("0.00"))          # 50,600 × 0.8; 50,600 − 40,480
    assert (got[("service", XRAY)].bhyt_paid, got[("service", XRAY)].patient_copay) == (D("52320.00"), D("13080.00"))
    assert (got[("service", CT)].bhyt_paid, got[("service", CT)].patient_copay) == (D("428800.00"), D("107200.00"))
    drug = got[("drug", AUGMENTIN[0])]
    assert (drug.quantity, drug.unit_price, drug.amount) == (D(10), D(14500), D("145000.00"))
    assert (drug.bhyt_paid, drug.patient_copay) == (D("116000.00"), D("29000.00"))
    assert {ln.benefit_rate for ln in lines} == {D(80)}
    assert {ln.extra["ma_doituong_kcb"] for ln in lines} == {"1.1"}
    # The patient pays 10,120 + 13,080 + 107,200 + 29,000 = 159,400; the fund 637,600.
    assert sum(ln.patient_copay + ln.patient_self for ln in lines) == D("159400.00")
    assert sum(ln.bhyt_paid for ln in lines) == D("637600.00")
    _check_invariant(lines)


def test_a_100_percent_group_pays_nothing(world):  # noqa: ANN001
    pid = world.patient("001090123402", "Trần Thị Bình", bhyt="CC1790123456702")     # CC: level 1 = 100%
    eid = _usual_visit(world, pid)
    lines = charge_lines(world.repo, eid, on=DAY)
    assert sum(ln.bhyt_paid for ln in lines) == D("797000.00")
    assert sum(ln.patient_copay + ln.patient_self for ln in lines) == D("0.00")
    _check_invariant(lines)


def test_a_patient_without_bhyt_pays_everything(world):  # noqa: ANN001
    pid = world.patient("001090123403", "Lê Văn Cường")
    eid = _usual_visit(world, pid)
    lines = charge_lines(world.repo, eid, on=DAY)
    assert sum(ln.patient_self for ln in lines) == D("797000.00")
    assert sum(ln.bhyt_paid + ln.patient_copay + ln.insured_amount for ln in lines) == D("0.00")
    assert {ln.extra["ma_doituong_kcb"] for ln in lines} == {"9"}


def test_an_insured_patient_who_does_not_use_the_card_pays_everything(world):  # noqa: ANN001
    pid = world.patient("001090123404", "Phạm Văn Dũng", bhyt="DN4790123456704")
    eid = _usual_visit(world, pid, route="khong-bhyt")
    lines = charge_lines(world.repo, eid, on=DAY)
    assert sum(ln.patient_self for ln in lines) == D("797000.00")
    assert sum(ln.bhyt_paid for ln in lines) == D("0.00")


def test_emergency_pays_the_card_rate_though_the_card_names_another_facility(world):  # noqa: ANN001
    # A card registered at another facility (79001): self-referred — but an emergency is paid at the
    # card rate anywhere (code 2).
    pid = world.patient("001090123405", "Hoàng Văn Em", bhyt="HT3790123456705", place="79001")   # HT: 95%
    eid = world.visit(pid, at(DAY, 2), kind="cap-cuu")
    world.order(eid, CT, at(DAY, 2, 15))
    world.order(eid, "03.0110.0298", at(DAY, 2, 20))      # nebulisation, 20,300
    lines = charge_lines(world.repo, eid, on=DAY)
    got = _by_code(lines)
    assert {ln.extra["ma_doituong_kcb"] for ln in lines} == {"2"}
    # Covered 50,600 + 536,000 + 20,300 = 606,900 ≥ 379,500 → 95%.
    ct = got[("service", CT)]
    assert (ct.bhyt_paid, ct.patient_copay) == (D("509200.00"), D("26800.00"))     # 536,000 × 0.95
    neb = got[("service", "03.0110.0298")]
    assert (neb.bhyt_paid, neb.patient_copay) == (D("19285.00"), D("1015.00"))      # 20,300 × 0.95
    exam = got[("exam", EXAM)]
    assert (exam.bhyt_paid, exam.patient_copay) == (D("48070.00"), D("2530.00"))    # 50,600 × 0.95
    _check_invariant(lines)


def test_thong_tuyen_at_a_basic_facility_formerly_provincial(world):  # noqa: ANN001
    # The facility says so in <data_dir>/billing/facility.json: self-referred outpatients are code 1.14,
    # paid 50% of the card rate from 01/07/2026 (80 × 50 / 100 = 40) and nothing before.
    world.facility_rules(level="co-ban", former_level="provincial", score=75)
    pid = world.patient("001090123406", "Vũ Thị Giang", bhyt="DN4790123456706", place="79001")
    eid = _usual_visit(world, pid, route="tu-den")
    lines = charge_lines(world.repo, eid, on=DAY)
    assert {ln.extra["ma_doituong_kcb"] for ln in lines} == {"1.14"}
    assert {ln.benefit_rate for ln in lines} == {D(40)}
    ct = _by_code(lines)[("service", CT)]
    assert (ct.bhyt_paid, ct.patient_copay) == (D("214400.00"), D("321600.00"))     # 536,000 × 0.40
    # 797,000 × 0.40 = 318,800 from the fund; the patient 478,200.
    assert sum(ln.bhyt_paid for ln in lines) == D("318800.00")
    assert sum(ln.patient_copay for ln in lines) == D("478200.00")
    # Before 01/07/2026 the same visit was not paid at all (route rate 0).
    early = date(2026, 6, 15)
    eid2 = world.visit(pid, at(early), route="tu-den")
    world.order(eid2, CT, at(early, 9))
    lines2 = charge_lines(world.repo, eid2, on=early)
    assert sum(ln.bhyt_paid for ln in lines2) == D("0.00")
    assert sum(ln.patient_copay for ln in lines2) == D("586600.00")                 # 50,600 + 536,000


def test_inpatient_with_bed_days(world):  # noqa: ANN001
    pid = world.patient("001090123407", "Đặng Văn Hải", bhyt="DN4790123456707")
    admitted = date(2026, 11, 2)
    eid = world.visit(pid, at(admitted, 8), kind="noi-tru")
    world.prescribe(eid, HAPACOL, 12, at(admitted, 9))
    world.end(eid, at(date(2026, 11, 6), 10), disposition="home")
    lines = charge_lines(world.repo, eid)
    got = _by_code(lines)
    # Discharged home: 6 − 2 = 4 bed-days at 199,100 = 796,400; one exam; 12 × 900 = 10,800 of drugs.
    bed = got[("bed", BED)]
    assert (bed.quantity, bed.unit_price, bed.amount) == (D(4), D(199100), D("796400.00"))
    assert bed.cost_group == "15"
    assert (bed.bhyt_paid, bed.patient_copay) == (D("637120.00"), D("159280.00"))   # × 0.8, the rest
    assert [ln.kind for ln in lines].count("exam") == 1
    assert got[("drug", HAPACOL[0])].amount == D("10800.00")
    _check_invariant(lines)


def test_a_stay_across_a_price_change_bills_each_day_at_its_own_price(world):  # noqa: ANN001
    # The bed-day price is 199,100 to 30/11/2026 and 215,000 from 01/12/2026. Death on 02/12: + 1 day.
    pid = world.patient("001090123408", "Bùi Văn Khoa", bhyt="DN4790123456708")
    eid = world.visit(pid, at(date(2026, 11, 29), 14), kind="noi-tru")
    world.end(eid, at(date(2026, 12, 2), 6), disposition="exp", result="5")
    beds = [ln for ln in charge_lines(world.repo, eid) if ln.kind == "bed"]
    # 2 − 29/11 = 3 days + 1 = 4: 29/11 and 30/11 at 199,100; 01/12 and 02/12 at 215,000.
    assert [(ln.quantity, ln.unit_price, ln.amount) for ln in beds] == [
        (D(2), D(199100), D("398200.00")), (D(2), D(215000), D("430000.00"))]


def test_a_second_specialty_exam_is_paid_at_30_percent_and_exams_stop_at_twice_one(world):  # noqa: ANN001
    pid = world.patient("001090123409", "Ngô Thị Lan", bhyt="DN4790123456709")
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 8, 30))
    for i, code in enumerate(OTHER_EXAMS):
        world.order(eid, code, at(DAY, 9 + i))
    world.order(eid, OTHER_EXAMS[0], at(DAY, 15))             # the same exam again: never twice
    exams = [ln for ln in charge_lines(world.repo, eid, on=DAY) if ln.kind == "exam"]
    # 100 + 30 + 30 + 30 = 190% of one exam; the 5th exam gets the 10% left to reach 200%; the 6th none.
    assert [ln.service_rate for ln in exams] == [D(100), D(30), D(30), D(30), D(10)]
    second = exams[1]
    # The worked example: 50,600 × 30% = 15,180.00; the fund 12,144.00; the patient 3,036.00.
    assert (second.amount, second.bhyt_paid, second.patient_copay) == (D("15180.00"), D("12144.00"), D("3036.00"))
    assert exams[4].amount == D("5060.00")                        # 50,600 × 10%
    assert sum(ln.amount for ln in exams) == D(50600) * 2


def test_a_supply_above_its_ceiling(world):  # noqa: ANN001
    pid = world.patient("001090123410", "Lý Văn Minh", bhyt="DN4790123456710")
    eid = world.visit(pid, at(DAY), kind="noi-tru")
    procedure = world.order(eid, "02.0066.0080", at(DAY, 10))
    world.use_supply(eid, STENT, 1, at(DAY, 10, 30), procedure)
    world.use_supply(eid, SYRINGE, 2, at(DAY, 10, 40), world.order(eid, "10.0900.0200", at(DAY, 11)))
    world.end(eid, at(date(2026, 11, 23), 9))
    got = _by_code(charge_lines(world.repo, eid))
    stent = got[("supply", STENT)]
    # The worked example: 120,000,000 against T_TRANTT 113,850,000 (45 × 2,530,000).
    assert stent.ceiling == D(113850000)
    assert stent.insured_unit_price == D(113850000)
    assert (stent.amount, stent.insured_amount) == (D("120000000.00"), D("113850000.00"))
    assert (stent.bhyt_paid, stent.patient_copay, stent.patient_self) == (
        D("91080000.00"), D("22770000.00"), D("6150000.00"))
    # A supply well under the ceiling of its own package is covered whole: 2 × 1,200 × 0.8.
    syringe = got[("supply", SYRINGE)]
    assert (syringe.insured_amount, syringe.bhyt_paid, syringe.patient_self) == (D("2400.00"), D("1920.00"), D("0.00"))
    # Each procedure's supplies are a package (GOI_VTYT G1, G2 in order of use), dated by the procedure.
    assert (stent.extra["goi_vtyt"], syringe.extra["goi_vtyt"]) == ("G1", "G2")
    assert stent.service_time == at(DAY, 10) and syringe.service_time == at(DAY, 11)


def test_items_bhyt_never_pays_and_fund_payment_rates_are_data(world):  # noqa: ANN001
    # The facility lists the dressing as never paid by BHYT and Augmentin at TYLE_TT_BH 50 from 01/11/2026.
    world.rule_file("excluded.csv", "kind,code,valid_from,valid_to,reason\n"
                                    "service,10.0900.0200,2026-01-01,,Luật BHYT Đ23 (example)\n")
    world.rule_file("payment_rates.csv", "kind,code,valid_from,valid_to,rate,source\n"
                                         "drug,DEMO-J01CR02,2026-11-01,,50,example\n")
    pid = world.patient("001090123416", "Kiều Văn Tú", bhyt="DN4790123456716")
    eid = _usual_visit(world, pid)
    world.order(eid, "10.0900.0200", at(DAY, 11))             # dressing, 57,600
    got = _by_code(charge_lines(world.repo, eid, on=DAY))
    dressing = got[("service", "10.0900.0200")]
    assert (dressing.insured_amount, dressing.bhyt_paid, dressing.patient_self) == (D("0.00"), D("0.00"), D("57600.00"))
    assert dressing.extra["pham_vi"] == "2"
    drug = got[("drug", AUGMENTIN[0])]
    # 10 × 14,500 = 145,000; × 50% = 72,500 insured; 80% of it = 58,000 fund, 14,500 co-pay; 72,500 own.
    assert (drug.insurance_rate, drug.insured_amount) == (D(50), D("72500.00"))
    assert (drug.bhyt_paid, drug.patient_copay, drug.patient_self) == (D("58000.00"), D("14500.00"), D("72500.00"))
    assert got[("service", CT)].extra["pham_vi"] == "1"
    _check_invariant(got.values())


def test_a_small_visit_is_paid_in_full(world):  # noqa: ANN001
    pid = world.patient("001090123411", "Mai Văn Nam", bhyt="DN4790123456711")
    eid = world.visit(pid, at(DAY), route="dang-ky")
    world.order(eid, XRAY, at(DAY, 9))
    world.prescribe(eid, HAPACOL, 10, at(DAY, 10))
    lines = charge_lines(world.repo, eid, on=DAY)
    # 50,600 + 65,400 + 9,000 = 125,000 < 379,500 (15% of 2,530,000): the fund pays 100%.
    assert sum(ln.insured_amount for ln in lines) == D("125000.00")
    assert {ln.benefit_rate for ln in lines} == {D(100)}
    assert sum(ln.bhyt_paid for ln in lines) == D("125000.00")
    assert sum(ln.patient_copay + ln.patient_self for ln in lines) == D("0.00")


def test_a_small_self_referred_visit_keeps_its_route_rate(world):  # noqa: ANN001
    # The default facility (basic, formerly district, no score): self-referred outpatient = 1.12, card
    # rate; not a correct-route visit, so the small-visit exemption does not apply.
    pid = world.patient("001090123412", "Đỗ Thị Oanh", bhyt="DN4790123456712", place="79001")
    eid = world.visit(pid, at(DAY), route="tu-den")
    world.order(eid, XRAY, at(DAY, 9))
    lines = charge_lines(world.repo, eid, on=DAY)
    assert {ln.extra["ma_doituong_kcb"] for ln in lines} == {"1.12"}
    assert {ln.benefit_rate for ln in lines} == {D(80)}
    assert sum(ln.patient_copay for ln in lines) == D("23200.00")     # (50,600 + 65,400) × 0.2


def test_a_later_price_does_not_change_an_earlier_line(world):  # noqa: ANN001
    pid = world.patient("001090123413", "Phan Văn Phúc")
    eid = world.visit(pid, at(DAY))
    world.order(eid, XRAY, at(DAY, 9))
    before = _by_code(charge_lines(world.repo, eid, on=DAY))[("service", XRAY)]
    world.reprice(SERVICE, XRAY, "Chụp X-quang ngực thẳng [số hóa 1 phim]", 70000, date(2026, 12, 1), "2")
    world.order(eid, XRAY, at(date(2026, 12, 5), 9))          # the same service again, after the change
    xrays = [ln for ln in charge_lines(world.repo, eid, on=date(2026, 12, 10)) if ln.code == XRAY]
    assert before.unit_price == D(65400)
    assert sorted(ln.unit_price for ln in xrays) == [D(65400), D(70000)]


def test_what_cannot_be_priced_is_left_out_and_said(world):  # noqa: ANN001
    pid = world.patient("001090123414", "Quách Văn Quang")
    eid = world.visit(pid, at(DAY))
    # The analogue X-ray ended on 31/12/2025: an order dated 2026 has no price.
    world.order(eid, "18.0119.0001", at(DAY, 9))
    world.order(eid, XRAY, at(DAY, 9), status="revoked")      # a revoked order is no charge
    c = compute(world.repo, eid, on=DAY)
    assert [ln.code for ln in c.lines] == [EXAM]
    assert any("no price on 20/11/2026" in u for u in c.uncharged)


def test_the_route_is_asked_when_the_visit_opens(world):  # noqa: ANN001
    from benhan.clinical import visits
    from benhan.clinical.common import FormInvalid
    pid = world.patient("001090123415", "Tạ Văn Sơn", bhyt="DN4790123456715")
    eid = world.visit(pid, at(DAY), route="chuyen-tuyen")
    body = world.repo.read("Encounter", eid).json()
    assert {"url": "https://benhan.vn/fhir/StructureDefinition/bhyt-route", "valueCode": "chuyen-tuyen"} in body[
        "extension"]
    assert {ln.extra["ma_doituong_kcb"] for ln in charge_lines(world.repo, eid, on=DAY)} == {"1.3"}
    with pytest.raises(FormInvalid) as err:
        visits.open_visit(world.system, world.repo.actor, pid, "kham-benh", visits.locations(world.system)[0][0],
                          "", world.fac, route="qua-duong")
    assert "route" in err.value.errors


def test_many_visits_at_once_are_charged_as_one_by_one(world):  # noqa: ANN001
    from benhan.billing.charges import compute_many
    insured = world.patient("001090123417", "Lâm Văn Vinh", bhyt="DN4790123456717")
    other = world.patient("001090123418", "Lâm Thị Yến")
    eids = [_usual_visit(world, insured), _usual_visit(world, other),
            world.visit(insured, at(date(2026, 11, 2), 8), kind="noi-tru")]
    world.end(eids[2], at(date(2026, 11, 5), 9))
    together = compute_many(world.repo, eids, on=DAY)
    assert list(together) == eids
    for eid in eids:
        assert together[eid].lines == compute(world.repo, eid, on=DAY).lines
    assert sum(ln.patient_self for ln in together[eids[1]].lines) == D("797000.00")     # no card
    assert [ln.quantity for ln in together[eids[2]].lines if ln.kind == "bed"] == [D(3)]   # 5 − 2


def test_a_visit_closed_before_anyone_saw_the_patient_costs_nothing(world):  # noqa: ANN001
    from benhan.clinical import discharge
    pid = world.patient("001090123419", "Chu Văn Bảo")
    eid = world.visit(pid, at(DAY))
    discharge.close(world.repo, world.repo.actor, world.repo.read("Encounter", eid).json(), when=at(DAY, 9))
    c = compute(world.repo, eid, on=DAY)
    assert c.lines == [] and any("closed before anyone saw" in u for u in c.uncharged)
    # A visit seen and discharged with its result keeps its exam fee.
    seen = world.visit(pid, at(DAY, 10))
    world.end(seen, at(DAY, 11))
    assert [ln.code for ln in charge_lines(world.repo, seen, on=DAY)] == [EXAM]
    # A visit entered in error is charged nothing, whatever it holds.
    wrong = world.visit(pid, at(DAY, 12))
    world.order(wrong, CT, at(DAY, 12, 10))
    body = world.repo.read("Encounter", wrong).json()
    body["status"] = "entered-in-error"
    world.repo.update("Encounter", wrong, body)
    assert charge_lines(world.repo, wrong, on=DAY) == []


def test_each_line_names_the_department_the_patient_was_in(world):  # noqa: ANN001
    from benhan.billing.charges import MA_KHOA_SYSTEM
    from benhan.clinical import visits
    room = visits.locations(world.system)[0][0]
    location = world.system.read("Location", room).json()
    location["identifier"] = [{"system": MA_KHOA_SYSTEM, "value": "K01"}]
    world.system.update("Location", room, location)
    pid = world.patient("001090123420", "Chu Thị Cúc")
    eid = _usual_visit(world, pid)
    assert {ln.department for ln in charge_lines(world.repo, eid, on=DAY)} == {"K01"}


def test_every_visit_of_the_demo_record_can_be_charged(store):  # noqa: ANN001
    # The synthetic records (visits back to 2024, inpatient stays, deaths, transfers, patients with and
    # without cards) go through the charge computation without an error, every line keeping the invariant.
    from benhan.auth.actor import Actor
    from benhan.billing.charges import compute_many
    from benhan.clinical.load_demo import load_demo
    from benhan.store.repository import Repository
    load_demo(store, patients=15)
    repo = Repository(store, Actor.system("test"))
    eids = [m.res_id for m in repo.search_type("Encounter", [("_count", "1000")]).matches]
    assert len(eids) > 15
    computed = compute_many(repo, eids, on=date(2026, 12, 6))
    assert set(computed) == set(eids)
    for c in computed.values():
        _check_invariant(c.lines)
    # The demo bills like a real visit: its prescriptions and lab orders name the demo catalogue's
    # drugs and services (synth/care.py), priced over the whole history of the record.
    kinds = [{line.kind for line in c.lines} for c in computed.values()]
    assert sum("drug" in k for k in kinds) > len(eids) / 2
    assert sum("exam" in k for k in kinds) > len(eids) / 2
    assert sum("service" in k for k in kinds) >= len(eids) / 10      # labs are ordered in some visits
    assert not [u for c in computed.values() for u in c.uncharged if "catalogue" in u or "no price" in u]
