"""pyHanko's API is asynchronous; benhan's signing code is called from plain threads (a web handler
in the thread pool, the CLI) and sometimes from a thread that already runs an event loop (a test
driving a browser with Playwright's sync API). `run` works in both."""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:     # a loop runs here: use a thread of our own
        return pool.submit(asyncio.run, coro).result()
