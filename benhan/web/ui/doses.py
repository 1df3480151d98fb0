"""Thuốc dùng trong ngày: the nurse's page of an inpatient stay's scheduled doses for a day, each with
its state (to come, due, late, missed, given, held, refused) and a form to record it
(clinical.administration). Reached from the visit page's infusion card. And /ui/doses, linked from the
nurse's home page: the doses due now, late or missed on her department's stays."""
from __future__ import annotations

from datetime import date, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan.clinical import administration as adm
from benhan.clinical import rounds
from benhan.clinical import visits
from benhan.clinical.common import FormInvalid, name_of, now, ref_id
from benhan.store.repository import Repository
from benhan.web import i18n
from benhan.web.ui.base import back, form, may, messages, page, repo, require, tz
from benhan.vn.display import number


def thresholds(request: Request) -> tuple[timedelta, timedelta]:
    """(late after, missed after): the facility's settings dose_late_minutes, dose_missed_minutes."""
    values = request.app.state.store.config.values
    late = int(values.get("dose_late_minutes") or 0)
    missed = int(values.get("dose_missed_minutes") or 0)
    late = timedelta(minutes=late) if late > 0 else adm.LATE_AFTER
    missed = timedelta(minutes=missed) if missed > 0 else adm.MISSED_AFTER
    return late, max(late, missed)


def round_hours(request: Request) -> dict[str, int]:
    """The hours between vital-signs rounds per care level: the settings vitals_hours_care_1/2/3."""
    values = request.app.state.store.config.values
    out = {}
    for level in rounds.HOURS:
        hours = int(values.get(f"vitals_hours_care_{level}") or 0)
        if hours > 0:
            out[level] = hours
    return out


def _day(request: Request) -> date:
    try:
        return date.fromisoformat(request.query_params.get("day", ""))
    except ValueError:
        return now(tz(request)).date()


def recorded(record: dict) -> str:
    """What the row says of a recorded dose: the time, the dose, the reason, who recorded it."""
    dose = (record.get("dosage") or {}).get("dose") or {}
    reason = next((x.get("text", "") for x in record.get("statusReason", [])), "")
    who = next(((x.get("actor") or {}).get("display", "") for x in record.get("performer", [])), "")
    at = record.get("effectiveDateTime", "")
    return " · ".join(x for x in (at[11:16], f"{number(dose.get('value'))} {dose.get('unit', '')}".strip(),
                                  reason, who) if x)


def _page(request: Request, r: Repository, eid: str, day: date, status: int = 200, **extra) -> Response:  # noqa: ANN003
    encounter = r.read("Encounter", eid).json()
    patient = r.read("Patient", ref_id(encounter.get("subject")) or "").json()
    clock = now(tz(request))
    doses = (adm.day_doses(adm.orders_of(r, eid), adm.records_of(r, eid), day, clock, tz(request),
                           *thresholds(request))
             if visits.is_inpatient(encounter) else [])
    return page(request, "ui/doses.html", status, enc=encounter, patient=name_of(patient), day=day,
                previous=day - timedelta(days=1), following=day + timedelta(days=1), doses=doses,
                inpatient=visits.is_inpatient(encounter), number=number, recorded=recorded,
                may_record=may(r, "c", "MedicationAdministration"), **extra)


async def doses_page(request: Request) -> Response:
    eid = request.path_params["id"]
    r = repo(request)
    if request.method == "GET":
        await run_in_threadpool(require, r, ("r", "MedicationAdministration"))
        return await run_in_threadpool(_page, request, r, eid, _day(request))
    await run_in_threadpool(require, r, ("c", "MedicationAdministration"))
    values = await form(request)
    day = _day(request)

    def work() -> Response:
        encounter = r.read("Encounter", eid).json()
        try:
            adm.record(r, r.actor, encounter, values, tz(request), now(tz(request)))
        except FormInvalid as exc:
            return _page(request, r, eid, day, 400, errors=messages(request, exc), v=values)
        except adm.AlreadyRecorded:
            return _page(request, r, eid, day, 409, v=values,
                         errors={"form": i18n.translate("ui.mar.err.already", i18n.language(request))})
        return back(f"/ui/encounters/{eid}/doses?day={day.isoformat()}&saved=1")
    return await run_in_threadpool(work)


async def due_page(request: Request) -> Response:
    """The doses due now, late or missed on the stays the nurse may see (her departments'), and beside them
    the vital-signs rounds due or overdue by each stay's care level (clinical.rounds)."""
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "MedicationAdministration"))
        clock = now(tz(request))
        due_rounds = (rounds.due_rounds(r, clock, round_hours(request), thresholds(request)[0])
                      if may(r, "r", "Observation") and may(r, "r", "ClinicalImpression") else [])
        return page(request, "ui/doses_due.html", pending=adm.pending(r, clock, tz(request), *thresholds(request)),
                    rounds=due_rounds, number=number)
    return await run_in_threadpool(work)


routes = [Route("/ui/encounters/{id}/doses", doses_page, methods=["GET", "POST"]),
          Route("/ui/doses", due_page)]
