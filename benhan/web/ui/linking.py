"""Linking a patient registered without an identity document to the identified patient (the same
person), at /ui/patients/{id}/link: search by CCCD or name (?q=, 1), a confirmation page with both
banners and the reason (?to=, 2), the link (POST with `target`, 3) — clinical/patient_link.py does
the work in one transaction; this is the page flow."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan.clinical import chart, patient_link
from benhan.web.ui.base import back, chart_gate, form, page, repo, t, today, tz


def _gate(r) -> None:  # noqa: ANN001
    """403 (audited) unless the user may change the whole record (a doctor; not a registrar)."""
    chart_gate(r)
    patient_link.require_access(r)


def _source(request: Request, r) -> dict:  # noqa: ANN001
    return r.read("Patient", request.path_params["id"]).json()


def _search_page(request: Request, r, source: dict) -> Response:  # noqa: ANN001
    q = request.query_params.get("q", "").strip()
    found = patient_link.candidates(r, q, source["id"]) if q else None
    return page(request, "ui/link.html", banner=chart.banner(r, source, today(request)), q=q, found=found)


def _confirm_page(request: Request, r, source: dict, target: dict, status: int = 200,  # noqa: ANN001
                  v: dict | None = None, errs: dict | None = None, refused: str = "") -> Response:
    return page(request, "ui/link_confirm.html", status, source=chart.banner(r, source, today(request)),
                target=chart.banner(r, target, today(request)), v=v or {}, errors=errs or {}, refused=refused,
                visits_source=len(chart.visits(r, source["id"])), visits_target=len(chart.visits(r, target["id"])))


async def link_page(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(_gate, r)
    values = await form(request) if request.method == "POST" else {}

    def work() -> Response:
        source = _source(request, r)
        if request.method == "GET" and patient_link.is_replaced(source):
            return back(f"/ui/patients/{patient_link.replaced_by(source)}?moved={source['id']}")
        target_id = values.get("target", "") if request.method == "POST" else request.query_params.get("to", "")
        if not target_id:
            return _search_page(request, r, source)
        target = r.read("Patient", target_id).json()
        if request.method == "GET":
            refused = ""
            try:
                patient_link.check(source, target, "...")
            except patient_link.LinkRefused as exc:
                refused = t(request, exc.key)
            return _confirm_page(request, r, source, target, refused=refused)
        try:
            patient_link.link(r, source["id"], target["id"], values.get("reason", ""), tz(request))
        except patient_link.LinkRefused as exc:
            if exc.key == "ui.link.err.reason":
                return _confirm_page(request, r, source, target, 400, values, {"reason": t(request, exc.key)})
            return _confirm_page(request, r, source, target, 409, values, refused=t(request, exc.key))
        return back(f"/ui/patients/{target['id']}?linked={source['id']}")
    return await run_in_threadpool(work)
