"""BHYT (health insurance) card numbers, vietnam.md §4.3.

Three forms are in use, and a registration desk meets all of them:
- the legacy 15-character code: beneficiary group (2 letters), benefit level (1–5), issuing
  province (2 digits), then the lifelong 10-digit BHXH number — `HT4790123456789`;
- the 2021 card, which prints only the 10-digit BHXH number;
- since NĐ 188/2025 (15/08/2025) the 12-digit CCCD serves as the card number.
None has a check digit, so validation checks the structure and what the parts must mean; the
card's validity and benefits come from the BHXH gateway, not from the number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from benhan.terminology.curated import GROUP_LEVEL
from benhan.vn.identifiers import cccd_problems
from benhan.vn.provinces import old_provinces

LEGACY = "legacy-15"
BHXH_NUMBER = "bhxh-10"
CCCD = "cccd-12"

_LEGACY = re.compile(r"^([A-Z]{2})(\d)(\d{2})(\d{10})$")
# Cards of the armed forces' own social-security funds carry these in place of a province
# (BHXH Bộ Quốc phòng 97, BHXH Công an nhân dân 98): seen on public card images, not in a decision.
ARMED_FORCES_FUNDS = {"97", "98"}
LEVEL_5_GROUPS = {"QN", "CA", "CY"}     # vietnam.md §4.3: level 5 is for these groups only


@dataclass(frozen=True)
class BhytNumber:
    form: str                   # LEGACY, BHXH_NUMBER or CCCD
    number: str
    group: str | None = None    # legacy only
    level: int | None = None
    province: str | None = None
    bhxh_number: str | None = None


def normalize(number: str) -> str:
    """Upper case without spaces or dashes, as clerks type it off a card."""
    return re.sub(r"[\s\-.]", "", number or "").upper()


def parse_bhyt(number: str) -> BhytNumber | None:
    """The form and parts of a card number (normalized first), or None if it has none of the shapes."""
    n = normalize(number)
    m = _LEGACY.match(n)
    if m:
        return BhytNumber(LEGACY, n, m.group(1), int(m.group(2)), m.group(3), m.group(4))
    if re.fullmatch(r"\d{10}", n):
        return BhytNumber(BHXH_NUMBER, n, bhxh_number=n)
    if re.fullmatch(r"\d{12}", n):
        return BhytNumber(CCCD, n)
    return None


def bhyt_problems(number: str) -> list[str]:
    """Why this is not a BHYT card number in a current form; [] when it is."""
    if not isinstance(number, str) or not number.strip():
        return ["a BHYT card number is required"]
    parsed = parse_bhyt(number)
    if parsed is None:
        return ["a BHYT card number is 15 characters (2 letters, 13 digits, e.g. HT4790123456789), "
                "the 10-digit BHXH number, or the 12-digit CCCD"]
    if parsed.form == CCCD:
        return [f"as a CCCD: {p}" for p in cccd_problems(parsed.number)]
    if parsed.form == BHXH_NUMBER:
        return []
    problems = []
    if parsed.group not in GROUP_LEVEL:
        problems.append(f"characters 1–2 ({parsed.group}) are not a known beneficiary group")
    if not 1 <= (parsed.level or 0) <= 5:
        problems.append(f"character 3 ({parsed.level}) is not a benefit level (1–5)")
    elif parsed.level == 5 and parsed.group in GROUP_LEVEL and parsed.group not in LEVEL_5_GROUPS:
        problems.append(f"benefit level 5 is only for the armed forces and cipher staff (QN, CA, CY), "
                        f"not {parsed.group}")
    elif parsed.group in LEVEL_5_GROUPS and parsed.level != 5:
        problems.append(f"group {parsed.group} has benefit level 5, not {parsed.level}")
    if parsed.province not in old_provinces() and parsed.province not in ARMED_FORCES_FUNDS:
        problems.append(f"characters 4–5 ({parsed.province}) are not the code of an issuing province")
    return problems


def make_legacy_bhyt(group: str, province: str, bhxh_number: str) -> str:
    """A 15-character card number with the group's usual benefit level."""
    return f"{group}{GROUP_LEVEL[group]}{province}{bhxh_number}"
