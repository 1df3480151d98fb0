"""Runs the later certificate check of offline signatures (documents/recheck.py) with the app, every
signing_recheck_minutes, like the node's sync and the claims worker. A round with nothing pending is
one search; 0 minutes turns it off (then `benhan sign recheck` from cron does the work)."""
from __future__ import annotations

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool


def start_if_configured(store):  # noqa: ANN001, ANN201
    minutes = int(store.config.signing_recheck_minutes)
    if minutes <= 0:
        return None
    from benhan.documents.recheck import RecheckRunner
    from benhan.signing import trust
    return RecheckRunner(store, lambda: trust.load(store.config.trust_dir), interval=minutes * 60.0).start()


def install(app: Starlette) -> None:
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Starlette):  # noqa: ANN202
        async with inner(a) as state:
            runner = await run_in_threadpool(start_if_configured, a.state.store)
            a.state.recheck_runner = runner
            try:
                yield state
            finally:
                if runner is not None:
                    await run_in_threadpool(runner.stop)
    app.router.lifespan_context = lifespan
