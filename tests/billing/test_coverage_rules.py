"""Who pays what, without a database: the per-line arithmetic of QĐ 130/4750 with the worked
examples of vietnam-billing.md §1.7, the bed-day count of TT 39/2024, the visit's MA_DOITUONG_KCB and
benefit from the card, the route and the facility's level, and the dated rule data. Every expected
figure is worked out by hand here from the rules, never by the code under test."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from benhan.billing import coverage
from benhan.billing.charges import bed_days
from benhan.billing.coverage import Card, load_rules, split

VN = timezone(timedelta(hours=7))
RULES = load_rules()


def _invariant(s: coverage.Split) -> None:
    assert s.amount == s.patient_self + s.patient_copay + s.bhyt_paid + s.other_sources
    assert s.patient_copay + s.bhyt_paid + min(s.other_sources, Decimal(0)) <= s.insured_amount


def test_worked_example_drug_line():
    # 10 × 1,234.567 đồng, TYLE_TT_BH 100, MUC_HUONG 80 (§1.7).
    s = split(Decimal(10), Decimal("1234.567"), Decimal("1234.567"), Decimal(80), service_rate=None)
    # THANH_TIEN_BV = 10 × 1234.567 = 12345.67; THANH_TIEN_BH the same (rate 100).
    assert s.amount == Decimal("12345.67")
    assert s.insured_amount == Decimal("12345.67")
    # T_BHTT = 12345.67 × 0.80 = 9876.536 → 9876.54 (half up); T_BNCCT = 12345.67 − 9876.54.
    assert s.bhyt_paid == Decimal("9876.54")
    assert s.patient_copay == Decimal("12345.67") - Decimal("9876.54") == Decimal("2469.13")
    assert s.patient_self == Decimal("0.00")
    _invariant(s)


def test_worked_example_support_for_this_patient_comes_off_the_patient_first():
    # The same line with 1,000 đồng of support for this patient only: T_BNTT (0) → T_BNCCT → T_BHTT.
    s = split(Decimal(10), Decimal("1234.567"), Decimal("1234.567"), Decimal(80), service_rate=None,
              other_for_patient=Decimal(1000))
    assert s.patient_self == Decimal("0.00")
    assert s.patient_copay == Decimal("2469.13") - Decimal("1000") == Decimal("1469.13")
    assert s.bhyt_paid == Decimal("9876.54")
    assert s.other_sources == Decimal("1000.00")
    assert s.amount == s.patient_self + s.patient_copay + s.bhyt_paid + s.other_sources


def test_worked_example_second_specialty_exam_at_30_percent():
    # Price 50,600, TYLE_TT_DV 30, MUC_HUONG 80.
    s = split(Decimal(1), Decimal(50600), Decimal(50600), Decimal(80), service_rate=Decimal(30))
    assert s.amount == Decimal(50600) * Decimal("0.30") == Decimal("15180.00")
    assert s.insured_amount == Decimal("15180.00")
    assert s.bhyt_paid == Decimal("15180") * Decimal("0.8") == Decimal("12144.00")
    assert s.patient_copay == Decimal("15180.00") - Decimal("12144.00") == Decimal("3036.00")
    _invariant(s)


def test_worked_example_supply_above_its_ceiling():
    # DON_GIA_BV 120,000,000; T_TRANTT = 45 × 2,530,000 = 113,850,000 (from 01/07/2026); MUC_HUONG 80.
    ceiling = Decimal(45) * Decimal(2530000)
    assert ceiling == Decimal(113850000)
    s = split(Decimal(1), Decimal(120000000), ceiling, Decimal(80))
    assert s.insured_amount == Decimal("113850000.00")
    assert s.bhyt_paid == Decimal("91080000.00")                  # 113,850,000 × 0.8
    assert s.patient_copay == Decimal("22770000.00")              # 113,850,000 − 91,080,000
    assert s.patient_self == Decimal("6150000.00")                # 120,000,000 − 113,850,000
    _invariant(s)


def test_rounding_is_half_up_and_the_copay_is_the_difference():
    # 3 × 333.335 = 1000.005 → 1000.01 (half up; banker's rounding would give 1000.00).
    s = split(Decimal(3), Decimal("333.335"), Decimal("333.335"), Decimal(95), service_rate=None)
    assert s.amount == Decimal("1000.01")
    # 1000.01 × 0.95 = 950.0095 → 950.01; the co-payment is what is left of 1000.01.
    assert s.bhyt_paid == Decimal("950.01")
    assert s.patient_copay == Decimal("50.00")
    _invariant(s)


def test_a_line_bhyt_never_pays_goes_to_the_patient_whole():
    s = split(Decimal(2), Decimal(57600), Decimal(0), Decimal(80))
    assert (s.insured_amount, s.bhyt_paid, s.patient_copay) == (Decimal("0.00"),) * 3
    assert s.patient_self == Decimal("115200.00")                # 2 × 57,600


def test_base_salary_by_date():
    assert RULES.base_salary(date(2026, 6, 30)) == Decimal(2340000)
    assert RULES.base_salary(date(2026, 7, 1)) == Decimal(2530000)
    assert RULES.base_salary(date(2025, 1, 15)) == Decimal(2340000)
    assert RULES.base_salary(date(2024, 6, 13)) == Decimal(1800000)         # older visits of a record
    with pytest.raises(coverage.RuleDataError, match="no base salary for 2019-06-30"):
        RULES.base_salary(date(2019, 6, 30))


def _t(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


@pytest.mark.parametrize("start,end,disposition,worse,days", [
    (_t(2, 8), _t(6, 10), "home", False, 4),        # b) discharge date − admission date = 6 − 2
    (_t(2, 8), _t(6, 10), "exp", False, 5),         # a) death: 6 − 2 + 1
    (_t(2, 8), _t(6, 10), "other-hcf", False, 5),   # a) transferred: + 1
    (_t(2, 8), _t(6, 10), "aadvice", True, 5),      # a) taken home by the family, worse: + 1
    (_t(2, 8), _t(6, 10), "aadvice", False, 4),     # taken home, not worse: b)
    (_t(2, 20), _t(3, 9), "home", False, 1),        # c) 13 h across midnight: one day
    (_t(2, 8), _t(2, 12), "home", False, 0),        # d) exactly 4 h: no bed-day
    (_t(2, 8), _t(2, 12, 1), "home", False, 1),     # just over 4 h: one day
    (_t(30, 22), _t(2, 7, month=12), "home", False, 2),   # calendar dates, not hours ÷ 24 (33 h)
])
def test_bed_days_are_counted_as_tt39_says(start, end, disposition, worse, days):  # noqa: ANN001
    assert bed_days(start, end, disposition, worse, RULES) == days


def _encounter(kind: str = "kham-benh", klass: str = "AMB", route: str = "") -> dict:
    body = {"resourceType": "Encounter", "id": "e1", "class": {"code": klass},
            "type": [{"coding": [{"code": kind}]}]}
    if route:
        body["extension"] = [{"url": coverage.ROUTE_EXT, "valueCode": route}]
    return body


CARD80 = Card("DN4790123456789", Decimal(80), True)


@pytest.mark.parametrize("facility,encounter,code,rate", [
    ({"level": "co-ban", "former_level": "district", "score": None}, _encounter(route="dang-ky"), "1.1", "80"),
    ({"level": "co-ban", "former_level": "district", "score": None}, _encounter(route="chuyen-tuyen"), "1.3", "80"),
    ({"level": "co-ban", "former_level": "district", "score": None}, _encounter(route="hen-kham"), "1.5", "80"),
    # Primary level: the fund pays 100% whatever the card says (code 1.2).
    ({"level": "ban-dau", "former_level": "", "score": None}, _encounter(route="tu-den"), "1.2", "100"),
    # Emergency: the card rate at any facility, whatever the route.
    ({"level": "chuyen-sau", "former_level": "central", "score": 90}, _encounter("cap-cuu", "EMER", "tu-den"), "2", "80"),
    # Self-referred outpatient at a basic facility formerly provincial: 50% of the card rate from 01/07/2026.
    ({"level": "co-ban", "former_level": "provincial", "score": 80}, _encounter(route="tu-den"), "1.14", "40"),
    # … basic facility scoring 50–70: the same 50% (80 × 50 / 100 = 40).
    ({"level": "co-ban", "former_level": "district", "score": 60}, _encounter(route="tu-den"), "1.13", "40"),
    # … scoring under 50: the card rate.
    ({"level": "co-ban", "former_level": "district", "score": 40}, _encounter(route="tu-den"), "1.12", "80"),
    # Self-referred inpatient at a basic facility: the card rate.
    ({"level": "co-ban", "former_level": "provincial", "score": 80}, _encounter("noi-tru", "IMP", "tu-den"), "1.15", "80"),
    # Specialised, formerly central: inpatient 40% of the card rate (80 × 40 / 100 = 32), outpatient nothing.
    ({"level": "chuyen-sau", "former_level": "central", "score": 90}, _encounter("noi-tru", "IMP", "tu-den"), "3.1", "32"),
    ({"level": "chuyen-sau", "former_level": "central", "score": 90}, _encounter(route="tu-den"), "3.1", "0"),
    # Specialised, formerly provincial: outpatient 1.18 (50%), inpatient 3.2 (card rate).
    ({"level": "chuyen-sau", "former_level": "provincial", "score": 90}, _encounter(route="tu-den"), "1.18", "40"),
    ({"level": "chuyen-sau", "former_level": "provincial", "score": 90}, _encounter("noi-tru", "IMP", "tu-den"), "3.2", "80"),
    ({"level": "co-ban", "former_level": "district", "score": None}, _encounter(route="khong-bhyt"), "9", "0"),
])
def test_the_visits_object_code_and_benefit(facility, encounter, code, rate):  # noqa: ANN001
    rules = RULES.with_facility(**facility)
    ent = coverage.entitlement(encounter, CARD80, date(2026, 11, 20), rules)
    assert ent.object_code == code
    assert ent.benefit() == Decimal(rate)


def test_the_self_referred_rate_before_july_2026_was_nothing():
    rules = RULES.with_facility(level="co-ban", former_level="provincial", score=80)
    ent = coverage.entitlement(_encounter(route="tu-den"), CARD80, date(2026, 6, 30), rules)
    assert (ent.object_code, ent.benefit()) == ("1.14", Decimal(0))


def test_the_final_code_set_by_the_bhyt_desk_wins():
    body = _encounter(route="tu-den")
    body["extension"].append({"url": coverage.OBJECT_CODE_EXT, "valueString": "1.16"})
    ent = coverage.entitlement(body, CARD80, date(2026, 11, 20), RULES.with_facility(level="co-ban",
                                                                                     former_level="provincial"))
    assert (ent.object_code, ent.benefit()) == ("1.16", Decimal(80))


def test_the_card_rate_comes_from_the_card():
    # Legacy number: the third character (4 → 80, 3 → 95, 1 → 100); a stored card-check rate wins;
    # a 10-digit number without a card check: the assumed rate, marked unknown.
    assert coverage._card_rate("HT3790123456789", None, RULES) == (Decimal(95), True)
    assert coverage._card_rate("TE1790123456789", None, RULES) == (Decimal(100), True)
    assert coverage._card_rate("0123456789", None, RULES) == (Decimal(80), False)
    assert coverage._card_rate("0123456789", 95, RULES) == (Decimal(95), True)


def test_a_facility_corrects_a_rule_file_without_touching_the_others(tmp_path):  # noqa: ANN001
    (tmp_path / "base_salary.csv").write_text(
        "valid_from,valid_to,amount,source,verified\n2024-07-01,,2400000,a corrected figure,no\n", encoding="utf-8")
    rules = load_rules(tmp_path)
    assert rules.base_salary(date(2026, 11, 1)) == Decimal(2400000)
    assert rules.route_rate("1.14", False, date(2026, 11, 1)) == RULES.route_rate("1.14", False, date(2026, 11, 1))


def test_a_broken_rule_file_is_one_clear_error(tmp_path):  # noqa: ANN001
    (tmp_path / "routes.csv").write_text("code,care\n1.1,all\n", encoding="utf-8")
    with pytest.raises(coverage.RuleDataError, match="billing rule data"):
        load_rules(tmp_path)
