"""The lab-order worker inside `benhan serve` (docs/lab.md, "Orders to the analyser"): every
claims_interval_seconds it sends the ORM^O01 messages due in the outbox to `lab_orm_address`
(the first send after a collection, and the retries after the LIS was down). Nothing runs when no
address is set; it never dies on a failure."""
from __future__ import annotations

from starlette.applications import Starlette

from benhan.lab import orm
from benhan.outbox.queue import Outbox
from benhan.web.background import PeriodicRunner, run_with_app


class OrmRunner(PeriodicRunner):
    thread_name = "lab-orm-outbox"
    join_seconds = 60

    def __init__(self, store, interval: float | None = None):  # noqa: ANN001 - a benhan Store
        self.store = store
        super().__init__(interval if interval is not None else store.config.claims_interval_seconds)
        self.outbox = Outbox(store.db)

    def round(self) -> int:
        """Send what is due; how many sends were attempted."""
        return orm.send_due(self.outbox, self.store.config)


def start_if_configured(store) -> OrmRunner | None:  # noqa: ANN001
    if orm.address(store.config) is None or store.config.claims_interval_seconds <= 0:
        return None
    return OrmRunner(store).start()


def install(app: Starlette) -> None:
    run_with_app(app, "orm_runner", start_if_configured)
