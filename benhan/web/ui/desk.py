"""The registration desk and the worklist: scan a CCCD QR (or type the patient's details), find or
register the patient, open a visit in a room; the rooms' queues of the day; the patient's page.

QR scan to an open visit in three page loads: the desk (1), the scan's answer — the patient found,
or the new-patient form filled from the card, both with the visit fields (2), the save, which
opens the visit and lands on it (3)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from benhan import errors
from benhan.clinical import card_renewal, chart, patient_link, registration, visits
from benhan.clinical.common import FormInvalid, Problems, name_of
from benhan.claims.gateway import CARD_CODES
from benhan.vn.cccd_qr import QrProblem, parse_cccd_qr
from benhan.web import i18n
from benhan.web.ui import paper as paper_ui, svg
from benhan.web.ui.base import back, chart_gate, form, may, messages, page, repo, require, t, today, tz
from benhan.lab import validation as lab_validation

VISIT_FIELDS = ("visit_type", "location", "reason", "route")


def _facility(request: Request, r) -> visits.Facility:  # noqa: ANN001
    return visits.facility(r, request.app.state.store.config.values.get("facility_name"))


def worklist_context(request: Request) -> dict:
    """What the home page adds for a clinician or clerk: the search box, the scan box, the queue."""
    r = repo(request)
    out: dict = {"can_register": may(r, "c", "Patient"), "can_queue": may(r, "s", "Encounter"),
                 "rooms": [], "queue": [], "room": "", "q": request.query_params.get("q", ""), "found": None}
    if out["can_queue"]:
        out["rooms"] = visits.locations(r)
        out["room"] = request.query_params.get("room", "")
        out["queue"] = visits.queue(r, out["room"] or None, today(request))
    if out["q"] and may(r, "s", "Patient"):
        out["found"] = registration.search(r, out["q"])
    # The critical lab values waiting for this doctor's acknowledgement (benhan/lab/critical.py).
    out["lab_flags"] = lab_validation.flags_for(r, r.actor) if may(r, "s", "Flag") else []
    return out


def _register_context(request: Request, r, v: dict[str, str]) -> dict:  # noqa: ANN001
    return {"v": v, "provinces": registration.provinces(), "communes": registration.communes(v.get("province", "")),
            "ethnicities": registration.ethnicities(), "occupations": registration.occupations(),
            "rooms": visits.locations(r), "kinds": visits.OPENABLE, "routes": _routes(request), "similar": [],
            "notice": ""}


def _routes(request: Request) -> list[tuple[str, str]]:
    """The BHYT routes the desk asks when a visit opens (what the fund pays depends on it)."""
    lang = i18n.language(request)
    return [(code, i18n.translate(f"ui.route.{code}", lang)) for code in visits.BHYT_ROUTES]


def _register_page(request: Request, r, v: dict, status: int = 200, errs: dict | None = None, **extra) -> Response:  # noqa: ANN001
    ctx = _register_context(request, r, v)
    ctx["card_check_enabled"] = bool(request.app.state.store.config.bhxh_gateway_url)
    ctx.update(extra)
    return page(request, "ui/register.html", status, errors=errs or {}, **ctx)


async def register_page(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("c", "Patient"))
        return _register_page(request, r, {"ethnicity": "01", "visit_type": "kham-benh"})
    return await run_in_threadpool(work)


async def scan(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Patient"))
    data = await form(request)

    def work() -> Response:
        raw = data.get("qr", "")
        try:
            card = parse_cccd_qr(raw)
        except QrProblem as problem:
            return _register_page(request, r, {"qr": raw, "ethnicity": "01", "visit_type": "kham-benh"}, 400,
                                  {"qr": t(request, "ui.err.qr", why=t(request, f"vn.qr.{problem.key}"))})
        found = registration.find_by_cccd(r, card.cccd)
        if found:
            return back(f"/ui/patients/{found}?found=1")
        v = registration.PatientForm.from_card(card).values
        v.update(visit_type="kham-benh", card_address=card.address)
        return _register_page(request, r, v, notice=t(request, "ui.scan.new"))
    return await run_in_threadpool(work)


async def register(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Patient"))
    data = await form(request)

    def work() -> Response:
        v = {k: (data.get(k) or "").strip() for k in (*registration.FIELDS, *VISIT_FIELDS, "card_address")}
        if data.get("action") == "refresh":
            # No JavaScript: the province changed, show its communes, keep everything typed.
            v["commune"] = ""
            return _register_page(request, r, v)
        if data.get("action") == "card_check":
            return _card_check(request, r, v)
        fac = _facility(request, r)
        pf = registration.PatientForm.from_mapping(v)
        problems = Problems()
        if v["visit_type"] and v["visit_type"] not in visits.OPENABLE:
            problems.add("visit_type", "ui.err.choose")
        if v["visit_type"] and v["location"] not in dict(visits.locations(r)):
            problems.add("location", "ui.err.choose")
        if v["visit_type"] and v.get("route") and v["route"] not in visits.BHYT_ROUTES:
            problems.add("route", "ui.err.choose")
        try:
            checked, birth = registration.check(pf, today(request))
            checked.errors.update(problems.errors)
            checked.raise_if_any()
            done = registration.register(r, pf, r.actor, today(request), fac.organization_id)
        except FormInvalid as exc:
            similar = []
            if "confirm_new" in exc.errors:
                _, similar = registration.duplicates(r, pf, registration.check(pf, today(request))[1])
            return _register_page(request, r, v, 400, messages(request, exc), similar=similar,
                                  duplicate=exc.errors.get("cccd", ("", {}))[1].get("patient"))
        if v["visit_type"]:
            eid = visits.open_visit(r, r.actor, done.patient_id, v["visit_type"], v["location"], v["reason"], fac,
                                    tz(request), route=v.get("route", ""))
            return back(f"/ui/encounters/{eid}")
        return back(f"/ui/patients/{done.patient_id}")
    return await run_in_threadpool(work)


def _card_check(request: Request, r, v: dict[str, str]) -> Response:  # noqa: ANN001
    """The thông tuyến check on the BHXH gateway (claims.gateway), its answer shown on the form; a
    valid card's dates and registered facility fill the fields left empty. The gateway down is not
    a reason to turn the patient away (NĐ 188 Đ38 k2): the answer says to check again later."""
    from benhan.claims import service
    if not (v.get("bhyt") or v.get("cccd")) or not v.get("name") or not v.get("birth_date"):
        return _register_page(request, r, v, card_check={"ok": False, "lines": [t(request, "ui.card_check.need")]})
    try:
        gateway = service.gateway_from_config(request.app.state.store.config)
        answer = gateway.card_check(v.get("bhyt") or v["cccd"], v["name"], v["birth_date"],
                                    r.actor.display or r.actor.name, v.get("staff_cccd", ""))
    except errors.BenhanError as exc:
        return _register_page(request, r, v, card_check={"ok": False, "lines": [
            t(request, "ui.card_check.unavailable", why=exc.message.split(" | ")[0])]})
    lines = [t(request, "ui.card_check.answer", code=answer.code,
               meaning=t(request, f"ui.card.code.{answer.code}") if answer.code in CARD_CODES else answer.note)]
    body = answer.body
    if body.get("gtTheTu"):
        lines.append(t(request, "ui.card_check.valid", card=body.get("maThe", ""), start=body.get("gtTheTu", ""),
                       end=body.get("gtTheDen", ""), place=body.get("maDKBD", ""), five=body.get("ngayDu5Nam") or "—"))
    if answer.ok:
        for field, key in (("bhyt_from", "gtTheTu"), ("bhyt_to", "gtTheDen"), ("bhyt_place", "maDKBD")):
            if not v.get(field) and body.get(key):
                v[field] = str(body[key])
    return _register_page(request, r, v, card_check={"ok": answer.ok, "lines": lines})


async def communes(request: Request) -> Response:
    """The communes of a province, for the address picker's small script."""
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Patient"))
    return JSONResponse([[c, n] for c, n in registration.communes(request.query_params.get("province", ""))])


