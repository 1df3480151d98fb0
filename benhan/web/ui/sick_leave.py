"""The sick-leave card of the visit page: the doctor issues the certificate of leave with social-insurance
pay (clinical.sick_leave: the days off, số seri, mã số BHXH, the treatment, the parents of a child under 7,
a note) and prints it (TT 25/2025 Mẫu 07, the `sickleave` form)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from benhan.auth import roles
from benhan.clinical import sick_leave
from benhan.clinical.common import vn_date
from benhan.store.repository import Repository
from benhan.web.ui.base import may, may_act, tz


def card(r: Repository, encounter: dict) -> dict:
    """The visit's certificates (newest first: the paper prints the newest) and whether this user may issue one."""
    given = sick_leave.of_visit(r, encounter) if may(r, "s", "Basic") else []
    return {"given": [(b, *(vn_date(x) for x in sick_leave.period_of(b))) for b in given],
            "may_write": may(r, "c", "Basic") and may_act(r, roles.PROGRESS_NOTE)
            and encounter.get("status") != "entered-in-error"}


def _save(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    sick_leave.record(r, r.actor, encounter, v, tz(request))


async def post(request: Request) -> Response:
    from benhan.web.ui import visit      # visit's form handler (gate, CSRF, re-render with the messages)
    return await visit._post("sick-leave", ("c", "Basic"), _save, (roles.PROGRESS_NOTE,))(request)
