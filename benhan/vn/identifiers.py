"""Vietnamese identifier systems (VN Core NamingSystems, ../shared/vietnam.md §2.2) and the
12-digit personal ID (CCCD, §4.1)."""
from __future__ import annotations

import re
from datetime import date

CCCD_SYSTEM = "http://fhir.hl7.org.vn/core/sid/cccd"
BHYT_SYSTEM = "http://fhir.hl7.org.vn/core/sid/bhyt"
CCHN_SYSTEM = "http://fhir.hl7.org.vn/core/sid/cchn"
MA_LK_SYSTEM = "http://fhir.hl7.org.vn/core/sid/ma-lk"

_CCCD = re.compile(r"^\d{12}$")


def cccd_century_sex_digit(birth: date, female: bool) -> int:
    """Digit 4 of a CCCD: 0/1 for 1900s male/female, 2/3 for 2000s, and so on each century."""
    century = birth.year // 100 - 19
    if not 0 <= century <= 4:
        raise ValueError(f"no CCCD century code for {birth.year}")
    return century * 2 + (1 if female else 0)


def make_cccd(province_code: str, birth: date, female: bool, serial: int) -> str:
    return f"{province_code:0>3}{cccd_century_sex_digit(birth, female)}{birth.year % 100:02d}{serial % 1_000_000:06d}"


def cccd_problems(number: str, birth: date | None = None, female: bool | None = None) -> list[str]:
    """Why a CCCD number is not valid (for this birth date and sex, when given); [] when it is."""
    if not _CCCD.match(number or ""):
        return ["a CCCD number is exactly 12 digits"]
    problems = []
    if birth is not None and female is not None:
        try:
            expected = cccd_century_sex_digit(birth, female)
        except ValueError as exc:
            return [str(exc)]
        if int(number[3]) != expected:
            problems.append("digit 4 does not match the century of birth and sex")
        if number[4:6] != f"{birth.year % 100:02d}":
            problems.append("digits 5–6 do not match the year of birth")
    return problems
