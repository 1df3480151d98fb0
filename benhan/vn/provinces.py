"""Province codes as the identity documents use them.

CCCD numbers (digits 1–3) and legacy BHYT card numbers (characters 4–5) carry the code of the
province as it was when the number was issued: one of the 63 provinces of the pre-2025 list
(QĐ 124/2004/QĐ-TTg scheme). The 34 provinces of 2025 kept the code of one of the merged provinces
(QĐ 19/2025/QĐ-TTg), so every current code is also an old one, and an old number stays valid after
the merger (vietnam.md §4.1). The list comes from the packaged terminology data, so that the
validators and the code systems cannot disagree.
"""
from __future__ import annotations

from functools import lru_cache

from benhan.terminology import sources


@lru_cache(maxsize=1)
def old_provinces() -> dict[str, str]:
    """2-digit code → name of the 63 provinces in force before 01/07/2025."""
    return {r["old_province_code"]: r["old_province_name"]
            for r in sources.rows(sources.PROVINCE_CONVERSION_2025)}


@lru_cache(maxsize=1)
def new_province_of() -> dict[str, str]:
    """Old 2-digit province code → the code of the province it became part of on 01/07/2025."""
    return {r["old_province_code"]: r["new_province_code"] for r in sources.rows(sources.PROVINCE_CONVERSION_2025)}


def province_name(code: str) -> str | None:
    """The old province of a 2- or 3-digit code (CCCD writes 001 for 01), or None."""
    if len(code) == 3 and code.startswith("0"):
        code = code[1:]
    return old_provinces().get(code)
