"""BHYT card numbers in the three current forms (vietnam.md §4.3)."""
from __future__ import annotations

import pytest

from benhan.vn.bhyt import BHXH_NUMBER, CCCD, LEGACY, bhyt_problems, make_legacy_bhyt, parse_bhyt


def test_the_legacy_example_is_valid_and_parsed():
    assert bhyt_problems("HT4790123456789") == []
    card = parse_bhyt("ht4 79 0123456789")
    assert (card.form, card.group, card.level, card.province, card.bhxh_number) == \
        (LEGACY, "HT", 4, "79", "0123456789")


def test_the_10_digit_bhxh_number_and_the_12_digit_cccd_are_card_numbers_too():
    assert parse_bhyt("0123456789").form == BHXH_NUMBER and bhyt_problems("0123456789") == []
    assert parse_bhyt("001085012345").form == CCCD and bhyt_problems("001085012345") == []


def test_a_cccd_used_as_card_number_is_checked_as_a_cccd():
    assert bhyt_problems("003085012345") == [
        "as a CCCD: digits 1–3 (003) are not the code of a province of birth registration"]


@pytest.mark.parametrize(("number", "reason"), [
    ("ZZ4790123456789", "characters 1–2 (ZZ) are not a known beneficiary group"),
    ("DN6790123456789", "character 3 (6) is not a benefit level (1–5)"),
    ("DN5790123456789", "benefit level 5 is only for the armed forces and cipher staff (QN, CA, CY), not DN"),
    ("QN4790123456789", "group QN has benefit level 5, not 4"),
    ("DN4030123456789", "characters 4–5 (03) are not the code of an issuing province"),
])
def test_each_broken_part_of_a_legacy_number_is_named(number, reason):  # noqa: ANN001
    assert bhyt_problems(number) == [reason]


def test_other_shapes_are_refused_with_the_three_forms():
    for bad in ("HT479012345678", "H14790123456789", "12345", "HT4790123456789X"):
        assert "15 characters" in bhyt_problems(bad)[0]
    assert bhyt_problems("  ") == ["a BHYT card number is required"]


def test_made_numbers_carry_the_groups_usual_level():
    assert make_legacy_bhyt("TE", "01", "0100000001") == "TE1010100000001"
    assert make_legacy_bhyt("CA", "98", "9800000001") == "CA5989800000001"
    assert bhyt_problems("CA5989800000001") == []
