"""The VNeID health-book queue on the BHYT desk (claims/health_book.py; docs/claims.md "VNeID health
book"): every visit closed on a day, insured or not, with where its push stands — held for the
doctor's summary (the parts missing, a link to the visit), withheld by the facility's list, to fix
(the claim rules), not queued yet, waiting (the last error while it retries), accepted (the
gateway's maGiaoDich), refused (its reasons), given up — and "Gửi lại" (queue the current content
and try once now; a refused or given-up message of the same content goes back in the queue).

Same people and same rules as the claims desk (web/ui/claims_desk.py): the cashier re-queues (the act
BHYT_DESK and Claim "c"), the director follows; the tables are built as the system on the user's
behalf (audited "claims:<user>"); a gateway or seal not configured is a message, never an error."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.auth import roles
from benhan.claims import health_book, service
from benhan.claims.record import made_or_why
from benhan.outbox.queue import Outbox, from_us
from benhan.store.repository import Repository
from benhan.web.ui import claims_desk
from benhan.web.ui.base import back, form, page, repo, require, t

HOME = "/ui/claims/health-book"
_STATES = {"pending": "queued", "sending": "queued", "sent": "accepted", "rejected": "refused",
           "given-up": "given-up"}


@dataclass
class Row:
    encounter: str
    ma_lk: str
    patient: str
    ended: str
    insured: bool
    state: str          # held, withheld, to-fix, not-queued, queued, accepted, refused, given-up, unreadable
    tables: str = ""
    receipt: str = ""
    reasons: list[str] = field(default_factory=list)
    may_requeue: bool = False


def _row(request: Request, outbox: Outbox, eid: str, book: health_book.Book) -> Row:
    ep = book.ep
    row = Row(eid, ep.ma_lk, ep.name, claims_desk._when(ep.discharged, request), book.insured, book.state,
              " + ".join(t.name for t in book.tables))
    if book.state != health_book.READY:
        row.reasons = book.reasons()
        return row
    items = outbox.items(kind=health_book.KIND, subject=ep.ma_lk)
    current = next((i for i in items if i.idem_key == book.key), None)
    if current is None:
        row.state = "not-queued"            # ready; the worker queues it at its next round
        row.may_requeue = True
        return row
    row.state = _STATES.get(current.state, "queued")
    receipt = json.loads(current.receipt) if current.receipt else {}
    if current.state == "sent":
        row.receipt = str(receipt.get("maGiaoDich") or "")
    elif current.state in ("rejected", "given-up"):
        row.reasons = claims_desk._reasons(current)
        row.may_requeue = True
    elif current.last_error:
        row.reasons = [t(request, "hb.retrying", n=current.attempts,
                         when=claims_desk._when(from_us(current.next_attempt), request)), current.last_error]
    return row


def _day_rows(request: Request, r: Repository, day: date) -> list[Row]:
    system, outbox = claims_desk._system(request, r), Outbox(request.app.state.store.db)
    zone = claims_desk._now(request).tzinfo
    withheld = health_book.withheld_of(request.app.state.store.config)
    rows = []
    for eid in health_book.finished_since(system, day.isoformat()):
        try:
            end = (system.read("Encounter", eid).json().get("period") or {}).get("end") or ""
            if datetime.fromisoformat(end).astimezone(zone).date() != day:
                continue
        except ValueError:
            continue                        # no end time written: not a visit closed this day
        except errors.BenhanError:
            rows.append(Row(eid, eid, "", "", False, "unreadable"))
            continue
        book = made_or_why(lambda: health_book.from_record(system, eid, withheld), eid)
        # Listed, to be looked at, whatever went wrong with it: never dropped from the day.
        rows.append(Row(eid, eid, "", "", False, "unreadable") if isinstance(book, str)
                    else _row(request, outbox, eid, book))
    return rows


# The outcomes requeue sends back in ?m=: only these are shown (a link with any other text would put
# that text on the desk's page as if benhan said it).
_MESSAGES = ("queued", "not-ready", "not-configured")


def _known(code: str) -> str:
    return code if code in _MESSAGES else ""


async def home(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        claims_desk._gate(r)
        text = (request.query_params.get("day") or "").strip()
        try:
            day = date.fromisoformat(text) if text else claims_desk._now(request).date()
        except ValueError:
            return page(request, "ui/health_book_desk.html", 400, day=None, rows=[], may_send=False,
                        v={"day": text[:20]}, errors={"day": t(request, "claims.err.day")}, message="")
        try:
            rows = _day_rows(request, r, day)
        except errors.ConfigError:
            return page(request, "ui/health_book_desk.html", 409, day=day, rows=[], may_send=False,
                        v={"day": day.isoformat()}, errors={}, message=t(request, "hb.err.withheld-setting"))
        return page(request, "ui/health_book_desk.html", day=day, rows=rows, may_send=claims_desk._may_send(r),
                    v={"day": day.isoformat()}, errors={}, message=_known(request.query_params.get("m", "")))
    return await run_in_threadpool(work)


async def requeue(request: Request) -> Response:
    """Queue the visit's health book as its record stands now (signed with the seal) and try once."""
    r = repo(request)

    def gate() -> None:
        claims_desk._gate(r)
        require(r, ("c", "Claim"))
    await run_in_threadpool(gate)
    eid = request.path_params["id"]
    day = (request.query_params.get("day") or "")[:10]
    if request.method == "GET":
        return back(f"{HOME}?day={day}" if day else HOME)
    await form(request)

    def work() -> Response:
        system = claims_desk._system(request, r)
        if not claims_desk._KEY.fullmatch(eid):
            raise errors.NotFound("no such visit")
        cfg = request.app.state.store.config
        book = health_book.from_record(system, eid, health_book.withheld_of(cfg))

        def answer(code: str) -> Response:
            return back(f"{HOME}?day={day}&m={code}#e-{eid}" if day else f"{HOME}?m={code}")
        if book.state != health_book.READY:
            return answer("not-ready")
        try:
            gateway = service.gateway_from_config(cfg, book.ep.facility)
            seal = service.seal_key(cfg)
        except errors.BenhanError:
            return answer("not-configured")
        outbox = Outbox(request.app.state.store.db)
        pk, new = health_book.queue(outbox, book, seal, claims_desk._now(request), cfg.claims_send_within_hours)
        if not new:
            outbox.retry_now(pk, rejected=True)     # refused or given up: back in the queue; waiting: left to its backoff
        gateway.timeout = min(gateway.timeout, claims_desk.SEND_NOW_TIMEOUT)
        outbox.run_once({health_book.KIND: health_book.sender(gateway, outbox)}, limit=1)
        return answer("queued")
    return await run_in_threadpool(work)


routes = [
    Route(HOME, home),
    Route(f"{HOME}/{{id}}/queue", requeue, methods=["GET", "POST"]),
]
