"""The health checks of `benhan doctor` on the web: `GET /health` for a monitor (public: "ok",
"degraded" or "failing", nothing else) and `GET /ui/admin/health` with the evidence and the fixes
for the facility admin and the director.

The checks run in a worker thread, never on the event loop, one run at a time; the result is kept
for CACHE_SECONDS (a monitor polling every few seconds costs nothing). The database integrity
check (PRAGMA quick_check reads every page of a SQLite file) is kept longer, SLOW_CACHE_SECONDS.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.ops import doctor
from benhan.web.i18n import language
from benhan.web.session import session_user
from benhan.web.templates import render

CACHE_SECONDS = 60.0
SLOW_CACHE_SECONDS = 15 * 60.0
SLOW = (doctor.check_database,)
FAST = tuple(c for c in (*doctor.DB_CHECKS, *doctor.FILE_CHECKS) if c not in SLOW)
VIEWERS = frozenset({"facility_admin", "director"})


@dataclass
class _Part:
    results: list = field(default_factory=list)
    at: float = float("-inf")


@dataclass
class HealthCache:
    fast: _Part = field(default_factory=_Part)
    slow: _Part = field(default_factory=_Part)
    checked_at: object = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _cache(request: Request) -> HealthCache:
    state = request.app.state
    if getattr(state, "health_cache", None) is None:
        state.health_cache = HealthCache()
    return state.health_cache


async def report(request: Request, *, fresh: bool = False) -> doctor.Report:
    """The checks' report, from the cache when recent enough; otherwise run (in a thread)."""
    cache = _cache(request)
    store = request.app.state.store
    async with cache.lock:          # one run at a time; the others wait and take its result
        now = time.monotonic()
        for part, checks, ttl in ((cache.slow, SLOW, SLOW_CACHE_SECONDS), (cache.fast, FAST, CACHE_SECONDS)):
            if fresh or now - part.at > ttl:
                ran = await anyio.to_thread.run_sync(
                    lambda c=checks: doctor.run(store.config, db=store.db, checks=c))
                part.results, part.at = ran.results, time.monotonic()
                cache.checked_at = ran.checked_at
        results = sorted(cache.slow.results + cache.fast.results, key=_position)
        return doctor.Report(results, cache.checked_at)


_ORDER = [doctor.CHECK_IDS[c] for c in (*doctor.DB_CHECKS, *doctor.FILE_CHECKS)]


def _position(result: doctor.Result) -> int:
    head = result.id.split(".")[0]
    return _ORDER.index(head) if head in _ORDER else len(_ORDER)


async def health(request: Request) -> Response:
    """For a monitor (public, says nothing of the data): 503 "failing" while the audit trail cannot
    be written (docs/audit.md); else 200, "degraded" when a check of `benhan doctor` fails, "ok"."""
    from starlette.responses import JSONResponse
    audit = request.app.state.store.read_audit.health()
    status = "failing"
    if audit.ok:
        try:
            status = doctor.public_status(await report(request))
        except Exception:  # noqa: BLE001 - the checks themselves failing is a degraded server
            status = "degraded"
    return JSONResponse({"status": status, "audit": {"ok": audit.ok, "waiting": audit.pending}},
                        status_code=200 if audit.ok else 503)


async def page(request: Request) -> Response:
    user = session_user(request)
    if user is None:
        raise errors.Unauthenticated("log in first")
    if not VIEWERS.intersection(user.roles):
        raise errors.Forbidden("the health page is for the facility admin and the director")
    found = await report(request, fresh=request.query_params.get("refresh") == "1")
    i = 0 if language(request) == "vi" else 1
    rows = [{"id": r.id, "status": r.status, "title": r.title[i], "evidence": r.evidence[i],
             "fix": r.fix[i] if r.fix else ""} for r in found.results]
    counts = {s: sum(r.status == s for r in found.results) for s in (doctor.OK, doctor.WARN, doctor.FAIL)}
    checked_us = int(found.checked_at.timestamp() * 1_000_000) if found.checked_at else None
    return render(request, "ui/admin_health.html", rows=rows, overall=found.status, counts=counts,
                  checked_us=checked_us, exit_code=found.exit_code)


routes = [Route("/ui/admin/health", page, methods=["GET"])]
