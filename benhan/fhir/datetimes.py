"""FHIR date, dateTime and instant values as ranges.

A FHIR date is a period at its own precision: ``2024-03`` is the whole of March 2024
(http://hl7.org/fhir/R4/search.html#date). Each value becomes [low, high] in whole microseconds
since the Unix epoch, UTC, inclusive at both ends. A time without a zone is read as UTC (the
server's reference clock); Vietnamese facilities send +07:00 and are handled exactly.
"""
from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

MIN_US = -(2**62)
MAX_US = 2**62

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def _us(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def parse_range(text: str) -> tuple[int, int] | None:
    """[low, high] of a FHIR date/dateTime/instant string, or None when it is not one."""
    m = _DATE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    try:
        y = int(m["y"])
        tz = timezone.utc
        if m["tz"] and m["tz"] != "Z":
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
