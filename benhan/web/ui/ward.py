"""The wards: the ward board of a department (the nurse's and doctor's inpatient home), the bed card of
the visit page (admit to a bed, move bed, leave of absence and return), bed status, and the admin
page that defines a department's rooms and beds (clinical.beds, clinical.ward_board)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.clinical import beds, visits, ward_board
from benhan.clinical.admission import parse_datetime
from benhan.clinical.common import FormInvalid, now
from benhan.store.repository import Repository
from benhan.web import i18n
from benhan.web.ui.base import back, chart_gate, form, may, messages, page, repo, require, tz


def card(r: Repository, encounter: dict) -> dict:
    """The visit page's bed card: where the patient lies, the free beds of the department, the leave."""
    if not visits.is_inpatient(encounter) or not may(r, "r", "Location"):
        return {}
    here = beds.current_bed(encounter)
    room = beds.current_room(encounter)
    dept = beds.current_department(encounter) or ""
    open_ = encounter.get("status") in beds.OPEN
    free = [(b.id, f"{b.room} — {b.name}") for b in beds.layout(r, dept) if _free(r, b)] if open_ else []
    others = []
    if open_:
        for did, dname in beds.departments_with_beds(r):
            if did != dept:
                others += [(b.id, f"{dname} — {b.room} — {b.name}") for b in beds.layout(r, did) if _free(r, b)]
    return {"bed": (here or {}).get("location", {}).get("display", ""),
            "room": (room or {}).get("location", {}).get("display", ""),
            "since": (here or {}).get("period", {}).get("start", ""),
            "history": beds.bed_stays(encounter), "free": free, "transfer_beds": others,
            "leave": beds.leave_now(encounter), "department": dept,
            "may_edit": open_ and may(r, "u", "Encounter")}


def _free(r: Repository, b: beds.Bed) -> bool:
    if b.status == "U":
        return True
    return b.status == "O" and not beds._is_open(r, b.occupant)   # its stay has ended: free


def _bed(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    action = v.get("action", "")
    if action == "leave":
        try:
            until = parse_datetime(v.get("leave_until", ""), tz(request))
        except ValueError:
            raise FormInvalid({"leave_until": ("ui.err.date", {})}) from None
        beds.start_leave(r, r.actor, encounter, tz(request), until=until)
    elif action == "return":
        beds.end_leave(r, r.actor, encounter, tz(request))
    else:
        beds.assign(r, r.actor, encounter, v.get("bed", ""), tz(request))


async def bed_post(request: Request) -> Response:
    from benhan.web.ui import visit      # visit's form handler (gate, CSRF, re-render with the messages)
    return await visit._post("bed", ("u", "Encounter"), _bed)(request)


# --- the board -------------------------------------------------------------------------------------

def _board_page(request: Request, r: Repository, department_id: str, status: int = 200, **extra) -> Response:  # noqa: ANN003
    b = ward_board.board(r, department_id, now(tz(request)), tz(request))
    lang = i18n.language(request)
    li = 0 if lang == "vi" else 1
    return page(request, "ui/ward.html", status, board=b, departments=beds.departments_with_beds(r),
                statuses=[(k, v[li]) for k, v in beds.STATUSES.items() if k in beds.SETTABLE],
                status_names={k: v[li] for k, v in beds.STATUSES.items()},
                may_set=may(r, "u", "Encounter"), **extra)


async def ward_home(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        chart_gate(r)           # the board shows diagnoses, orders and alerts: the chart's readers, not the cashier
        deps = beds.departments_with_beds(r)
        if len(deps) == 1:
            return back(f"/ui/ward/{deps[0][0]}")
        return page(request, "ui/ward.html", board=None, departments=deps, statuses=[], status_names={},
                    may_set=False)
    return await run_in_threadpool(work)


async def ward_page(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        chart_gate(r)           # the board shows diagnoses, orders and alerts: the chart's readers, not the cashier
        return _board_page(request, r, request.path_params["id"])
    return await run_in_threadpool(work)


async def bed_status_post(request: Request) -> Response:
    did = request.path_params["id"]
    r = repo(request)
    await run_in_threadpool(require, r, ("u", "Encounter"))
    if request.method == "GET":
        return back(f"/ui/ward/{did}")
    values = await form(request)

    def work() -> Response:
        try:
            beds.set_status(r, r.actor, values.get("bed", ""), values.get("bed_status", ""))
        except FormInvalid as exc:
            return _board_page(request, r, did, 400, errors=messages(request, exc))
        except errors.VersionConflict:
            return _board_page(request, r, did, 409,
                               errors={"form": i18n.translate("ui.err.conflict", i18n.language(request))})
        return back(f"/ui/ward/{did}")
    return await run_in_threadpool(work)


# --- rooms and beds (facility_admin) ---------------------------------------------------------------

def _admin_page(request: Request, r: Repository, status: int = 200, **extra) -> Response:  # noqa: ANN003
    deps = visits.locations(r)
    layout = [(did, name, beds.layout(r, did), _rooms(r, did)) for did, name in deps]
    return page(request, "ui/admin_beds.html", status, departments=deps, layout=layout,
                saved=bool(request.query_params.get("saved")),
                rooms=[(rid, f"{name} — {rname}") for did, name, _, rs in layout for rid, rname in rs], **extra)


def _rooms(r: Repository, did: str) -> list[tuple[str, str]]:
    return sorted(((m.res_id, m.json().get("name", "")) for m in r.search_all(
        "Location", [("partof", f"Location/{did}")])
        if beds.physical_type(m.json()) == "ro"), key=lambda x: beds._natural(x[1]))


async def admin_beds(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Location"))
    if request.method == "GET":
        return await run_in_threadpool(_admin_page, request, r)
    values = await form(request)

    def work() -> Response:
        try:
            if values.get("action") == "room":
                beds.define_room(r, r.actor, values.get("room_department", ""), values.get("room_name", ""))
            else:
                beds.define_bed(r, r.actor, values.get("bed_room", ""), values.get("bed_name", ""))
        except FormInvalid as exc:
            return _admin_page(request, r, 400, errors=messages(request, exc), v=values)
        return back("/ui/admin/beds?saved=1")
    return await run_in_threadpool(work)


routes = [
    Route("/ui/ward", ward_home),
    Route("/ui/ward/{id}", ward_page),
    Route("/ui/ward/{id}/bed-status", bed_status_post, methods=["GET", "POST"]),
    Route("/ui/encounters/{id}/bed", bed_post, methods=["GET", "POST"]),
    Route("/ui/admin/beds", admin_beds, methods=["GET", "POST"]),
]
