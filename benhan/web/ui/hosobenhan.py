"""The visit page's "Xuất hồ sơ (CV 365)" buttons: the visit's record as the CV 365 `HoSoBenhAn`
XML or JSON, downloaded (docs/hosobenhan.md). The reader's access rules apply (a role that may not
read a part of the record is refused, not handed a record with a hole); each download is one audit
event. A record that does not fit the schema is a page in the reader's language naming the field to
fix, never a broken file."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.exchange.hosobenhan import audit, export
from benhan.web.templates import render
from benhan.web.ui.base import repo, t


def _work(request: Request) -> Response:
    r = repo(request)
    export.require_reads(r)
    try:
        fmt = export.check_format(request.query_params.get("format", "xml"))
    except errors.InvalidOperationParameter as exc:
        return render(request, "error.html", exc.status, message=t(request, "ui.hsba.format"), code=exc.code)
    eid = request.path_params["id"]
    try:
        done = export.export_episode(r, eid, fmt)
    except errors.RecordExportInvalid as exc:
        return render(request, "error.html", exc.status, message=t(request, "ui.hsba.invalid", detail=exc.message),
                      code=exc.code)
    audit.record_export(request.app.state.store, r.actor, done, ("Encounter", eid), patients=r.released)
    return Response(done.content, media_type=f"{done.media_type}; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{done.filename}"'})


async def download(request: Request) -> Response:
    return await run_in_threadpool(_work, request)
