"""The outbox's worker inside `benhan serve`: every claims_interval_seconds it sends what is due
(check-ins, claims) to the configured gateway. It never dies on a failure (the outbox records it
and retries with backoff); a restart, or a kill, loses nothing (the queue is in the database)."""
from __future__ import annotations

import logging
import threading

from benhan.claims import service
from benhan.outbox.queue import Outbox

log = logging.getLogger(__name__)


class ClaimsRunner:
    def __init__(self, store, interval: float | None = None):  # noqa: ANN001 - a benhan Store
        self.store = store
        self.interval = float(interval if interval is not None else store.config.claims_interval_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="claims-outbox", daemon=True)
        self.outbox = Outbox(store.db)

    def start(self) -> "ClaimsRunner":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                gateway = service.gateway_from_config(self.store.config)
                sent = self.outbox.run_once(service.senders(gateway))
                if sent:
                    log.info("claims outbox: %d message(s) attempted", sent)
            except Exception as exc:  # noqa: BLE001 - never die; the next round tries again
                log.warning("claims outbox round failed: %s", exc)


def start_if_configured(store) -> ClaimsRunner | None:  # noqa: ANN001
    if not store.config.bhxh_gateway_url or store.config.claims_interval_seconds <= 0:
        return None
    return ClaimsRunner(store).start()
