"""Dates as ranges, and the server's zone for values that carry none."""
from __future__ import annotations

import pytest

from benhan.fhir import datetimes
from benhan.fhir.datetimes import from_us, parse_range


def test_a_month_is_the_whole_month_in_the_servers_zone():
    low, high = parse_range("2024-02")
    assert from_us(low).isoformat() == "2024-01-31T17:00:00+00:00"       # 1 Feb 00:00 at +07:00
    assert from_us(high).isoformat() == "2024-02-29T16:59:59.999999+00:00"


def test_a_configured_zone_applies_to_values_without_one_only():
    try:
        datetimes.set_local_zone("Z")
        assert from_us(parse_range("2024-02-01")[0]).isoformat() == "2024-02-01T00:00:00+00:00"
        assert parse_range("2024-02-01T08:00:00+07:00")[0] == parse_range("2024-02-01T01:00:00Z")[0]
    finally:
        datetimes.set_local_zone("+07:00")


@pytest.mark.parametrize("bad", ["7", "+7:00", "+15:00", "UTC", "", "+07:60"])
def test_a_zone_that_is_not_an_offset_is_refused(bad):
    with pytest.raises(ValueError):
        datetimes.parse_zone(bad)


@pytest.mark.parametrize("text", ["2024-13", "2024-02-30", "2024-01-01T25:00:00Z", "tomorrow", "2024-1-1"])
def test_values_that_are_not_fhir_dates_give_no_range(text):
    assert parse_range(text) is None
