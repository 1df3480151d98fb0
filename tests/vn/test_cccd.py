"""CCCD numbers: 12 digits, a province of birth registration, and digits 4–6 that agree with the
person's century, sex and year of birth (vietnam.md §4.1)."""
from __future__ import annotations

from datetime import date

from benhan.vn.identifiers import cccd_problems, make_cccd, parse_cccd

TODAY = date(2026, 11, 1)


def test_the_vn_core_example_is_valid_for_its_person():
    assert cccd_problems("001085012345", date(1985, 3, 15), female=False, today=TODAY) == []


def test_a_woman_born_in_2003_in_ho_chi_minh_city_has_digit_4_equal_3():
    number = make_cccd("079", date(2003, 6, 1), True, 42)
    assert number == "079303000042"
    assert cccd_problems(number, date(2003, 6, 1), female=True, today=TODAY) == []
    info = parse_cccd(number)
    assert (info.province, info.female, info.birth_year) == ("Thành phố Hồ Chí Minh", True, 2003)


def test_the_wrong_length_or_letters_are_refused_with_the_rule():
    for bad in ("00108501234", "0010850123456", "00108501234A", "", None):
        assert cccd_problems(bad) == ["a CCCD number is exactly 12 digits"]   # type: ignore[arg-type]


def test_a_code_that_is_no_province_is_named():
    assert cccd_problems("003085012345", today=TODAY) == [
        "digits 1–3 (003) are not the code of a province of birth registration"]


def test_a_province_merged_in_2025_still_counts():
    # 002 was Hà Giang, merged into Tuyên Quang on 01/07/2025: old numbers never change.
    assert cccd_problems("002190000001", today=TODAY) == []


def test_sex_century_and_year_disagreements_each_give_their_reason():
    number = "001085012345"      # a man born in 1985
    assert cccd_problems(number, date(1985, 3, 15), female=True, today=TODAY) == [
        "digit 4 (0) is for a man (even: male, odd: female)"]
    assert cccd_problems(number, date(1986, 3, 15), female=False, today=TODAY) == [
        "digits 5–6 (85) are not the year of birth (86)"]
    assert cccd_problems(number, date(2085, 3, 15), female=False, today=TODAY) == [
        "digit 4 (0) is for someone born in the 1900s, not 2085"]


def test_a_birth_year_in_the_future_is_refused():
    assert cccd_problems("001299012345", today=TODAY) == ["digits 4–6 give a year of birth in the future (2099)"]
