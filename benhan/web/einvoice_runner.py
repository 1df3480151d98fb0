"""The e-invoice worker inside `benhan serve` (docs/einvoice.md): every claims_interval_seconds it
sends the e-invoices due in the outbox (what the desk's immediate send could not: a provider outage,
a restart, a kill), and with einvoice_daily_summary it queues the previous day's summary invoice
once the day is over. Nothing runs when e-invoicing is not configured; it never dies on a failure."""
from __future__ import annotations

from datetime import datetime, timedelta

from starlette.applications import Starlette

from benhan.auth.actor import Actor
from benhan.web.lazy import lazy_module
from benhan.claims.service import seal_key
from benhan.clinical.visits import facility
from benhan.fhir.datetimes import parse_zone
from benhan.outbox.queue import Outbox, utcnow
from benhan.store.repository import Repository
from benhan.web.background import PeriodicRunner, run_with_app

service = lazy_module("benhan.billing.einvoice.service")   # the PDF stack at first use (web/lazy.py)


class EInvoiceRunner(PeriodicRunner):
    thread_name = "einvoice-outbox"

    def __init__(self, store, interval: float | None = None):  # noqa: ANN001 - a benhan Store
        self.store = store
        super().__init__(interval if interval is not None else store.config.claims_interval_seconds)
        self.outbox = Outbox(store.db)

    def round(self, moment: datetime | None = None) -> int:
        """One round: yesterday's summary when due, then what is due; how many sends were attempted."""
        cfg = self.store.config
        if cfg.einvoice_daily_summary:
            repo = Repository(self.store, Actor.system("einvoice-runner"))
            settings = service.settings_from(cfg, facility(repo, cfg.values.get("facility_name")).name)
            zone = parse_zone(cfg.timezone)
            yesterday = (moment or utcnow()).astimezone(zone).date() - timedelta(days=1)
            if settings is not None and self.outbox.by_key(service.daily_key(yesterday)) is None:
                service.daily_summary(repo, self.outbox, settings, seal_key(cfg), yesterday, zone)
        return service.send_due(self.outbox, service.provider_from_config(cfg))


def start_if_configured(store) -> EInvoiceRunner | None:  # noqa: ANN001
    cfg = store.config
    if not cfg.einvoice_provider_url or cfg.claims_interval_seconds <= 0:
        return None
    return EInvoiceRunner(store).start()


def install(app: Starlette) -> None:
    run_with_app(app, "einvoice_runner", start_if_configured)
