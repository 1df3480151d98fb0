"""What the BHYT desk follows (issue 15 item 6, first part): claims queued, accepted, rejected and
still waiting per day, and the rejections by reason (the gateway's field, or its message) — from
the outbox, which keeps every receipt. The monthly and quarterly summary (01/BH, 02/BH) is claims.monthly."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta, timezone

from benhan.outbox.queue import from_us
from benhan.store.outbox_tables import Item

CLAIM = "bhyt-claim"


@dataclass
class Day:
    day: date
    queued: int = 0
    accepted: int = 0
    rejected: int = 0
    waiting: int = 0      # pending, being sent or given up: not answered yet
    late: int = 0


def _day(us: int, zone: timezone) -> date:
    return from_us(us).astimezone(zone).date()  # type: ignore[union-attr]


def per_day(items: list[Item], zone: timezone = timezone(timedelta(hours=7))) -> list[Day]:
    """One row per day a claim was queued, newest first: how those claims stand now."""
    days: dict[date, Day] = {}
    for item in items:
        if item.kind != CLAIM:
            continue
        row = days.setdefault(_day(item.created_at, zone), Day(_day(item.created_at, zone)))
        row.queued += 1
        if item.state == "sent":
            row.accepted += 1
        elif item.state == "rejected":
            row.rejected += 1
        else:
            row.waiting += 1
        if item.late_reason:
            row.late += 1
    return sorted(days.values(), key=lambda d: d.day, reverse=True)


def rejection_reasons(items: list[Item]) -> list[tuple[str, int]]:
    """Rejected claims by reason: each field the gateway named (table.field), else its message."""
    reasons: Counter[str] = Counter()
    for item in items:
        if item.kind != CLAIM or item.state != "rejected":
            continue
        receipt = json.loads(item.receipt) if item.receipt else {}
        named = {f"{e.get('loaiHoSo', '')}.{e.get('truong', '')}" for e in receipt.get("dsLoi") or []}
        for reason in named or {receipt.get("thongDiep") or item.last_error or "?"}:
            reasons[reason] += 1
    return reasons.most_common()
