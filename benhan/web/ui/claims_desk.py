"""The BHYT desk (issue 15 items 4–6): the finished BHYT visits of a day with where their claim
stands (not queued, to fix, queued, accepted with the gateway's receipt, refused with its reasons,
given up), the clerk's validation report of one visit, "Gửi" (queue the check-in and the claim in
the outbox and try once now; the serve worker sends the rest) and the day report. docs/claims.md.

Who: the cashier sends (the act BHYT_DESK and Claim "c"), the director follows (BHYT_DESK only).
Building a visit's tables reads its diagnoses, orders and drugs, which neither role reads one by
one: that runs as the system on the user's behalf (audited as "claims:<user>"), as the cashier's
billing does. A gateway or seal that is not configured, an unknown visit or a bad day is a translated
message (or the 404 page), never an error page."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.auth import roles
from benhan.auth.actor import Actor
from benhan.claims import reports, service, tables, validation
from benhan.claims.record import episode_from_record, episode_or_why
from benhan.clinical.common import now
from benhan.outbox.queue import Outbox, from_us
from benhan.store.repository import Repository
from benhan.vn.identifiers import MA_LK_SYSTEM
from benhan.web.ui.base import back, form, may, may_act, page, repo, require, require_act, t, tz

HOME = "/ui/claims"
_KEY = re.compile(r"[A-Za-z0-9.\-]{1,64}")
SEND_NOW_TIMEOUT = 10.0        # seconds the desk waits for the gateway per message
_STATES = {"pending": "queued", "sending": "queued", "sent": "accepted", "rejected": "refused",
           "given-up": "given-up"}


@dataclass
class Row:
    ma_lk: str
    patient: str
    ended: str
    state: str                      # not-queued, to-fix, queued, accepted, refused, given-up, unreadable
    receipt: str = ""               # maGiaoDich of an accepted claim
    reasons: list[str] = field(default_factory=list)
    problems: int = 0


def _gate(r: Repository) -> None:
    require_act(r, roles.BHYT_DESK)


def _may_send(r: Repository) -> bool:
    return may_act(r, roles.BHYT_DESK) and may(r, "c", "Claim")


def _now(request: Request) -> datetime:
    return now(tz(request))


def _system(request: Request, r: Repository) -> Repository:
    return Repository(request.app.state.store, Actor(name=f"claims:{r.actor.name}", kind="system",
                                                     source_address=r.actor.source_address))


def _when(moment: datetime | None, request: Request) -> str:
    return f"{moment.astimezone(_now(request).tzinfo):%H:%M %d/%m/%Y}" if moment else ""


def _reasons(item) -> list[str]:  # noqa: ANN001 - an outbox Item
    receipt = json.loads(item.receipt) if item.receipt else {}
    named = [" ".join(x for x in (str(e.get("loaiHoSo") or ""), f"dòng {e['dong']}" if e.get("dong") else "",
                                  str(e.get("truong") or ""), "—", str(e.get("moTa") or "")) if x)
             for e in receipt.get("dsLoi") or []]
    return named or [receipt.get("thongDiep") or item.last_error or ""]


def _claims(outbox: Outbox, ma_lk: str) -> list:
    return outbox.items(kind=service.CLAIM, subject=ma_lk)


def _row(request: Request, outbox: Outbox, ep, lines) -> Row:  # noqa: ANN001
    row = Row(ep.ma_lk, ep.name, _when(ep.discharged, request), "not-queued")
    items = _claims(outbox, ep.ma_lk)
    if items:                                  # the newest claim of this visit (listing is newest first)
        item = items[0]
        row.state = _STATES.get(item.state, "queued")
        receipt = json.loads(item.receipt) if item.receipt else {}
        row.receipt = str(receipt.get("maGiaoDich") or "") if item.state == "sent" else ""
        row.reasons = _reasons(item) if item.state in ("rejected", "given-up") else []
        return row
    report = validation.validate(tables.claim_tables(ep, lines))
    row.problems = len(report.problems)
    row.state = "not-queued" if report.ok else "to-fix"
    return row


def _day_rows(request: Request, r: Repository, day: date) -> list[Row]:
    """The visits finished on ``day`` (the facility's day) that were BHYT, oldest first."""
    system, outbox, zone = _system(request, r), Outbox(request.app.state.store.db), _now(request).tzinfo
    rows, cursor = [], None
    while True:
        found = system.search_type("Encounter", [("status", "finished"), ("date", f"ge{day.isoformat()}"),
                                                 ("_count", "200")] + ([("_cursor", cursor)] if cursor else []))
        for match in found.matches:
            end = ((match.json().get("period") or {}).get("end") or "")
            try:
                if datetime.fromisoformat(end).astimezone(zone).date() != day:
                    continue
            except ValueError:
                continue                       # no end time written: not a finished visit of this day
            made = episode_or_why(system, match.res_id)
            if isinstance(made, str):          # listed, to be looked at: never dropped from the day
                rows.append(Row(match.res_id, "", "", "unreadable"))
                continue
            ep, lines = made
            if ep.insured:
                rows.append(_row(request, outbox, ep, lines))
        if not found.has_next or not found.next_cursor:
            return rows
        cursor = found.next_cursor


def _day_report(request: Request) -> tuple[list, list]:
    items = Outbox(request.app.state.store.db).items(kind=reports.CLAIM, limit=None)
    return reports.per_day(items, _now(request).tzinfo)[:14], reports.rejection_reasons(items)


async def home(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        _gate(r)
        text = (request.query_params.get("day") or "").strip()
        try:
            day = date.fromisoformat(text) if text else _now(request).date()
        except ValueError:
            per_day, reasons = _day_report(request)
            return page(request, "ui/claims_desk.html", 400, day=None, rows=[], per_day=per_day, reasons=reasons,
                        v={"day": text[:20]}, errors={"day": t(request, "claims.err.day")})
        per_day, reasons = _day_report(request)
        return page(request, "ui/claims_desk.html", day=day, rows=_day_rows(request, r, day), per_day=per_day,
                    reasons=reasons, v={"day": day.isoformat()})
    return await run_in_threadpool(work)


# --- one visit ---------------------------------------------------------------------------------

def _encounter_id(system: Repository, key: str) -> str:
    if not _KEY.fullmatch(key):
        raise errors.NotFound("no visit with this MA_LK")
    found = system.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|{key}"), ("_count", "2")])
    if len(found.matches) == 1:
        return found.matches[0].res_id
    system.read("Encounter", key)              # MA_LK falls back to the Encounter id; else 404
    return key


def _episode_page(request: Request, r: Repository, key: str, status: int = 200, message: str = "") -> Response:
    system = _system(request, r)
    ep, lines = episode_from_record(system, _encounter_id(system, key))
    if not ep.insured:
        return page(request, "ui/claims_episode.html", 409, ep=ep, report=None, items=[],
                    may_send=False, message=t(request, "claims.err.not-bhyt"))
    report = validation.validate(tables.claim_tables(ep, lines))
    outbox = Outbox(request.app.state.store.db)
    items = []
    for item in outbox.items(subject=ep.ma_lk):
        receipt = json.loads(item.receipt) if item.receipt else {}
        items.append({"kind": item.kind, "state": _STATES.get(item.state, "queued"), "attempts": item.attempts,
                      "queued": _when(from_us(item.created_at), request), "sent": _when(from_us(item.sent_at), request),
                      "receipt": str(receipt.get("maGiaoDich") or "") if item.state == "sent" else "",
                      "reasons": _reasons(item) if item.state in ("rejected", "given-up") else [],
                      "late": item.late_reason or "",
                      "error": (item.last_error or "") if item.state in ("pending", "sending") else ""})
    return page(request, "ui/claims_episode.html", status, ep=ep, report=report, items=items,
                may_send=_may_send(r), message=message, ended=_when(ep.discharged, request),
                sent=request.query_params.get("sent", ""))


async def episode(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        _gate(r)
        return _episode_page(request, r, request.path_params["id"])
    return await run_in_threadpool(work)


async def send(request: Request) -> Response:
    """Queue the visit's check-in and claim (validated, signed with the seal) and try once now."""
    r = repo(request)

    def gate() -> None:
        _gate(r)
        require(r, ("c", "Claim"))
    await run_in_threadpool(gate)
    key = request.path_params["id"]
    if request.method == "GET":
        return back(f"{HOME}/{key}" if _KEY.fullmatch(key) else HOME)
    await form(request)

    def work() -> Response:
        system = _system(request, r)
        ep, lines = episode_from_record(system, _encounter_id(system, key))
        if not ep.insured:
            return _episode_page(request, r, key)
        cfg = request.app.state.store.config
        try:
            gateway = service.gateway_from_config(cfg, ep.facility)
        except errors.BenhanError:
            return _episode_page(request, r, key, 409, t(request, "claims.err.no-gateway"))
        try:
            seal = service.seal_key(cfg)
        except errors.BenhanError:
            return _episode_page(request, r, key, 409, t(request, "claims.err.no-seal"))
        outbox, moment = Outbox(request.app.state.store.db), _now(request)
        if not validation.validate(tables.claim_tables(ep, lines)).ok:       # nothing queued, not even the check-in
            return _episode_page(request, r, key, 422, t(request, "claims.err.invalid"))
        try:
            queued = [service.queue_checkin(outbox, ep, lines, seal, moment),
                      service.queue_claim(outbox, ep, lines, seal, moment, cfg.claims_send_within_hours)]
        except errors.ClaimInvalid:
            return _episode_page(request, r, key, 422, t(request, "claims.err.invalid"))
        for pk, new in filter(None, queued):
            if not new:
                outbox.retry_now(pk)     # a message given up on goes back in the queue; any other is left as it is
        # Once now, two messages (this visit's check-in and claim, due at once) with a short timeout, so
        # the clerk is not kept waiting; a gateway that does not answer leaves them pending for the serve
        # worker, with backoff.
        gateway.timeout = min(gateway.timeout, SEND_NOW_TIMEOUT)
        outbox.run_once(service.senders(gateway), limit=2)
        return back(f"{HOME}/{ep.ma_lk}?sent=1")
    return await run_in_threadpool(work)


async def monthly_workbook(request: Request) -> Response:
    """The monthly 01/BH (or, for "2026-Q4", the quarterly 02/BH) summary as a spreadsheet
    (claims.monthly): from the accepted claims, or with source=built from the record."""
    def work() -> Response:
        from benhan.claims import monthly
        r = repo(request)
        _gate(r)
        text = (request.query_params.get("month") or "").strip()[:20]
        source = request.query_params.get("source") or "accepted"
        try:
            within = monthly.period(text)
            data = monthly.report(request.app.state.store, within, source=source, actor=_system(request, r).actor)
        except errors.ClaimNotPossible:
            per_day, reasons = _day_report(request)
            return page(request, "ui/claims_desk.html", 400, day=None, rows=[], per_day=per_day, reasons=reasons,
                        v={"month": text}, errors={"month": t(request, "claims.err.month")})
        return Response(data, media_type=monthly.XLSX_MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{monthly.filename(within)}"'})
    return await run_in_threadpool(work)


routes = [
    Route(HOME, home),
    Route(f"{HOME}/monthly.xlsx", monthly_workbook),     # before {id}: a MA_LK never ends in .xlsx
    Route(f"{HOME}/{{id}}", episode),
    Route(f"{HOME}/{{id}}/send", send, methods=["GET", "POST"]),
]
