"""Background sync on a node: a round every sync_interval_seconds; after a failure, retry with
exponential backoff (2 s, 4 s, 8 s … up to 5 minutes, with jitter) until the hub answers again;
"sync now" wakes it at once. It never gives up: a node offline for a week catches up by itself.

Backoff measures how long the hub has been unreachable, so it starts again from the first retry
whenever a round made progress (a batch acknowledged, a page applied) even if a later transfer in
the same round was cut: the link works, and waiting minutes on it would only delay the catch-up."""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from benhan.store.store import Store
from benhan.sync.node import NodeSync, RoundResult

log = logging.getLogger(__name__)
FIRST_RETRY_S = 2.0
MAX_BACKOFF_S = 300.0


def backoff(failures: int, jitter: float) -> float:
    """The pause after `failures` failed rounds in a row without progress; jitter in [0.5, 1]."""
    return min(MAX_BACKOFF_S, FIRST_RETRY_S * 2 ** (failures - 1)) * jitter


class SyncRunner:
    """`wait(seconds)` pauses between rounds and returns early on "sync now" or stop; tests inject
    their own (and `jitter`) to follow the schedule without sleeping."""

    def __init__(self, store: Store, *, interval: float | None = None, make=None,  # noqa: ANN001
                 wait: Callable[[float], None] | None = None, jitter: Callable[[], float] | None = None):
        self.store = store
        self.interval = float(interval if interval is not None else store.config.sync_interval_seconds)
        self._make = make or (lambda: NodeSync.from_settings(store))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._wait = wait or self._wait_for_wake
        # Jitter: nodes cut off by the same outage do not all come back in the same second.
        self._jitter = jitter or (lambda: random.uniform(0.5, 1.0))
        self._thread = threading.Thread(target=self.run, name="sync", daemon=True)
        self.failures = 0
        self.rounds = 0

    def start(self) -> "SyncRunner":
        self._thread.start()
        return self

    def sync_now(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def delay(self) -> float:
        if not self.failures:
            return self.interval
        return backoff(self.failures, self._jitter())

    def _wait_for_wake(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def run_round(self, node: NodeSync) -> None:
        """One round and its bookkeeping: failures count rounds in a row that made no progress."""
        result = RoundResult()
        try:
            node.round(result)
        except Exception as exc:  # noqa: BLE001 - any failure: retry later, never die
            progressed = result.batches > 0 or result.pages > 0
            self.failures = 1 if progressed else self.failures + 1
            log.warning("sync round failed (%d in a row%s): %s", self.failures,
                        ", after progress" if progressed else "", exc)
            return
        self.failures = 0
        self.rounds += 1
        log.info("sync round: pushed %d, pulled %d in %.1f s", result.pushed, result.pulled, result.seconds)

    def run(self) -> None:
        """The loop (start() runs it in a background thread), until stop()."""
        node: NodeSync | None = None
        while not self._stop.is_set():
            try:
                node = node or self._make()
            except Exception as exc:  # noqa: BLE001 - not enrolled yet, key unreadable …: retry later
                self.failures += 1
                log.warning("sync not ready (%d in a row): %s", self.failures, exc)
            else:
                self.run_round(node)
            if self._stop.is_set():
                break
            self._wait(self.delay())
        if node is not None:
            node.hub.close()
