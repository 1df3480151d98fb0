"""The SMS reminder worker inside `benhan serve` (docs/ui.md, appointments): every
claims_interval_seconds, from the configured hour of the day before (appointment_reminder_hour,
local time) it queues one reminder for each appointment booked for tomorrow in
the one durable outbox (outbox.reminders), then sends what is due through the SMS gateway.
Not queued: a patient with no valid mobile number (the day list shows it), a patient who refused
reminders. A cancelled or moved appointment's queued reminder is not sent (checked just before
sending). Nothing runs when no SMS gateway is configured; it never dies on a failure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.applications import Starlette

from benhan.auth.actor import Actor
from benhan.clinical import appointments
from benhan.clinical.visits import facility
from benhan.fhir.datetimes import parse_zone
from benhan.outbox import reminders
from benhan.outbox.queue import Outbox, utcnow
from benhan.outbox.sms import SmsGateway
from benhan.store.repository import Repository
from benhan.web.background import PeriodicRunner, run_with_app


@dataclass
class Round:
    queued: int = 0
    no_phone: int = 0
    refused: int = 0
    attempted: int = 0


class ReminderRunner(PeriodicRunner):
    thread_name = "sms-reminders"

    def __init__(self, store, interval: float | None = None, clock=utcnow, config=None):  # noqa: ANN001 - a benhan Store
        self.store = store
        self.config = config or store.config          # tests: the store's settings with a stand-in's URL
        super().__init__(interval if interval is not None else self.config.claims_interval_seconds)
        self.outbox = Outbox(store.db, clock=clock)
        self.clock = clock

    def queue_due(self, moment: datetime | None = None) -> Round:
        """Queue tomorrow's reminders when the hour has come; the same appointment is queued once."""
        cfg = self.config
        tz = cfg.timezone
        local = (moment or self.clock()).astimezone(parse_zone(tz))
        out = Round()
        if local.hour < int(cfg.appointment_reminder_hour):
            return out
        repo = Repository(self.store, Actor.system("sms-reminders"))
        fac = facility(repo, cfg.values.get("facility_name")).name
        for e in appointments.day_list(repo, local.date() + timedelta(days=1), tz):
            if e.status != "booked":
                continue
            if e.reminders_refused:
                out.refused += 1
                continue
            if not e.phone:
                out.no_phone += 1
                continue
            start = repo.read("Appointment", e.appointment_id).json()["start"]
            _, new = self.outbox.put(reminders.KIND, reminders.idem_key(e.appointment_id, start), e.appointment_id,
                                     reminders.payload(e.appointment_id, start, e.phone,
                                                       reminders.text(fac, e.location_name, e.start)),
                                     patient=e.patient_id, due=moment or self.clock())
            out.queued += int(new)
        return out

    def round(self, moment: datetime | None = None) -> Round:
        out = self.queue_due(moment)
        cfg = self.config
        gateway = SmsGateway(cfg.sms_gateway_url, cfg.sms_gateway_key, cfg.sms_brandname)
        repo = Repository(self.store, Actor.system("sms-reminders"))
        out.attempted = self.outbox.run_once(
            {reminders.KIND: reminders.sender(gateway, lambda p: appointments.still_booked(repo, p["appointment"],
                                                                                          p["start"]))})
        return out


def start_if_configured(store) -> ReminderRunner | None:  # noqa: ANN001
    cfg = store.config
    if not cfg.sms_gateway_url or cfg.claims_interval_seconds <= 0:
        return None
    return ReminderRunner(store).start()


def install(app: Starlette) -> None:
    run_with_app(app, "reminder_runner", start_if_configured)
