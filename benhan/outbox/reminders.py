"""SMS appointment reminders: a kind of the one durable outbox (outbox.queue), sent through the
facility's SMS gateway (outbox.sms). The web layer's runner (web/reminder_runner.py) decides who
is reminded and queues; this module holds the message, its key and its sender.

- One reminder per appointment *and its start*: the idempotency key is made of both, so the same
  appointment queued again is the same message, and a rescheduled one gets a new reminder.
- Just before sending, the sender asks `still_due(payload)` (the appointment is still booked at
  the same start): a cancelled or moved appointment's old reminder is not sent; it is closed as
  "rejected" with the reason, not retried.
- The text is one SMS (ASCII, at most 160 characters: one GSM-7 segment), the names cut to fit.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from benhan import errors
from benhan.outbox.queue import Delivery, Sender
from benhan.outbox.sms import MAX_TEXT, SmsGateway, ascii_text
from benhan.store.outbox_tables import Item

KIND = "sms-reminder"
NOT_DUE = "lịch hẹn đã hủy hoặc đã đổi giờ: không nhắc | the appointment was cancelled or moved: no reminder"


def idem_key(appointment_id: str, start: str) -> str:
    return f"{KIND}:{appointment_id}:{start}"


def text(facility: str, clinic: str, start: datetime) -> str:
    """'BV X: nhac lich kham 08:30 ngay 10/12/2026 tai Phong kham Noi. Mang theo CCCD/the BHYT.'"""
    when = f"{start:%H:%M} ngày {start:%d/%m/%Y}"
    tail = ". Mang theo CCCD/thẻ BHYT."

    def build(fac: str, room: str) -> str:
        place = f" tại {room}" if room else ""
        return ascii_text(f"{fac}: nhắc lịch khám {when}{place}{tail}")
    fac, room = facility.strip(), clinic.strip()
    body = build(fac, room)
    while len(body) > MAX_TEXT and len(room) > 10:       # cut the clinic's name first, then the facility's
        room = room[:-1]
        body = build(fac, room.rstrip() + "…")
    while len(body) > MAX_TEXT and len(fac) > 10:
        fac = fac[:-1]
        body = build(fac.rstrip(), room)
    return body[:MAX_TEXT]


def payload(appointment_id: str, start: str, phone: str, message: str) -> bytes:
    return json.dumps({"appointment": appointment_id, "start": start, "phone": phone, "text": message},
                      ensure_ascii=False).encode()


def sender(gateway: SmsGateway, still_due: Callable[[dict], bool]) -> Sender:
    def send(item: Item) -> Delivery:
        body = json.loads(item.payload)
        if not still_due(body):
            return Delivery.rejected(NOT_DUE)
        try:
            message_id = gateway.send(body["phone"], body["text"], request_id=item.idem_key)
        except errors.SmsFailed as exc:
            return Delivery.retry(str(exc))
        return Delivery.sent({"message_id": message_id})
    return send
