"""The provincial dashboard at the hub (docs/sync.md "The provincial dashboard"), and the endpoint
nodes post their self-assessment to.

    POST /sync/assessment   an enrolled node's `benhan assess --post` (JSON) → kept as its latest
    GET  /province          the dashboard (read-only) for the hub's director, auditor and admin
    GET  /province.csv      the same per facility as CSV

Everything here reads small aggregate rows (benhan/assess/province.py); nothing touches a record.
"""
from __future__ import annotations

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benhan import errors
from benhan.assess import province
from benhan.sync import hub
from benhan.vn.display import number
from benhan.web import authn
from benhan.web.i18n import language, translate
from benhan.web.session import session_user
from benhan.web.templates import render

# The Sở Y tế's people at the hub: read-only (the dashboard changes nothing).
VIEWERS = frozenset({"director", "auditor", "facility_admin"})


def _viewer(request: Request) -> None:
    user = session_user(request)
    if user is None:
        raise errors.Unauthenticated("log in first")
    if not VIEWERS.intersection(user.roles):
        raise errors.Forbidden("the provincial dashboard is for the hub's director, auditor and admin")
    if request.app.state.store.config.role != "hub":
        raise errors.RouteNotFound("this server is not a sync hub (role = hub)")


async def post_assessment(request: Request) -> Response:
    store = request.app.state.store
    node = await run_in_threadpool(hub.node_for_client, store, authn.actor(request).client_id)
    if store.config.role != "hub":
        raise errors.RouteNotFound("this server is not a sync hub (role = hub)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > province.MAX_REPORT_BYTES:
            raise errors.PayloadTooLarge(f"an assessment report is at most {province.MAX_REPORT_BYTES} bytes")
    try:
        report = orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        raise errors.MalformedJson("send the JSON of `benhan assess --json`") from None
    if not isinstance(report, dict):
        raise errors.MalformedJson("send the JSON of `benhan assess --json`")
    return JSONResponse(await run_in_threadpool(province.receive, store, node, report, len(body)))


async def page(request: Request) -> Response:
    _viewer(request)
    lang = language(request)
    data = await run_in_threadpool(province.dashboard, request.app.state.store)
    chart = province.progress_svg(data["history"], translate("province.chart", lang))
    bars = {f["node"]: province.records_svg(f, translate("province.records_per_day", lang))
            for f in data["facilities"]}
    # Decimals as the reader writes them (39,1 % in Vietnamese).
    return render(request, "province/dashboard.html", data=data, chart=chart, bars=bars,
                  num=lambda value: number(value, lang))


async def csv_export(request: Request) -> Response:
    _viewer(request)
    data = await run_in_threadpool(province.dashboard, request.app.state.store)
    return Response(province.to_csv(data), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="benhan-province.csv"'})


routes = [
    Route("/sync/assessment", post_assessment, methods=["POST"]),
    Route("/province", page, methods=["GET"]),
    Route("/province.csv", csv_export, methods=["GET"]),
]
