"""The technician's specimen collection on the lab worklist (benhan/lab/specimens.py): "Lấy mẫu"
creates the order's Specimen and opens its barcode label, a small PDF to print on the tube."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.web.lazy import lazy_module
from benhan.web import i18n
from benhan.web.ui import bench
from benhan.web.ui.base import back, form, repo, require, tz

specimens = lazy_module("benhan.lab.specimens")   # the barcode and PDF stack at first use (web/lazy.py)


async def collect(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Specimen"))
    if request.method == "GET":
        return back("/ui/lab")
    await form(request)
    order_id = request.path_params["id"]

    def work() -> Response:
        try:
            specimen_id = specimens.collect(r, r.actor, order_id, tz(request))
        except specimens.CollectionRefused as exc:
            return bench._lab_page(request, r, 409, errors={"form": i18n.translate(exc.key, i18n.language(request))})
        except errors.VersionConflict:
            return bench._lab_page(request, r, 409,
                                   errors={"form": i18n.translate("ui.lab.err.already_collected", i18n.language(request))})
        return back(f"/ui/lab?label={specimen_id}#o-{order_id}")
    return await run_in_threadpool(work)


async def label(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "Specimen"))
        data = specimens.label_of(r, request.path_params["id"])
        return Response(specimens.label_pdf(data), media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="nhan-mau-{data.accession[:8]}.pdf"'})
    return await run_in_threadpool(work)


routes = [
    Route("/ui/lab/{id}/specimen", collect, methods=["GET", "POST"]),
    Route("/ui/lab/specimens/{id}/label.pdf", label),
]
