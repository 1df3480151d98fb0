"""The MoH printouts of a visit: the print view (HTML, printed by the browser) and the PDF, each
print written to the audit trail.

Both are the layout engine's (benhan.documents.forms: 15/BV1, 01/BV1, the prescription, the slips, the
discharge paper, the sheets …): the PDF drawn by layout/render.py, the print view by layout/html.py from
the same definition and data, so the browser's print gives the paper's layout. The form's page CSS
(@page size, the patient on every page) is inline, allowed by its hash in this page's CSP."""
from __future__ import annotations

import base64
import hashlib
import logging
from urllib.parse import quote

from markupsafe import Markup

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.clinical.common import now
from benhan.clinical.printouts import audit, forms
from benhan.web.lazy import lazy_module
from benhan.web.security_headers import CONTENT_SECURITY_POLICY
from benhan.web.ui.base import page, repo, require, today, tz

# The PDF stack at first use (web/lazy.py):
whole_record = lazy_module("benhan.documents.whole_record")
printing = lazy_module("benhan.documents.forms.printing")

log = logging.getLogger("benhan.printouts")
RESULT_SHEETS = ("labresult", "imagingresult")


def _context(request: Request) -> tuple:
    r = repo(request)
    form = request.query_params.get("form", "")
    # A result sheet is the laboratory's paper: printed by whoever reads results (a technician reads no
    # diagnoses; the sheet's diagnosis then comes from the order alone).
    require(r, ("r", "DiagnosticReport" if printing.split(form)[0] in RESULT_SHEETS else "Condition"))
    if not printing.handles(form):
        raise errors.NotFound(f"no printout {form!r}")
    store = request.app.state.store
    ctx = forms.gather(r, request.path_params["id"], today(request), store.config.values.get("facility_name"))
    hidden = printing.hidden_parts(form, ctx)
    for res_type in hidden:
        # A paper record with a part the reader may not see would read as "nothing recorded": refused (audited).
        r.permit("s", res_type, "read")
    version = int(ctx.encounter.get("meta", {}).get("versionId", "0")) or None
    return r, store, form, ctx, version


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


def _engine_html(request: Request) -> Response:
    r, store, form, ctx, version = _context(request)
    base = f"{request.url.scheme}://{request.url.netloc}"
    printed = printing.print_html(r, ctx, form, r.actor, now(tz(request)), base, store.config.values)
    audit.record_print(store, r.actor, printed.printout, ctx.encounter["id"], version, False, patients=r.released)
    css = printed.rendered.css
    response = page(request, "ui/print_form.html", title=printed.rendered.title, css=Markup(css),
                    body=Markup(printed.rendered.html), form=form, encounter_id=request.path_params["id"],
                    warnings=printed.message)
    # The form's own page CSS (its paper size, the patient's name in every page's margin) is one inline
    # <style>: allowed by its hash, nothing else inline.
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", f"style-src 'self' 'sha256-{digest}'")
    if printed.warnings:
        log.warning("form %s of encounter %s: %s", form, ctx.encounter["id"], printed.message)
    return response


async def print_view(request: Request) -> Response:
    def work() -> Response:
        return _engine_html(request)
    return await run_in_threadpool(work)


async def print_pdf(request: Request) -> Response:
    def work() -> Response:
        return _engine_pdf(request)
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
