"""ONE durable queue of messages to other services (DESIGN "outbox"): BHYT check-ins and claims
now; the VNeID push, e-invoices and (later) SMS are further kinds with their own sender.

- A message is stored first (in the caller's transaction or its own), with an idempotency key: the
  same key queued twice is one message.
- A worker takes one due message at a time by a lease written in a transaction (so a second
  worker, or the same one after a restart, does not take it while the lease runs), sends it, and
  records the outcome. A worker killed mid-send (kill -9) leaves the lease to expire; the message
  is then sent again with the same idempotency key, which the remote uses to recognise the repeat
  and answer with the first receipt — so a message is never *received* twice.
- A failed send is retried with exponential backoff and jitter (capped), then given up after
  ``max_attempts`` (a person re-queues it); a refusal of the content is final ("rejected") and
  the remote's answer is kept for the clerk.
- The receipt is kept (the BHXH portal keeps results for 60 days only), and a message sent after
  its due time is logged with the reason (the late-sending log of TT 48/2017 Đ8).

SMS one-time codes are not queued (benhan/outbox/sms.py: a late code is useless); an SMS reminder
would be a kind here.
"""
from __future__ import annotations

import json
import logging
import random
import socket
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from benhan.store import outbox_tables
from benhan.store.database import Database
from benhan.store.outbox_tables import Item

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, REJECTED, GIVEN_UP = "pending", "sending", "sent", "rejected", "given-up"
STATES = (PENDING, SENDING, SENT, REJECTED, GIVEN_UP)


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1_000_000, timezone.utc) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Delivery:
    """What a sender says about one attempt."""
    outcome: str                       # sent | retry | rejected
    receipt: dict | None = None        # the remote's answer, kept
    error: str = ""

    @classmethod
    def sent(cls, receipt: dict) -> "Delivery":
        return cls("sent", receipt)

    @classmethod
    def retry(cls, error: str, receipt: dict | None = None) -> "Delivery":
        return cls("retry", receipt, error)

    @classmethod
    def rejected(cls, error: str, receipt: dict | None = None) -> "Delivery":
        return cls("rejected", receipt, error)


Sender = Callable[[Item], Delivery]


@dataclass
class Backoff:
    base_seconds: float = 30.0
    max_seconds: float = 6 * 3600.0
    max_attempts: int = 20

    def delay(self, attempts: int, rng: Callable[[], float]) -> float:
        """Exponential from ``base_seconds``, capped, with jitter in [½, 1] of it so that many
        messages failed by one outage do not all come back in the same second."""
        raw = min(self.max_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return raw * (0.5 + rng() / 2)


@dataclass
class Outbox:
    db: Database
    clock: Callable[[], datetime] = utcnow
    rng: Callable[[], float] = random.random
    backoff: Backoff = field(default_factory=Backoff)
    lease_seconds: float = 120.0          # longer than any sender's timeout
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")

    # --- queueing ----------------------------------------------------------------------------

    def put(self, kind: str, idem_key: str, subject: str, payload: bytes, *, patient: str | None = None,
            due: datetime | None = None) -> tuple[int, bool]:
        """Store a message to send; (its number, whether it is new). The same key again is the same
        message (a double click, a retried request)."""
        with self.db.write() as conn:
            return outbox_tables.add(conn, kind=kind, idem_key=idem_key, subject=subject, patient=patient,
                                     payload=payload, now=_us(self.clock()), due=_us(due) if due else None)

    # --- sending -----------------------------------------------------------------------------

    def run_once(self, senders: dict[str, Sender], limit: int = 100) -> int:
        """Send what is due, one message at a time, up to ``limit``; how many were attempted."""
        done = 0
        kinds = tuple(senders)
        while done < limit:
            now = self.clock()
            with self.db.write() as conn:
                item = outbox_tables.take(conn, owner=self.owner, now=_us(now),
                                          lease_until=_us(now) + int(self.lease_seconds * 1_000_000), kinds=kinds)
            if item is None:
                return done
            done += 1
            try:
                delivery = senders[item.kind](item)
            except Exception as exc:     # a sender's bug must not stop the queue; it is retried and logged
                log.exception("outbox: sender for %s failed", item.kind)
                delivery = Delivery.retry(f"{type(exc).__name__}: {exc}")
            self._record(item, delivery)
        return done

    def _record(self, item: Item, delivery: Delivery) -> None:
        now = self.clock()
        values: dict[str, object] = {"receipt": json.dumps(delivery.receipt, ensure_ascii=False)
                                     if delivery.receipt is not None else item.receipt}
        if delivery.outcome == SENT:
            values.update(state=SENT, sent_at=_us(now), last_error=None)
            if item.due_at is not None and _us(now) > item.due_at:
                values["late_reason"] = (item.last_error if item.last_error
                                         else "đưa vào hàng đợi sau hạn gửi" if item.created_at > item.due_at
                                         else "gửi muộn (không rõ lý do)")
                log.warning("outbox: %s %s sent late (due %s): %s", item.kind, item.subject,
                            from_us(item.due_at), values["late_reason"])
        elif delivery.outcome == REJECTED:
            values.update(state=REJECTED, last_error=delivery.error)
        elif item.attempts >= self.backoff.max_attempts:
            values.update(state=GIVEN_UP, last_error=delivery.error)
        else:
            wait = self.backoff.delay(item.attempts, self.rng)
            values.update(state=PENDING, last_error=delivery.error, next_attempt=_us(now) + int(wait * 1_000_000))
        with self.db.write() as conn:
            if not outbox_tables.finish(conn, item.pk, self.owner, **values):
                log.warning("outbox: lease on %s lost before its outcome was recorded", item.idem_key)

    # --- reading -----------------------------------------------------------------------------

    def get(self, pk: int) -> Item | None:
        with self.db.read() as conn:
            return outbox_tables.get(conn, pk)

    def by_key(self, idem_key: str) -> Item | None:
        with self.db.read() as conn:
            return outbox_tables.by_key(conn, idem_key)

    def items(self, **filters: object) -> list[Item]:
        with self.db.read() as conn:
            return outbox_tables.listing(conn, **filters)  # type: ignore[arg-type]

    def counts(self) -> dict[tuple[str, str], int]:
        with self.db.read() as conn:
            return outbox_tables.counts(conn)

    def retry_now(self, pk: int, *, rejected: bool = False) -> bool:
        """Back in the queue now: a message given up on, and with ``rejected`` one the remote refused
        (a person re-queues it after fixing what the refusal named outside the message)."""
        with self.db.write() as conn:
            return outbox_tables.retry_now(conn, pk, _us(self.clock()),
                                           (GIVEN_UP, REJECTED) if rejected else (GIVEN_UP,))
