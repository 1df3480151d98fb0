"""The Vietnamese identifier rules every write of a Patient obeys (store.write_rules enforces them
on the one write path; this module, which knows the formats from benhan.vn, installs them).

The same checks the registration desk makes on the number alone: a CCCD is 12 digits whose first
three are a province code and whose year of birth is not in the future; a BHYT card number has one
of its three forms, written as on the card without spaces or dashes. Each value is one person's:
one current (active, not replaced) Patient holds it. Whether the CCCD agrees with the Patient's
birth date and sex stays a desk check (the API takes records from other systems as they are).
"""
from __future__ import annotations

from benhan.store.write_rules import IdentifierRule, install
from benhan.vn.bhyt import bhyt_problems, normalize
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, cccd_problems


def _bhyt(value: str) -> list[str]:
    problems = bhyt_problems(value)
    if not problems and normalize(value) != value:
        problems = [f"write the card number as printed, without spaces or dashes: {normalize(value)}"]
    return problems


RULES = (IdentifierRule(CCCD_SYSTEM, "CCCD", lambda value: cccd_problems(value)),
         IdentifierRule(BHYT_SYSTEM, "BHYT", _bhyt))


def install_rules() -> None:
    for rule in RULES:
        install(rule)