def _patient_page(request: Request, r, patient_id: str, status: int = 200, v: dict | None = None,  # noqa: ANN001
                  errs: dict | None = None, card_v: dict | None = None, card_errors: dict | None = None) -> Response:
    patient = r.read("Patient", patient_id).json()
    replaced_by = patient_link.replaced_by(patient)
    if replaced_by:
        # A record linked into another (the same person): its chart is the other one.
        return back(f"/ui/patients/{replaced_by}?moved={patient_id}")
    b = chart.banner(r, patient, today(request))
    encounters = chart.listing(r, "Encounter", chart.visits(r, patient_id))
    vitals_permitted = may(r, "s", "Observation")
    trend = svg.trends(chart.patient_vitals(r, patient_id), i18n.language(request)) if vitals_permitted else None
    return page(request, "ui/patient.html", status, banner=b, encounters=encounters, trend=trend,
                vitals_permitted=vitals_permitted, visit_kind=_visit_kind(request),
                rooms=visits.locations(r), kinds=visits.OPENABLE, routes=_routes(request),
                can_open=may(r, "c", "Encounter"),
                found=request.query_params.get("found") == "1", v=v or {"visit_type": "kham-benh"},
                errors=errs or {}, can_link=patient_link.has_no_id(patient) and patient_link.may_link(r),
                linked=_linked_notice(request, r), moved=bool(request.query_params.get("moved")),
                replaces=patient_link.replaces(patient), paper=paper_ui.listing(r, patient_id),
                can_convert=paper_ui.may_convert(r),
                card_permitted=may(r, "s", "Coverage"),
                card=card_renewal.current(r, patient_id) if may(r, "s", "Coverage") else None,
                can_renew=may(r, "c", "Coverage") and may(r, "u", "Patient"),
                card_v=card_v or {}, card_errors=card_errors or {}, renewed=request.query_params.get("card") == "1",
                today_iso=today(request).isoformat())


