"""How far this PC's clock is from the hub's (for `benhan doctor`).

The hub answers GET /health without credentials, and every answer carries the HTTP `Date` header
(uvicorn sets it; one-second resolution). The offset is the hub's time minus the midpoint of the
request on this clock, so a slow link does not count as skew. Signatures, tokens (a node's
assertion lives four minutes) and the order of events at the hub all go wrong with a clock that is
minutes off; an old PC without NTP drifts by that much in weeks.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from benhan.sync.transport import CONNECT_TIMEOUT_S, trust


@dataclass(frozen=True)
class HubClock:
    offset_seconds: float       # hub − this PC (positive: this PC is behind)
    round_trip_seconds: float


def hub_offset(hub_url: str, ca_file: Path | None = None, timeout: float = CONNECT_TIMEOUT_S,
               now=time.time) -> HubClock:  # noqa: ANN001 - a clock, injectable for tests
    """The hub's clock minus ours; raises RuntimeError with one line when the hub cannot tell."""
    url = hub_url.rstrip("/") + "/health"
    try:
        with httpx.Client(timeout=timeout, verify=trust(ca_file)) as http:
            sent = now()
            response = http.get(url)
            received = now()
    except httpx.HTTPError as exc:
        raise RuntimeError(f"{url}: {type(exc).__name__}: {exc}") from None
    header = response.headers.get("date")
    if not header:
        raise RuntimeError(f"{url} answered without a Date header")
    try:
        hub = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        raise RuntimeError(f"{url}: unreadable Date header {header!r}") from None
    # The Date header is truncated to the second: +0.5 s is its expected position within it.
    return HubClock(hub + 0.5 - (sent + received) / 2, received - sent)
