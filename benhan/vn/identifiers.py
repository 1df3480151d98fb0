"""Vietnamese identifier systems (VN Core NamingSystems, ../shared/vietnam.md §2.2) and the
12-digit personal ID (CCCD, §4.1).

A CCCD has no check digit: what can be checked is its shape, the province code of digits 1–3, and
that digits 4–6 (century + sex, year of birth) agree with the person. Each check gives its own reason,
so a registration clerk sees which digit is wrong rather than "invalid".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from benhan.vn.provinces import province_name

CCCD_SYSTEM = "http://fhir.hl7.org.vn/core/sid/cccd"
BHYT_SYSTEM = "http://fhir.hl7.org.vn/core/sid/bhyt"
CCHN_SYSTEM = "http://fhir.hl7.org.vn/core/sid/cchn"
MA_LK_SYSTEM = "http://fhir.hl7.org.vn/core/sid/ma-lk"

_CCCD = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class CccdInfo:
    """What the first six digits of a CCCD say."""
    province_code: str      # 3 digits, e.g. "001"
    province: str | None    # its name in the pre-2025 list, None when unknown
    female: bool
    birth_year: int


def cccd_century_sex_digit(birth: date, female: bool) -> int:
    """Digit 4 of a CCCD: 0/1 for 1900s male/female, 2/3 for 2000s, and so on each century."""
    century = birth.year // 100 - 19
    if not 0 <= century <= 4:
        raise ValueError(f"no CCCD century code for {birth.year}")
    return century * 2 + (1 if female else 0)


def make_cccd(province_code: str, birth: date, female: bool, serial: int) -> str:
    return f"{province_code:0>3}{cccd_century_sex_digit(birth, female)}{birth.year % 100:02d}{serial % 1_000_000:06d}"


def parse_cccd(number: str) -> CccdInfo | None:
    """The province, sex and birth year a CCCD encodes; None when it is not 12 digits."""
    if not _CCCD.match(number or ""):
        return None
    d4 = int(number[3])
    return CccdInfo(number[:3], province_name(number[:3]), bool(d4 % 2),
                    1900 + 100 * (d4 // 2) + int(number[4:6]))


def cccd_problems(number: str, birth: date | None = None, female: bool | None = None,
                  *, today: date | None = None) -> list[str]:
    """Why a CCCD number is not valid (for this birth date and sex, when given); [] when it is."""
    if not isinstance(number, str) or not _CCCD.match(number):
        return ["a CCCD number is exactly 12 digits"]
    info = parse_cccd(number)
    assert info is not None
    problems = []
    if info.province is None:
        problems.append(f"digits 1–3 ({number[:3]}) are not the code of a province of birth registration")
    if info.birth_year > (today or date.today()).year:
        problems.append(f"digits 4–6 give a year of birth in the future ({info.birth_year})")
    if birth is not None:
        try:
            cccd_century_sex_digit(birth, bool(female))
        except ValueError as exc:
            return problems + [str(exc)]
        if info.birth_year // 100 != birth.year // 100:
            problems.append(f"digit 4 ({number[3]}) is for someone born in the {info.birth_year // 100 * 100}s, "
                            f"not {birth.year}")
        if number[4:6] != f"{birth.year % 100:02d}":
            problems.append(f"digits 5–6 ({number[4:6]}) are not the year of birth ({birth.year % 100:02d})")
    if female is not None and info.female != female:
        problems.append(f"digit 4 ({number[3]}) is for a {'woman' if info.female else 'man'} "
                        f"(even: male, odd: female)")
    return problems
