"""Who is acting. Every repository call takes an Actor; the audit trail records it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str                       # user name, client id or 'system'
    kind: str = "user"              # user, client, system, node
    source_address: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(name=name, kind="system")
