"""The lab-order worker inside `benhan serve` (docs/lab.md, "Orders to the analyser"): every
claims_interval_seconds it sends the ORM^O01 messages due in the outbox to `lab_orm_address`
(the first send after a collection, and the retries after the LIS was down). Nothing runs when no
address is set; it never dies on a failure."""
from __future__ import annotations

import logging
import threading

from starlette.applications import Starlette

from benhan.lab import orm
from benhan.outbox.queue import Outbox
from benhan.web.background import run_with_app

log = logging.getLogger(__name__)


class OrmRunner:
    def __init__(self, store, interval: float | None = None):  # noqa: ANN001 - a benhan Store
        self.store = store
        self.interval = float(interval if interval is not None else store.config.claims_interval_seconds)
        self.outbox = Outbox(store.db)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-orm-outbox", daemon=True)

    def start(self) -> "OrmRunner":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.round()
            except Exception as exc:  # noqa: BLE001 - never die; the next round tries again
                log.warning("lab order outbox round failed: %s", exc)

    def round(self) -> int:
        """Send what is due; how many sends were attempted."""
        return orm.send_due(self.outbox, self.store.config)


def start_if_configured(store) -> OrmRunner | None:  # noqa: ANN001
    if orm.address(store.config) is None or store.config.claims_interval_seconds <= 0:
        return None
    return OrmRunner(store).start()


def install(app: Starlette) -> None:
    run_with_app(app, "orm_runner", start_if_configured)
