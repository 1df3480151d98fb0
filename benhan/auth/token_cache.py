"""What a bearer token resolved to (its Actor), kept for at most TTL_SECONDS per server process.

Resolving a token takes the token and client rows, the user and their break-the-glass grants and
builds the access context: database reads and a trip to a worker thread on every request, most of
a read by id's cost. A resolved Actor is kept, under the token's SHA-256 and the client's address,
and used again while all of these hold:
- it is younger than TTL_SECONDS (1 s): anything changed by another process (a second `--workers`
  process, `benhan token revoke` / `benhan user disable` on the command line), an access-hours
  window that has just closed, a break-the-glass grant that has just expired, takes effect within
  that second;
- no credential has changed in this process since it was resolved (store.credential_epoch: a
  revocation, a client disabled, any change to a user's account or roles, a grant opened): those
  made through this server take effect on the next request;
- the token has not expired (checked on every use).
Only tokens that resolved to an Actor are kept: an unknown or refused token is looked up every
time, as before. The cache is per application (one store) and bounded in size.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benhan.auth.actor import Actor
from benhan.store import credential_epoch

TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000


class TokenActorCache:
    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_ENTRIES):
        self.ttl = ttl
        self.clock = clock              # tests move it forward instead of sleeping
        self.max_entries = max_entries
        # key → (actor, deadline on `clock`, token expiry µs, credential epoch when resolving began)
        self._entries: dict[Any, tuple[Actor, float, int, int]] = {}

    def get(self, key: Any) -> Actor | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        actor, deadline, expires_us, epoch = entry
        if epoch != credential_epoch.value() or self.clock() >= deadline or expires_us <= time.time_ns() // 1000:
            self._entries.pop(key, None)
            return None
        return actor

    @staticmethod
    def epoch() -> int:
        """Note this before reading the database for an entry, and give it to put()."""
        return credential_epoch.value()

    def put(self, key: Any, actor: Actor, expires_us: int, epoch: int, started: float) -> None:
        """`started`: `clock()` before the database was read (the entry's age counts from then)."""
        if epoch != credential_epoch.value():
            return                      # something changed while it was being resolved
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (actor, started + self.ttl, expires_us, epoch)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
