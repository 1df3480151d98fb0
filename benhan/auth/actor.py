"""Who is acting. Every repository call takes an Actor; the audit trail records it.

`access` is what the actor may do (store.access.Access, built by auth.policy from the user's roles
and the token's scopes); None means unrestricted: the server itself, the command line, sync."""
from __future__ import annotations

from dataclasses import dataclass

from benhan.store.access import Access


@dataclass(frozen=True)
class Actor:
    name: str                       # user name, client id or 'system'
    kind: str = "user"              # user, client, system, node
    source_address: str | None = None
    access: Access | None = None
    roles: tuple[str, ...] = ()
    client_id: str | None = None    # the OAuth client a request came through
    user_pk: int | None = None
    display: str | None = None      # the person's name, for the audit trail

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(name=name, kind="system")