def _visit_kind(request: Request):  # noqa: ANN202
    """A visit's kind in words when its type carries no display (an Encounter from another system)."""
    def kind(encounter: dict) -> str:
        code = visits.kind_of(encounter)
        if code in visits.OPENABLE:
            return t(request, f"ui.visit.{code}")
        return t(request, f"ui.class.{(encounter.get('class') or {}).get('code', '')}") if (
            encounter.get("class") or {}).get("code") in ("AMB", "EMER", "IMP") else ""
    return kind


def _linked_notice(request: Request, r) -> str:  # noqa: ANN001
    """"The record of X was linked into this one", after a link (the name read back, audited)."""
    source = request.query_params.get("linked", "")
    if not source:
        return ""
    try:
        return t(request, "ui.link.done", name=name_of(r.read("Patient", source).json()))
    except errors.BenhanError:      # a bad id in the address: no notice rather than an error page
        return ""


async def patient_page(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        chart_gate(r)
        return _patient_page(request, r, request.path_params["id"])
    return await run_in_threadpool(work)


async def renew_card(request: Request) -> Response:
    """The patient's new BHYT card (renewed for the year, or a new number), from the patient page."""
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Coverage"))
    if request.method == "GET":
        return back(f"/ui/patients/{request.path_params['id']}")
    data = await form(request)

    def work() -> Response:
        pid = request.path_params["id"]
        v = {k: (data.get(k) or "").strip() for k in card_renewal.CARD_FIELDS}
        try:
            card_renewal.record(r, r.actor, pid, v)
        except FormInvalid as exc:
            return _patient_page(request, r, pid, 400, card_v=v, card_errors=messages(request, exc))
        return back(f"/ui/patients/{pid}?card=1")
    return await run_in_threadpool(work)


async def open_visit(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Encounter"))
    if request.method == "GET":
        return back(f"/ui/patients/{request.path_params['id']}")
    data = await form(request)

    def work() -> Response:
        pid = request.path_params["id"]
        r.read("Patient", pid)      # 404 / 403 before anything is written
        v = {k: (data.get(k) or "").strip() for k in VISIT_FIELDS}
        try:
            eid = visits.open_visit(r, r.actor, pid, v["visit_type"], v["location"], v["reason"],
                                    _facility(request, r), tz(request), route=v["route"])
        except FormInvalid as exc:
            return _patient_page(request, r, pid, 400, v, messages(request, exc))
        return back(f"/ui/encounters/{eid}")
    return await run_in_threadpool(work)

