"""The MoH printouts of a visit: the print view (HTML, printed by the browser) and the PDF, each
print written to the audit trail.

The PDFs of the forms the layout engine draws (benhan.documents.forms: 15/BV1, 01/BV1, the prescription,
the slips, the discharge paper, the death notice …) come from it. The HTML view shows the old structure
for the forms it has; a form only the engine draws answers its PDF there too."""
from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.clinical.common import now
from benhan.clinical.printouts import audit, forms, pdf
from benhan.documents import whole_record
from benhan.documents.forms import printing
from benhan.web.ui.base import page, repo, require, today, tz

log = logging.getLogger("benhan.printouts")
RESULT_SHEETS = ("labresult", "imagingresult")


def _context(request: Request) -> tuple:
    r = repo(request)
    form = request.query_params.get("form", "")
    # A result sheet is the laboratory's paper: printed by whoever reads results (a technician reads no
    # diagnoses; the sheet's diagnosis then comes from the order alone).
    require(r, ("r", "DiagnosticReport" if printing.split(form)[0] in RESULT_SHEETS else "Condition"))
    if form not in forms.FORMS and not printing.handles(form):
        raise errors.NotFound(f"no printout {form!r}")
    store = request.app.state.store
    ctx = forms.gather(r, request.path_params["id"], today(request), store.config.values.get("facility_name"))
    hidden = printing.hidden_parts(form, ctx) if printing.handles(form) else forms.hidden_parts(form, ctx.rec)
    for res_type in hidden:
        # A paper record with a part the reader may not see would read as "nothing recorded": refused (audited).
        r.permit("s", res_type, "read")
    version = int(ctx.encounter.get("meta", {}).get("versionId", "0")) or None
    return r, store, form, ctx, version


def _printout(request: Request, as_pdf: bool) -> tuple[forms.Printout, int | None]:
    r, store, form, ctx, version = _context(request)
    base = f"{request.url.scheme}://{request.url.netloc}"
    printout = forms.build(ctx, form, r.actor, now(tz(request)), base)
    audit.record_print(store, r.actor, printout, ctx.encounter["id"], version, as_pdf, patients=r.released)
    return printout, version


def _engine_pdf(request: Request) -> Response:
    r, store, form, ctx, version = _context(request)
    base = f"{request.url.scheme}://{request.url.netloc}"
    printed = printing.print_form(r, ctx, form, r.actor, now(tz(request)), base, store.config.values)
    audit.record_print(store, r.actor, printed.printout, ctx.encounter["id"], version, True, patients=r.released)
    headers = {"content-disposition": f'inline; filename="{form}-{printed.printout.mark.lookup_code}.pdf"'}
    if printed.warnings:
        # TT 32 Đ52 k2 c: printed, with the words to correct named (percent-encoded: a header is Latin-1).
        log.warning("form %s of encounter %s: %s", form, ctx.encounter["id"], printed.message)
        headers["x-benhan-form-warnings"] = quote(printed.message)
    return Response(printed.pdf, media_type="application/pdf", headers=headers)


async def print_view(request: Request) -> Response:
    def work() -> Response:
        if request.query_params.get("form", "") not in forms.FORMS and printing.handles(
                request.query_params.get("form", "")):
            return _engine_pdf(request)
        printout, _ = _printout(request, False)
        return page(request, "ui/print.html", p=printout, encounter_id=request.path_params["id"])
    return await run_in_threadpool(work)


async def print_pdf(request: Request) -> Response:
    def work() -> Response:
        if printing.handles(request.query_params.get("form", "")):
            return _engine_pdf(request)
        printout, _ = _printout(request, True)
        body = pdf.render(printout)
        name = f"{printout.form}-{printout.mark.lookup_code}.pdf"
        return Response(body, media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="{name}"'})
    return await run_in_threadpool(work)


async def whole_record_pdf(request: Request) -> Response:
    """The whole record of the visit as one PDF (CV 365 III.1.1a; benhan.documents.whole_record),
    one audit event naming the forms it holds."""
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "Condition"))
        store = request.app.state.store
        ctx = forms.gather(r, request.path_params["id"], today(request), store.config.values.get("facility_name"))
        base = f"{request.url.scheme}://{request.url.netloc}"
        whole = whole_record.build(r, ctx, r.actor, now(tz(request)), base, store.config.values)
        version = int(ctx.encounter.get("meta", {}).get("versionId", "0")) or None
        whole_record.record_print(store, r.actor, whole, ctx.encounter["id"], version, patients=r.released)
        name = f"ho-so-benh-an-{whole.lookup_code}.pdf"
        return Response(whole.pdf, media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="{name}"'})
    return await run_in_threadpool(work)
