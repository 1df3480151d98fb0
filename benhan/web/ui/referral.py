"""The referral card of the visit page: the doctor records the BHYT transfer to another facility
(clinical.referral: the reason 1a/1b/2, the facility and its code, when, the condition, the direction,
the transport and the escort — the XML13 fields) and prints the referral slip (TT 01/2025 PL VI)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from benhan.auth import roles
from benhan.clinical import referral
from benhan.clinical.chart import VisitRecord
from benhan.store.repository import Repository
from benhan.web.ui.base import may, may_act, tz


def card(r: Repository, encounter: dict, rec: VisitRecord) -> dict:
    """The visit's referrals (newest first, as the slip prints the newest) and whether this user may record one."""
    given = sorted((o for o in rec.orders if referral.is_referral(o)), key=lambda o: o.get("authoredOn", ""),
                   reverse=True)
    return {"given": given, "reasons": list(referral.REASONS.items()),
            "may_write": may(r, "c", "ServiceRequest") and may_act(r, roles.PROGRESS_NOTE)
            and encounter.get("status") != "entered-in-error"}


def _save(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    referral.record(r, r.actor, encounter, v, tz(request))


async def post(request: Request) -> Response:
    from benhan.web.ui import visit      # visit's form handler (gate, CSRF, re-render with the messages)
    return await visit._post("referral", ("c", "ServiceRequest"), _save, (roles.PROGRESS_NOTE,))(request)
