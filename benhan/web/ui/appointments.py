"""The registrar's appointments page (/ui/appointments?day=YYYY-MM-DD): the day's list — booked
visits and the follow-ups written at discharge — with check-in (opens the linked visit), no-show,
cancel and reschedule; and booking for a patient found by name, CCCD or BHYT number.
The work is clinical.appointments'; this module reads forms and shows pages."""
from __future__ import annotations

from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan.clinical import appointments as ap
from benhan.clinical import registration, visits
from benhan.clinical.common import FormInvalid, now
from benhan.web.ui.base import back, form, messages, may, page, repo, require, t, today, tz



def _capacity(request: Request) -> int:
    return max(1, int(request.app.state.store.config.appointment_slot_capacity))


def _day(request: Request, raw: str | None) -> date:
    try:
        d = date.fromisoformat(raw) if raw else today(request)
    except ValueError:
        return today(request)
    # The list shows the day before and after: the calendar's first and last days are not a day here.
    return d if date(1900, 1, 1) <= d <= date(9998, 12, 31) else today(request)


def _page(request: Request, r, day: date, status: int = 200, errs: dict | None = None,  # noqa: ANN001
          v: dict | None = None, q: str = "") -> Response:
    found = registration.search(r, q) if q else None
    return page(request, "ui/appointments.html", status, day=day, prev=date.fromordinal(day.toordinal() - 1),
                next=date.fromordinal(day.toordinal() + 1), rows=ap.day_list(r, day, tz(request)),
                rooms=visits.locations(r), q=q, found=found, errors=errs or {}, v=v or {},
                can_check_in=may(r, "c", "Encounter"), can_book=may(r, "c", "Appointment"),
                can_change=may(r, "u", "Appointment"), slot_minutes=ap.SLOT_MINUTES)


async def day_page(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("s", "Appointment"))
        return _page(request, r, _day(request, request.query_params.get("day")),
                     q=request.query_params.get("q", "").strip())
    return await run_in_threadpool(work)


async def book(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Appointment"))
    if request.method == "GET":
        return back("/ui/appointments")
    data = await form(request)

    def work() -> Response:
        v = {k: (data.get(k) or "").strip() for k in ("patient", "location", "day", "slot", "reason")}
        day = _day(request, v["day"])
        try:
            ap.book(r, r.actor, v["patient"], v["location"], ap.parse_slot(v["day"], v["slot"], tz(request)),
                    v["reason"], now=now(tz(request)), capacity=_capacity(request))
        except FormInvalid as exc:
            return _page(request, r, day, 400, messages(request, exc), v)
        return back(f"/ui/appointments?day={day.isoformat()}")
    return await run_in_threadpool(work)


async def act(request: Request) -> Response:
    """One appointment: check-in, no-show, cancel or reschedule (`action`)."""
    r = repo(request)
    await run_in_threadpool(require, r, ("u", "Appointment"))
    if request.method == "GET":
        return back("/ui/appointments")
    data = await form(request)

    def work() -> Response:
        aid = request.path_params["id"]
        v = {k: (data.get(k) or "").strip() for k in ("action", "location", "day", "slot", "reason", "back")}
        shown = _day(request, v["back"])
        try:
            if v["action"] == "checkin":
                require(r, ("c", "Encounter"))
                fac = visits.facility(r, request.app.state.store.config.values.get("facility_name"))
                eid = ap.check_in(r, r.actor, aid, fac, when=now(tz(request)), location_id=v["location"] or None,
                                  tz=tz(request))
                return back(f"/ui/encounters/{eid}")
            if v["action"] in ("no_sms", "sms"):
                # The patient's choice about SMS reminders, said at the desk (kept on the Patient).
                require(r, ("u", "Patient"))
                pid = ap.patient_of(r.read("Appointment", aid).json())
                if pid:
                    ap.set_reminder_choice(r, r.actor, pid, v["action"] == "sms")
            elif v["action"] in ("cancelled", "noshow"):
                ap.set_status(r, r.actor, aid, v["action"], v["reason"])
            elif v["action"] == "reschedule":
                ap.reschedule(r, r.actor, aid, ap.parse_slot(v["day"], v["slot"], tz(request)),
                              v["location"] or None, now=now(tz(request)), capacity=_capacity(request))
            else:
                return _page(request, r, shown, 400, {"action": _choose(request)})
        except FormInvalid as exc:
            return _page(request, r, shown, 400, messages(request, exc))
        return back(f"/ui/appointments?day={shown.isoformat()}")
    return await run_in_threadpool(work)


def _choose(request: Request) -> str:
    return t(request, "ui.err.choose")
