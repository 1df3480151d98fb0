"""Runs the claims outbox worker (benhan/claims/runner.py) with the app, like the node's sync."""
from __future__ import annotations

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool


def install(app: Starlette) -> None:
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Starlette):  # noqa: ANN202
        from benhan.claims.runner import start_if_configured
        async with inner(a) as state:
            runner = await run_in_threadpool(start_if_configured, a.state.store)
            a.state.claims_runner = runner
            try:
                yield state
            finally:
                if runner is not None:
                    await run_in_threadpool(runner.stop)
    app.router.lifespan_context = lifespan
