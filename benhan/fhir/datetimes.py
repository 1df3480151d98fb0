"""FHIR date, dateTime and instant values as ranges.

A FHIR date is a period at its own precision: ``2024-03`` is the whole of March 2024
(http://hl7.org/fhir/R4/search.html#date). Each value becomes [low, high] in whole microseconds
since the Unix epoch, UTC, inclusive at both ends. A value without a zone (a birth date, a day
typed in a search) is read in the server's local zone — +07:00 unless configured otherwise — so
that "the 20th" at a Vietnamese facility is its own day, 00:00–24:00 Hà Nội time, and an
observation taken at 06:00+07:00 on the 20th is found by date=2026-11-20.
"""
from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

MIN_US = -(2**62)
MAX_US = 2**62

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ZONE = re.compile(r"^(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)$")
_local = timezone(timedelta(hours=7))


def parse_zone(text: str) -> timezone:
    """'+07:00' or 'Z' as a timezone; ValueError for anything else."""
    if not isinstance(text, str) or not _ZONE.match(text):
        raise ValueError(f"{text!r} is not a zone offset like +07:00 or Z")
    if text == "Z":
        return timezone.utc
    sign = 1 if text[0] == "+" else -1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def local_zone() -> timezone:
    """The zone of the facility (setting `timezone`), for values written in local time."""
    return _local


def set_local_zone(text: str) -> None:
    """The zone of values that carry none (setting `timezone`). Changing it on a database that
    holds data needs `benhan reindex`, since stored ranges were computed in the old zone."""
    global _local
    _local = parse_zone(text)
_US = timedelta(microseconds=1)


def _us(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def parse_range(text: str) -> tuple[int, int] | None:
    """[low, high] of a FHIR date/dateTime/instant string, or None when it is not one."""
    if not isinstance(text, str):
        return None
    # Cached with the zone it depends on: a Bundle repeats its dates (an encounter's effective
    # time is on each of its Observations, with their issued), and index extraction parses each.
    return _parse_range(text, _local)


@lru_cache(maxsize=4096)
def _parse_range(text: str, local: tzinfo) -> tuple[int, int] | None:
    m = _DATE.match(text.strip())
    if not m:
        return None
    try:
        y = int(m["y"])
        tz = local
        if m["tz"] == "Z":
            tz = timezone.utc
        elif m["tz"]:
            sign = 1 if m["tz"][0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(m["tz"][1:3]), minutes=int(m["tz"][4:6])))
        if m["m"] is None:
            low = datetime(y, 1, 1, tzinfo=tz)
            high = datetime(y + 1, 1, 1, tzinfo=tz) if y < 9999 else datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=tz) + _US
        elif m["d"] is None:
            mo = int(m["m"])
            low = datetime(y, mo, 1, tzinfo=tz)
            high = low + timedelta(days=calendar.monthrange(y, mo)[1])
        elif m["H"] is None:
            low = datetime(y, int(m["m"]), int(m["d"]), tzinfo=tz)
            high = low + timedelta(days=1)
        else:
            hh, mm = int(m["H"]), int(m["M"] or 0)
            if hh > 23 or mm > 59 or int(m["S"] or 0) > 60:
                return None
            base = datetime(y, int(m["m"]), int(m["d"]), tzinfo=tz)
            if m["M"] is None:
                low, high = base + timedelta(hours=hh), base + timedelta(hours=hh + 1)
            elif m["S"] is None:
                low = base + timedelta(hours=hh, minutes=mm)
                high = low + timedelta(minutes=1)
            else:
                ss = int(m["S"])
                low = base + timedelta(hours=hh, minutes=mm, seconds=ss)
                if m["f"]:
                    digits = m["f"][:6]
                    low += timedelta(microseconds=int(digits.ljust(6, "0")))
                    high = low + timedelta(microseconds=10 ** (6 - len(digits)))
                else:
                    high = low + timedelta(seconds=1)
    except (ValueError, OverflowError):
        return None
    return _us(low), _us(high) - 1


def format_instant(dt: datetime) -> str:
    """An R4 instant with millisecond precision in UTC, e.g. 2026-11-25T19:30:00.123Z."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
