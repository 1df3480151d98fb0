"""The MoH printouts of a visit: the print view (HTML, printed by the browser) and the PDF, both
from one structure (benhan.clinical.printouts), each print written to the audit trail."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.clinical.common import now
from benhan.clinical.printouts import audit, forms, pdf
from benhan.web.ui.base import page, repo, require, today, tz


def _printout(request: Request, as_pdf: bool) -> tuple[forms.Printout, int | None]:
    r = repo(request)
    require(r, ("r", "Condition"))
    form = request.query_params.get("form", "")
    if form not in forms.FORMS:
        raise errors.NotFound(f"no printout {form!r}")
    store = request.app.state.store
    ctx = forms.gather(r, request.path_params["id"], today(request), store.config.values.get("facility_name"))
    for res_type in forms.hidden_parts(form, ctx.rec):
        # A paper record with a part the reader may not see would read as "nothing recorded": refused (audited).
        r.permit("s", res_type, "read")
    base = f"{request.url.scheme}://{request.url.netloc}"
    printout = forms.build(ctx, form, r.actor, now(tz(request)), base)
    version = int(ctx.encounter.get("meta", {}).get("versionId", "0")) or None
    audit.record_print(store, r.actor, printout, ctx.encounter["id"], version, as_pdf, patients=r.released)
    return printout, version


async def print_view(request: Request) -> Response:
    def work() -> Response:
        printout, _ = _printout(request, False)
        return page(request, "ui/print.html", p=printout, encounter_id=request.path_params["id"])
    return await run_in_threadpool(work)


async def print_pdf(request: Request) -> Response:
    def work() -> Response:
        printout, _ = _printout(request, True)
        body = pdf.render(printout)
        name = f"{printout.form}-{printout.mark.lookup_code}.pdf"
        return Response(body, media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="{name}"'})
    return await run_in_threadpool(work)
