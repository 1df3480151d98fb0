"""A background worker that lives as long as the app (the node's sync, the claims and e-invoice
outboxes, the later certificate check): started after the app's own start-up, in a worker thread
(starting may read the database), kept on ``app.state.<name>``, stopped before the app's shutdown.

With `serve --workers N` the background workers run in one of the N processes only, the one holding
the data folder's `background.lock` (take_background_lock): two node syncs pushing and pulling the
same cursors, two lab listeners on one port or two outbox workers would do the work twice or fail.
When that process ends, uvicorn starts a replacement, which takes the lock the kernel released."""
from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool


def run_with_app(app: Starlette, name: str, start: Callable[[Any], Any]) -> None:
    """`start(store)` returns a runner with `stop()`, or None when the worker is not configured."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Starlette):  # noqa: ANN202
        async with inner(a) as state:
            runs = getattr(a.state, "background_leader", True)
            runner = await run_in_threadpool(start, a.state.store) if runs else None
            setattr(a.state, name, runner)
            try:
                yield state
            finally:
                if runner is not None:
                    await run_in_threadpool(runner.stop)
    app.router.lifespan_context = lifespan


_LOCK_FILE = "background.lock"
_held: list[int] = []          # the lock's file descriptor, open for the life of the process


def take_background_lock(data_dir: Path) -> bool:
    """True when this process now holds the data folder's background lock (it runs the background
    workers); False when another process of the same server holds it."""
    import fcntl
    import os
    fd = os.open(Path(data_dir) / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _held.append(fd)
    return True


class PeriodicRunner(abc.ABC):
    """A daemon thread calling `round()` every `interval` seconds until `stop()`: the outbox workers
    (e-invoices, SMS reminders, lab orders). A failed round is logged and the next one tries again —
    a worker never dies of a provider's outage."""
    thread_name = "benhan-worker"
    join_seconds = 30

    def __init__(self, interval: float) -> None:
        self.interval = float(interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self):  # noqa: ANN201 - the runner itself, for `Runner(store).start()`
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.join_seconds)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.round()
            except Exception as exc:  # noqa: BLE001 - never die; the next round tries again
                logging.getLogger(type(self).__module__).warning("%s round failed: %s", self.thread_name, exc)

    @abc.abstractmethod
    def round(self) -> Any:
        """One pass: what is due is sent."""
