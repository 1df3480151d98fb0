"""Vietnamese telephone numbers, in the 10-digit mobile plan of 2018 (Bộ TT&TT's conversion of the
11-digit mobile numbers, completed 15/11/2018) and the landline plan of 2017 (area code 02x…).

Mobile: 0 + a 2-digit network prefix + 7 digits. The prefixes below are those assigned to the
networks (Viettel, VinaPhone, MobiFone, Vietnamobile, Gmobile, Itelecom, Reddi and other MVNOs) at
the time of writing — a list curated by us from the operators' public announcements; numbers move
between networks (portability), so the prefix does not say which network a number is on.
Landline: 02 + area code + subscriber number, 11 digits in all.
Written as +84 or 84 without the leading 0 in international form.
"""
from __future__ import annotations

import re

MOBILE_PREFIXES = frozenset({
    "032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098",   # Viettel
    "081", "082", "083", "084", "085", "088", "091", "094",                               # VinaPhone
    "070", "076", "077", "078", "079", "089", "090", "093",                               # MobiFone
    "052", "056", "058", "092",                                                           # Vietnamobile
    "059", "099",                                                                         # Gmobile
    "087", "055",                                                                         # Itelecom, Reddi
})


def normalize_phone(number: str) -> str:
    """The national form: digits only, leading 0; +84 / 84 / 0084 become 0."""
    digits = re.sub(r"[\s\-.()]", "", number or "")
    for prefix in ("+84", "0084"):
        if digits.startswith(prefix):
            return "0" + digits[len(prefix):]
    if digits.startswith("84") and len(digits) in (11, 12):
        return "0" + digits[2:]
    return digits


def phone_problems(number: str, *, mobile_only: bool = False) -> list[str]:
    """Why this is not a Vietnamese telephone number; [] when it is."""
    n = normalize_phone(number)
    if not n.isdigit():
        return ["a telephone number has only digits (and optionally +84, spaces, dashes)"]
    if not n.startswith("0"):
        return ["a Vietnamese telephone number starts with 0 (or +84)"]
    if n.startswith("02") and not mobile_only:
        return [] if len(n) == 11 else ["a landline number (02…) has 11 digits with its area code"]
    if len(n) != 10:
        return [f"a mobile number has 10 digits, this has {len(n)}"]
    if n[:3] not in MOBILE_PREFIXES:
        return [f"{n[:3]} is not a mobile network prefix"]
    return []
