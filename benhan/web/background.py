"""A background worker that lives as long as the app (the node's sync, the claims and e-invoice
outboxes, the later certificate check): started after the app's own start-up, in a worker thread
(starting may read the database), kept on ``app.state.<name>``, stopped before the app's shutdown."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool


def run_with_app(app: Starlette, name: str, start: Callable[[Any], Any]) -> None:
    """`start(store)` returns a runner with `stop()`, or None when the worker is not configured."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Starlette):  # noqa: ANN202
        async with inner(a) as state:
            runner = await run_in_threadpool(start, a.state.store)
            setattr(a.state, name, runner)
            try:
                yield state
            finally:
                if runner is not None:
                    await run_in_threadpool(runner.stop)
    app.router.lifespan_context = lifespan
