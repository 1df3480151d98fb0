"""The outbox's worker inside `benhan serve`: every claims_interval_seconds it sends what is due
(check-ins, claims) to the configured gateway. It never dies on a failure (the outbox records it
and retries with backoff); a restart, or a kill, loses nothing (the queue is in the database).

It also queues the claims itself (issue 15: nothing typed again): every SCAN_SECONDS it looks at
the BHYT visits finished in the last LOOKBACK_DAYS and queues each one that validates, when the
seal is configured. Here rather than where a visit is closed: closing never fails because of a
claim, every way a visit ends (the web, the API, sync) is covered, and a round missed (a restart,
the seal set later) is caught up by the next. A visit that does not validate is left for the BHYT
desk (web/ui/claims_desk.py), which shows its report.

Before that, every CHECKIN_SECONDS, it checks in (XML0) the BHYT visits that have had their first
cost (claims/checkin.py): once per visit and visit type, whatever the restarts."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from benhan import errors
from benhan.auth.actor import Actor
from benhan.claims import checkin, service
from benhan.fhir.datetimes import parse_zone
from benhan.outbox.queue import Outbox, utcnow
from benhan.store.repository import Repository

log = logging.getLogger(__name__)
SCAN_SECONDS = 600.0      # a finished visit is queued within ten minutes; its claim is due in 24 h
LOOKBACK_DAYS = 2
# The check-in is a status message due at the first cost: looked for more often than the claims, so
# the gateway hears of a visit within a few minutes of its first chargeable item.
CHECKIN_SECONDS = 120.0


class ClaimsRunner:
    def __init__(self, store, interval: float | None = None):  # noqa: ANN001 - a benhan Store
        self.store = store
        self.interval = float(interval if interval is not None else store.config.claims_interval_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="claims-outbox", daemon=True)
        self.outbox = Outbox(store.db)
        self._scanned: datetime | None = None
        self._checked: datetime | None = None
        self._booked: datetime | None = None

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
                self.check_in_visits()
            except Exception as exc:  # noqa: BLE001 - never die; the next scan tries again
                log.warning("claims: the check-ins at the first cost failed: %s", exc)
            try:
                self.queue_finished_visits()
            except Exception as exc:  # noqa: BLE001 - never die; the next scan tries again
                log.warning("claims: queueing the finished visits failed: %s", exc)
            try:
                self.queue_health_books()
            except Exception as exc:  # noqa: BLE001 - never die; the next scan tries again
                log.warning("health book: queueing the closed visits failed: %s", exc)
            try:
                gateway = service.gateway_from_config(self.store.config)
                sent = self.outbox.run_once(service.senders(gateway, self.outbox))
                if sent:
                    log.info("claims outbox: %d message(s) attempted", sent)
            except Exception as exc:  # noqa: BLE001 - never die; the next round tries again
                log.warning("claims outbox round failed: %s", exc)

    def check_in_visits(self, moment: datetime | None = None) -> checkin.Scan | None:
        """Queue the check-in (XML0) of the BHYT visits that have had their first cost (claims/checkin.py),
        at most every CHECKIN_SECONDS; None when it is not time yet or the seal is not configured."""
        moment = moment or utcnow()
        if self._checked is not None and abs((moment - self._checked).total_seconds()) < CHECKIN_SECONDS:
            return None
        self._checked = moment
        cfg = self.store.config
        try:
            key = service.seal_key(cfg)
        except errors.BenhanError:
            return None                    # said by queue_finished_visits every SCAN_SECONDS
        since = moment.astimezone(parse_zone(cfg.timezone)).date() - timedelta(days=LOOKBACK_DAYS)
        scan = checkin.scan(Repository(self.store, Actor.system("claims-runner")), self.outbox, key, since, moment)
        if scan.queued or scan.invalid:
            log.info("claims: %d visit(s) checked in at their first cost, %d check-in(s) do not validate",
                     len(scan.queued), len(scan.invalid))
        return scan

    def queue_finished_visits(self, moment: datetime | None = None) -> service.Batch | None:
        """Queue the claims of the BHYT visits finished lately (at most every SCAN_SECONDS); None when
        it is not time yet or the seal is not configured (then nothing can be signed: the desk says so)."""
        moment = moment or utcnow()
        if self._scanned is not None and abs((moment - self._scanned).total_seconds()) < SCAN_SECONDS:
            return None
        self._scanned = moment             # also: a missing seal is logged every SCAN_SECONDS, not every round
        cfg = self.store.config
        try:
            key = service.seal_key(cfg)
        except errors.BenhanError as exc:
            log.warning("claims: finished visits not queued: %s", exc.message)
            return None
        since = moment.astimezone(parse_zone(cfg.timezone)).date() - timedelta(days=LOOKBACK_DAYS)
        batch = service.queue_finished(Repository(self.store, Actor.system("claims-runner")), self.outbox, key,
                                       since.isoformat(), moment, cfg.claims_send_within_hours)
        if batch.queued or batch.invalid:
            log.info("claims: %d finished visit(s) queued, %d to fix on the BHYT desk", len(batch.queued),
                     len(batch.invalid))
        for encounter_id, why in batch.unreadable:
            log.warning("claims: no claim for Encounter/%s: %s", encounter_id, why)
        return batch

    def queue_health_books(self, moment: datetime | None = None) -> "health_book.Scan | None":
        """Queue the VNeID health book of every visit closed lately, insured or not (claims/health_book.py),
        at most every SCAN_SECONDS; None when it is not time yet or the seal is not configured. A visit
        whose summary is not written yet is held (the desk lists it) and queued by a later round."""
        from benhan.claims import health_book
        moment = moment or utcnow()
        if self._booked is not None and abs((moment - self._booked).total_seconds()) < SCAN_SECONDS:
            return None
        self._booked = moment
        cfg = self.store.config
        try:
            key = service.seal_key(cfg)
        except errors.BenhanError:
            return None                    # said by queue_finished_visits every SCAN_SECONDS
        since = moment.astimezone(parse_zone(cfg.timezone)).date() - timedelta(days=LOOKBACK_DAYS)
        found = health_book.scan(Repository(self.store, Actor.system("health-book")), self.outbox, key,
                                 since.isoformat(), moment, cfg.claims_send_within_hours, health_book.withheld_of(cfg))
        if found.queued or found.held or found.invalid:
            log.info("health book: %d visit(s) queued, %d held for the summary, %d to fix, %d withheld",
                     len(found.queued), len(found.held), len(found.invalid), len(found.withheld))
        return found


def start_if_configured(store) -> ClaimsRunner | None:  # noqa: ANN001
    if not store.config.bhxh_gateway_url or store.config.claims_interval_seconds <= 0:
        return None
    return ClaimsRunner(store).start()
