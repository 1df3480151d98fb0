"""Per-user access time windows, e.g. "Mon-Sat 07:00-17:30" or "Mon-Fri 07:00-12:00; Sat 07:00-11:00",
in the facility's local time (the `timezone` setting). Empty: any time."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from benhan import errors

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WINDOW = re.compile(r"^\s*([A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?(?:\s*,\s*[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?)*)"
                     r"\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]   # 0 = Monday
    start: time
    end: time


def _days(spec: str) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        ends = [p.strip().lower() for p in part.split("-")]
        if any(e not in DAYS for e in ends):
            raise errors.InvalidUserSetting(f"unknown day in {spec!r} (use Mon Tue Wed Thu Fri Sat Sun)")
        a, b = DAYS.index(ends[0]), DAYS.index(ends[-1])
        out |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
    return out


def parse(text: str | None) -> list[Window]:
    if not text or not text.strip():
        return []
    windows = []
    for chunk in text.split(";"):
        m = _WINDOW.match(chunk)
        if not m:
            raise errors.InvalidUserSetting(
                f"access hours {chunk.strip()!r} are not like 'Mon-Sat 07:00-17:30'")
        h1, m1, h2, m2 = (int(x) for x in m.group(2, 3, 4, 5))
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise errors.InvalidUserSetting(f"access hours {chunk.strip()!r}: no such time of day")
        end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
        if end <= time(h1, m1):
            raise errors.InvalidUserSetting(f"access hours {chunk.strip()!r}: the window ends before it starts")
        windows.append(Window(frozenset(_days(m.group(1))), time(h1, m1), end))
    return windows


def zone(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def allows(text: str | None, at_us: int, tz_offset: str) -> bool:
    windows = parse(text)
    if not windows:
        return True
    local = datetime.fromtimestamp(at_us / 1e6, zone(tz_offset))
    t = local.time().replace(tzinfo=None)
    return any(local.weekday() in w.days and w.start <= t < w.end for w in windows)
