"""Date search (http://hl7.org/fhir/R4/search.html#date): every value is a range at its precision
(year … millisecond); each prefix compares ranges; time zones; Period with open ends; instants —
on every store."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.factories import patient
from tests.search.helpers import create, found




def observation(**effective) -> dict:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, **effective}


def encounter(**period) -> dict:
    return {"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "period": period}


@pytest.fixture
def births(client) -> dict[str, str]:
    """Patients born on dates of every precision around June 1980, by birth date."""
    dates = ("1979-12-31", "1980", "1980-06", "1980-06-15", "1980-12-31", "1981-01-01")
    return {d: create(client, patient(birthDate=d)) for d in dates}


def born(births: dict[str, str], *dates: str) -> set[str]:
    return {births[d] for d in dates}


def test_a_date_finds_the_values_its_range_contains(client, births):
    assert found(client, "Patient?birthdate=1980") == born(births, "1980", "1980-06", "1980-06-15", "1980-12-31")
    assert found(client, "Patient?birthdate=1980-06") == born(births, "1980-06", "1980-06-15")
    assert found(client, "Patient?birthdate=1980-06-15") == born(births, "1980-06-15")
    assert found(client, "Patient?birthdate=eq1980-06-15") == born(births, "1980-06-15")
    # A whole year is not "equal" to a day inside it: its range is wider than the search's.
    assert found(client, "Patient?birthdate=1980-12-31") == born(births, "1980-12-31")


def test_each_prefix_compares_the_value_range_with_the_month_searched(client, births):
    expected = {
        "eq": ("1980-06", "1980-06-15"),
        "ne": ("1979-12-31", "1980", "1980-12-31", "1981-01-01"),
        "gt": ("1980", "1980-12-31", "1981-01-01"),             # some of the value is after June
        "lt": ("1979-12-31", "1980"),                            # some of the value is before June
        "ge": ("1980", "1980-06", "1980-06-15", "1980-12-31", "1981-01-01"),
        "le": ("1979-12-31", "1980", "1980-06", "1980-06-15"),
        "sa": ("1980-12-31", "1981-01-01"),                      # all of the value is after June
        "eb": ("1979-12-31",),                                   # all of the value is before June
    }
    got = {prefix: found(client, f"Patient?birthdate={prefix}1980-06") for prefix in expected}
    assert got == {prefix: born(births, *dates) for prefix, dates in expected.items()}


def test_approximately_finds_values_near_the_date_but_not_far_from_it(client, births):
    near = found(client, "Patient?birthdate=ap1980-06-15")
    assert born(births, "1980-06-15", "1980-06", "1980") <= near
    assert not near & born(births, "1979-12-31", "1980-12-31", "1981-01-01")


def test_a_repeated_date_makes_a_range_and_commas_give_alternatives(client, births):
    assert found(client, "Patient?birthdate=ge1980-06-01&birthdate=lt1980-07-01") == born(
        births, "1980-06", "1980-06-15", "1980")
    assert found(client, "Patient?birthdate=1979,1981") == born(births, "1979-12-31", "1981-01-01")


def test_a_time_with_a_zone_is_the_same_instant_in_utc(client):
    # 08:30 in Hà Nội (+07:00) is 01:30 UTC.
    hanoi = create(client, observation(effectiveDateTime="2026-11-20T08:30:00+07:00"))
    create(client, observation(effectiveDateTime="2026-11-20T08:30:00Z"))
    assert found(client, "Observation?date=2026-11-20T01:30:00Z") == {hanoi}
    assert found(client, "Observation?date=" + quote("2026-11-20T08:30:00+07:00")) == {hanoi}
    assert found(client, "Observation?date=" + quote("2026-11-19T20:30:00-05:00")) == {hanoi}
    # A time without a zone is read in the server's zone (+07:00 by default).
    assert found(client, "Observation?date=2026-11-20T08:30:00") == {hanoi}


def test_an_unencoded_plus_in_a_zone_is_read_as_a_plus(client):
    # '+' in a query string decodes to a space; a space can appear nowhere in a date, so a client
    # that forgot to encode its '+07:00' still means +07:00.
    hanoi = create(client, observation(effectiveDateTime="2026-11-20T08:30:00+07:00"))
    assert found(client, "Observation?date=2026-11-20T08:30:00+07:00") == {hanoi}
    assert found(client, "Observation?date=ge2026-11-20T08:00:00+07:00") == {hanoi}


def test_a_day_without_a_zone_is_the_facilitys_local_day(client):
    # 06:00 in Hà Nội on the 20th is 23:00 UTC on the 19th; a day searched without a zone is the
    # server's local day (setting `timezone`, +07:00 by default), so it is found on the 20th.
    early = create(client, observation(effectiveDateTime="2026-11-20T06:00:00+07:00"))
    late = create(client, observation(effectiveDateTime="2026-11-20T23:30:00+07:00"))
    assert found(client, "Observation?date=2026-11-20") == {early, late}
    assert found(client, "Observation?date=2026-11-19") == set()
    assert found(client, "Observation?date=2026-11-19T23:00:00Z") == {early}


def test_each_precision_from_year_to_millisecond_contains_the_finer_ones(client):
    instant = create(client, observation(effectiveInstant="2026-11-20T01:30:15.123Z"))
    for value in ("2026", "2026-11", "2026-11-20", "2026-11-20T01:30Z", "2026-11-20T01:30:15Z",
                  "2026-11-20T01:30:15.1Z", "2026-11-20T01:30:15.12Z", "2026-11-20T01:30:15.123Z"):
        assert found(client, "Observation?date=" + quote(value)) == {instant}, value
    for value in ("2025", "2026-12", "2026-11-21", "2026-11-20T01:31Z", "2026-11-20T01:30:16Z",
                  "2026-11-20T01:30:15.124Z", "2026-11-20T01:30:15.13Z",
                  # finer than the stored value: its millisecond is not inside this 100 µs
                  "2026-11-20T01:30:15.1230Z"):
        assert found(client, "Observation?date=" + quote(value)) == set(), value


def test_a_stored_value_coarser_than_the_search_is_not_equal_but_overlaps(client):
    day = create(client, observation(effectiveDateTime="2026-11-20"))
    assert found(client, "Observation?date=2026-11-20T10:00:00Z") == set()
    assert found(client, "Observation?date=ne2026-11-20T10:00:00Z") == {day}
    assert found(client, "Observation?date=ge2026-11-20T10:00:00Z") == {day}
    assert found(client, "Observation?date=le2026-11-20T10:00:00Z") == {day}
    assert found(client, "Observation?date=sa2026-11-20T10:00:00Z") == set()


@pytest.fixture
def stays(client) -> dict[str, str]:
    """Encounters over January 2026: closed, still open (no end), and known only by their end."""
    return {"closed": create(client, encounter(start="2026-01-10T08:00:00+07:00", end="2026-01-20")),
            "open end": create(client, encounter(start="2026-01-15")),
            "open start": create(client, encounter(end="2026-01-05"))}


def test_a_period_is_the_range_from_its_start_to_its_end_open_ends_unbounded(client, stays):
    expected = {
        "2026-01": ("closed",),                        # an open period is never inside a month
        "ne2026-01": ("open end", "open start"),
        "ge2026-01-18": ("closed", "open end"),
        "gt2026-02": ("open end",),                    # an open end goes on for ever
        "lt2026-01-01": ("open start",),               # an open start reaches back for ever
        "le2026-01-10": ("open start",),               # the stay began at 01:00 UTC on the 10th
        "le2026-01-11": ("closed", "open start"),
        "sa2026-01-08": ("closed", "open end"),
        "eb2026-01-06": ("open start",),
        "eb2026-01-05": (),                            # it ends during the 5th, not before it
    }
    got = {query: found(client, f"Encounter?date={query}") for query in expected}
    assert got == {query: {stays[k] for k in kinds} for query, kinds in expected.items()}


def test_missing_finds_resources_without_a_date(client):
    dated = create(client, patient(birthDate="1990-01-01"))
    undated = create(client, {k: v for k, v in patient().items() if k != "birthDate"})
    assert found(client, "Patient?birthdate:missing=true") == {undated}
    assert found(client, "Patient?birthdate:missing=false") == {dated}


def test_a_value_that_is_not_a_date_is_400_with_an_operation_outcome(client):
    for value in ("2026-13-01", "2026-02-30", "20261120", "yesterday", "gt", "xx2026", "2026-11-20T25:00:00Z",
                  "2026-11-20T10:00:00+7", "2026-11-20T10:00:00 7", "2026-11-20T10:00:00 07:00 "):
        r = client.get("/fhir/Patient?birthdate=" + quote(value))
        assert r.status_code == 400, value
        assert r.json()["resourceType"] == "OperationOutcome"
