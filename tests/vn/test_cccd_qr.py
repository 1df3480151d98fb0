"""The CCCD QR payload as a keyboard-wedge scanner types it (vietnam.md §4.2): seven fields
separated by '|', with the tolerances real scanners need."""
from __future__ import annotations

from datetime import date

import pytest

from benhan.vn.cccd_qr import QrProblem, looks_like_qr, parse_cccd_qr

EXAMPLE = "001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Số 5, ngõ 12, Phường Ba Đình, Thành phố Hà Nội|15042021"


def test_the_documented_example_gives_every_field():
    card = parse_cccd_qr(EXAMPLE)
    assert card.cccd == "001090123456"
    assert card.old_id == "012345678"
    assert card.name == "Nguyễn Văn An"
    assert card.birth_date == date(1990, 1, 1)
    assert card.gender == "male"
    assert card.address == "Số 5, ngõ 12, Phường Ba Đình, Thành phố Hà Nội"
    assert card.issued == date(2021, 4, 15)


def test_an_empty_old_id_field_is_common_and_fine():
    card = parse_cccd_qr("079303000042||Trần Thị Bích|01062003|Nữ|Phường Sài Gòn, TP. Hồ Chí Minh|02032022")
    assert card.old_id is None and card.female and card.name == "Trần Thị Bích"


def test_a_missing_old_id_field_is_recognised_by_the_date_after_the_name():
    card = parse_cccd_qr("079303000042|Trần Thị Bích|01062003|Nữ|Phường Sài Gòn|02032022")
    assert card.name == "Trần Thị Bích" and card.birth_date == date(2003, 6, 1)


@pytest.mark.parametrize("prefix", ["]Q1", "CCCD: ", "QR:", "  \t", "abc|"])
def test_scanner_prefixes_and_labels_are_skipped(prefix):
    assert parse_cccd_qr(prefix + EXAMPLE).cccd == "001090123456"


def test_trailing_newline_and_extra_fields_are_ignored():
    card = parse_cccd_qr(EXAMPLE + "|extra|fields\r\n")
    assert card.issued == date(2021, 4, 15)


def test_sex_without_accents_and_in_capitals():
    assert parse_cccd_qr(EXAMPLE.replace("|Nam|", "|NU|")).female
    assert not parse_cccd_qr(EXAMPLE.replace("|Nam|", "|nam|")).female


@pytest.mark.parametrize("payload, key", [
    ("hello world", "not-cccd"),
    ("001090123456|012345678|NGUYEN VAN A", "too-few-fields"),
    ("001090123456|0123|NGUYEN VAN A|01011990|Nam|Hà Nội|15042021", "bad-old-id"),
    ("001090123456||NGUYEN VAN A|31021990|Nam|Hà Nội|15042021", "bad-birth-date"),
    ("001090123456||NGUYEN VAN A|1990-01-01|Nam|Hà Nội|15042021", "bad-birth-date"),
    ("001090123456||NGUYEN VAN A|01011990|X|Hà Nội|15042021", "bad-sex"),
    ("001090123456||NGUYEN VAN A|01011990|Nam|Hà Nội|99999999", "bad-issue-date"),
    ("001090123456||   |01011990|Nam|Hà Nội|15042021", "no-name"),
])
def test_what_is_wrong_is_named(payload, key):
    with pytest.raises(QrProblem) as err:
        parse_cccd_qr(payload)
    assert err.value.key == key


def test_a_name_or_number_typed_in_the_search_box_is_not_a_scan():
    assert looks_like_qr(EXAMPLE)
    assert not looks_like_qr("Nguyễn Văn An") and not looks_like_qr("001090123456")
