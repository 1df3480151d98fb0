"""The fluid-balance card of an inpatient stay's visit page (theo dõi dịch vào – ra, clinical.fluids): each
day's intake, output and balance, newest first, and the nurse's form to record a shift's amount."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from benhan.clinical import fluids, visits
from benhan.clinical.common import now, zone
from benhan.store.repository import Repository
from benhan.vn.display import number
from benhan.web.ui.base import may, tz

SHOWN_DAYS = 7


def card(r: Repository, encounter: dict, offset: str) -> dict:
    """The stay's last days' totals (mL, as printed) and whether this user may record an entry."""
    if not visits.is_inpatient(encounter) or not may(r, "r", "Observation"):
        return {"days": [], "may_add": False, "shown": False}
    codes = [f"{fluids.SYSTEM}|{k}" for k in fluids.KINDS] + [f"{fluids.LOINC}|{c}" for c in (fluids.INTAKE_24H,
                                                                                           fluids.URINE_24H)]
    found = r.search_all("Observation", [("encounter", f"Encounter/{encounter['id']}"), ("code", ",".join(codes))])
    days = fluids.days([m.json() for m in found], zone(offset))[-SHOWN_DAYS:]
    rows = [(f"{d.day:%d/%m/%Y}", number(d.intake), number(d.amounts.get("urine", 0.0)),
             number(d.amounts.get("other-output", 0.0)), number(d.balance)) for d in reversed(days)]
    may_add = may(r, "c", "Observation") and encounter.get("status") != "entered-in-error"
    return {"days": rows, "may_add": may_add, "shown": True}


def _save(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    fluids.record(r, r.actor, encounter, v, now(tz(request)).isoformat(timespec="seconds"))


async def post(request: Request) -> Response:
    from benhan.web.ui import visit      # visit's form handler (gate, CSRF, re-render with the messages)
    return await visit._post("fluids", ("c", "Observation"), _save)(request)
