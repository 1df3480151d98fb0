"""The lab technician's and the pharmacist's home pages: the laboratory worklist with result entry,
and the prescriptions waiting to be handed over. Each is a short list of what is waiting, oldest
first, and one form per item; the chart stays the doctor's."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.clinical import dispensing, laboratory, orders, procedures, registration
from benhan.clinical.common import FormInvalid
from benhan.lab import validation as lab_validation
from benhan.pharmacy import dispense as pharmacy_dispensing
from benhan.web import i18n
from benhan.web.ui.base import back, form, messages, page, repo, require, today, tz


def _lab_page(request: Request, r, status: int = 200, **extra) -> Response:  # noqa: ANN001
    done = request.query_params.get("done", "")
    done_rows = laboratory.results_of(r, done) if done else []
    q = request.query_params.get("q", "").strip()
    after = request.query_params.get("after", "")
    shown_from = _int(request.query_params.get("from", ""))
    listed = laboratory.worklist(r, tz(request), cursor=after or None, patient_text=q)
    items = listed.items
    failed = extra.get("failed")
    if failed and all(item.order["id"] != failed for item in items):
        items = [laboratory.work_item(r, failed, tz(request)), *items]    # keep what was typed in view
    if not after:
        shown_from = 0
    # The analyser's results not yet validated technically (benhan/lab): shown under their order.
    analysed = {}
    for item in items:
        report = _report_of(r, item.order["id"])
        if report and report.get("status") == "preliminary" and not lab_validation.technical_by(report):
            analysed[item.order["id"]] = (report, laboratory.results_of(r, item.order["id"]))
    return page(request, "ui/lab.html", status, items=items, done=done, analysed=analysed, q=q,
                total=listed.total, shown_from=shown_from, next_cursor=listed.next_cursor,
                done_rows=done_rows, done_report=_report_of(r, done) if done else None,
                result_field=orders.result_field, staff=procedures.practitioners(r), **extra)


def _int(text: str) -> int:
    """A page's position from the query (shown only: a wrong one is 0)."""
    return int(text) if text.isdigit() and len(text) < 9 else 0


def _report_of(r, order_id: str) -> dict | None:  # noqa: ANN001
    """The result report of an order, to print its sheet (17/BV2 …) from the worklist."""
    found = r.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order_id}"), ("_count", "1")])
    return next((m.json() for m in found.matches), None)


async def lab_worklist(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("c", "DiagnosticReport"))
        return _lab_page(request, r)
    return await run_in_threadpool(work)


async def lab_results(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "DiagnosticReport"))
    if request.method == "GET":
        return back("/ui/lab")
    values = await form(request)
    order_id = request.path_params["id"]

    def work() -> Response:
        order, patient = laboratory.order_for_results(r, order_id)
        if order.get("status") != "active" or orders.kind_of(order) != "lab":
            return back(f"/ui/lab?done={order_id}")
        try:
            orders.enter_results(r, r.actor, order, patient.get("gender") == "female", values, tz(request),
                                 birth_date=patient.get("birthDate"))
        except FormInvalid as exc:
            return _lab_page(request, r, 400, v=values, failed=order_id, errors=messages(request, exc))
        except errors.VersionConflict:
            return _lab_page(request, r, 409, v=values, failed=order_id,
                             errors={"form": i18n.translate("ui.err.conflict", i18n.language(request))})
        return back(f"/ui/lab?done={order_id}")
    return await run_in_threadpool(work)


async def lab_technical(request: Request) -> Response:
    """The technician's technical validation of an analyser's results (benhan/lab/validation.py)."""
    r = repo(request)
    await run_in_threadpool(require, r, ("u", "DiagnosticReport"))
    if request.method == "GET":
        return back("/ui/lab")
    await form(request)
    report_id = request.path_params["id"]

    def work() -> Response:
        try:
            lab_validation.technical(r, r.actor, report_id, tz(request))
        except lab_validation.ValidationRefused as exc:
            return _lab_page(request, r, 409, errors={"form": i18n.translate(exc.key, i18n.language(request))})
        except errors.VersionConflict:
            return _lab_page(request, r, 409, errors={"form": i18n.translate("ui.err.conflict", i18n.language(request))})
        return back("/ui/lab")
    return await run_in_threadpool(work)


# Prescriptions the pharmacy page lists at once, oldest first; past that it says so, and the
# search finds the patient at the window (or the prescription by its number).
PHARMACY_PAGE = 100


def _pharmacy_page(request: Request, r, status: int = 200, **extra) -> Response:  # noqa: ANN001
    q = request.query_params.get("q", "").strip()
    if q:
        found = dispensing.to_dispense(r, tz(request), PHARMACY_PAGE, number=q)
        if not found:
            found = dispensing.to_dispense(r, tz(request), PHARMACY_PAGE + 1,
                                           patients=registration.matching_ids(r, q))
    else:
        found = dispensing.to_dispense(r, tz(request), PHARMACY_PAGE + 1)
    return page(request, "ui/pharmacy.html", status, prescriptions=found[:PHARMACY_PAGE], q=q,
                more=len(found) > PHARMACY_PAGE, done=request.query_params.get("done", ""), **extra)


async def pharmacy(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("c", "MedicationDispense"))
        return _pharmacy_page(request, r)
    return await run_in_threadpool(work)


async def pharmacy_dispense(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "MedicationDispense"))
    if request.method == "GET":
        return back("/ui/pharmacy")
    values = await form(request)

    def work() -> Response:
        number = values.get("number", "")
        try:
            # Against the main store's stock (benhan.pharmacy): refused, naming the drug, when short.
            pharmacy_dispensing.dispense(r, r.actor, number, today=today(request), tz=tz(request))
        except FormInvalid as exc:
            return _pharmacy_page(request, r, 400, errors=messages(request, exc))
        except errors.VersionConflict:
            return _pharmacy_page(request, r, 409,
                                  errors={"form": i18n.translate("ui.err.conflict", i18n.language(request))})
        return back(f"/ui/pharmacy?done={number}")
    return await run_in_threadpool(work)
