"""The nursing care plan card of an inpatient stay's visit page (clinical.care_plan): the nurse's
assessment, the planned activities with their frequency and done marks, the form to write the plan and
a button per activity to mark it done now."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from benhan.clinical import care_plan, visits
from benhan.clinical.common import now, vn_datetime
from benhan.store.repository import Repository
from benhan.web.ui.base import may, tz


def card(r: Repository, encounter: dict) -> dict:
    """What the card shows; `shown` False off an inpatient stay or for a user who may not read plans."""
    if not visits.is_inpatient(encounter) or not may(r, "r", "CarePlan"):
        return {"shown": False}
    plan = care_plan.of_visit(r, encounter["id"])
    rows = [(a.index, a.text, a.frequency, [f"{vn_datetime(t)} — {who}" for t, who in a.done])
            for a in care_plan.activities(plan)]
    return {"shown": True, "assessment": (plan or {}).get("description", ""), "activities": rows,
            "rows": range(1, care_plan.ROWS + 1),
            "may_add": may(r, "c", "CarePlan") and may(r, "u", "CarePlan")
                       and encounter.get("status") not in ("entered-in-error", "finished", "cancelled")}


def _save(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    care_plan.save(r, r.actor, encounter, v, now(tz(request)))


def _done(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    care_plan.mark_done(r, r.actor, encounter, v, now(tz(request)))


async def post(request: Request) -> Response:
    from benhan.web.ui import visit      # visit's form handler (gate, CSRF, re-render with the messages)
    return await visit._post("care-plan", ("c", "CarePlan"), _save)(request)


async def done_post(request: Request) -> Response:
    from benhan.web.ui import visit
    return await visit._post("care-plan", ("u", "CarePlan"), _done)(request)
