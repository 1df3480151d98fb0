"""Clinical acts a type's letters cannot express, held on every write path.

A nurse updates Encounters (location, status) and the front desk creates them, yet recording the
treatment result, the disposition or a death is the doctor's discharge (auth.roles.DISCHARGE). The
clinician app shows those controls only to a doctor; this module makes the store refuse the same
change from the FHIR API, a batch or a PATCH, whoever sends it.

A rule names an act, a resource type and the part of a body that only that act may change (a
projection). The layer that knows the clinical meaning installs the rules (benhan.clinical, at
import; store may not import it); the repository calls `check` for each write of an actor whose
Access lists its acts (a user; backend systems and sync are governed by their scopes alone).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from benhan import errors


@dataclass(frozen=True)
class ActRule:
    act: str
    res_type: str
    projection: Callable[[dict], Any]       # the part of a body only `act` may change
    what: str                               # what that part is, for the refusal: "the treatment result"


_RULES: list[ActRule] = []


def install(rule: ActRule) -> None:
    if rule not in _RULES:
        _RULES.append(rule)


def guarded(res_type: str, acts: frozenset[str]) -> list[ActRule]:
    """The rules on this type whose act the actor does not hold."""
    return [r for r in _RULES if r.res_type == res_type and r.act not in acts]


def check(rules: list[ActRule], res_type: str, res_id: str, old: dict | None, new: dict | None) -> None:
    """403 (Forbidden) when the write changes a part only an act the actor lacks may change."""
    for rule in rules:
        before = rule.projection(old) if old is not None else rule.projection({})
        after = rule.projection(new) if new is not None else before
        if before != after:
            raise errors.Forbidden(f"{res_type}/{res_id}: {rule.what} is recorded by the act '{rule.act}', "
                                   f"which your role does not have", expression=res_type)
