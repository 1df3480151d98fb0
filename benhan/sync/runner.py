"""Background sync on a node: a round every sync_interval_seconds; after a failure, retry with
exponential backoff (2 s, 4 s, 8 s … up to 5 minutes, with jitter) until the hub answers again;
"sync now" wakes it at once. It never gives up: a node offline for a week catches up by itself."""
from __future__ import annotations

import logging
import random
import threading

from benhan.store.store import Store
from benhan.sync.node import NodeSync

log = logging.getLogger(__name__)
FIRST_RETRY_S = 2.0
MAX_BACKOFF_S = 300.0


class SyncRunner:
    def __init__(self, store: Store, *, interval: float | None = None, make=None):  # noqa: ANN001
        self.store = store
        self.interval = float(interval if interval is not None else store.config.sync_interval_seconds)
        self._make = make or (lambda: NodeSync.from_settings(store))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
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
        self._thread.join(timeout=30)

    def delay(self) -> float:
        if not self.failures:
            return self.interval
        # Jitter: nodes cut off by the same outage do not all come back in the same second.
        return min(MAX_BACKOFF_S, FIRST_RETRY_S * 2 ** (self.failures - 1)) * random.uniform(0.5, 1.0)

    def _run(self) -> None:
        node: NodeSync | None = None
        while not self._stop.is_set():
            try:
                node = node or self._make()
                result = node.round()
                self.failures = 0
                self.rounds += 1
                log.info("sync round: pushed %d, pulled %d in %.1f s", result.pushed, result.pulled, result.seconds)
            except Exception as exc:  # noqa: BLE001 - any failure: retry later, never die
                self.failures += 1
                log.warning("sync round failed (%d in a row): %s", self.failures, exc)
            self._wake.wait(self.delay())
            self._wake.clear()
        if node is not None:
            node.hub.close()
