"""Vietnamese telephone numbers: 10-digit mobiles with a network prefix, 11-digit landlines."""
from __future__ import annotations

from benhan.vn.phone import normalize_phone, phone_problems


def test_mobile_numbers_in_national_and_international_form():
    for number in ("0912345678", "091 234 5678", "+84912345678", "84 912 345 678", "0084912345678", "0387654321"):
        assert phone_problems(number) == [], number
    assert normalize_phone("+84 912-345-678") == "0912345678"


def test_a_landline_has_11_digits_with_its_area_code():
    assert phone_problems("02438253531") == []          # Hà Nội, 024
    assert phone_problems("0243825353") == ["a landline number (02…) has 11 digits with its area code"]
    assert phone_problems("02438253531", mobile_only=True) == ["a mobile number has 10 digits, this has 11"]


def test_wrong_numbers_give_the_reason():
    assert phone_problems("091234567") == ["a mobile number has 10 digits, this has 9"]
    assert phone_problems("0112345678") == ["011 is not a mobile network prefix"]
    assert phone_problems("912345678") == ["a Vietnamese telephone number starts with 0 (or +84)"]
    assert phone_problems("09123x5678") == ["a telephone number has only digits (and optionally +84, spaces, dashes)"]
    assert phone_problems("01234567890") == ["a mobile number has 10 digits, this has 11"]
