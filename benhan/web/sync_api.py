"""HTTP of sync (docs/sync.md): the hub's endpoints for nodes, and each server's status.

    POST /sync/enroll   a node presents its invite token (bearer) and public key
    POST /sync/push     a node's batch (application/zstd)        → JSON answer
    GET  /sync/pull     ?since=&limit=[&own=1]                    → application/zstd page
    POST /sync/fetch    {"cccd", "user"}                          → application/zstd record
    GET  /sync/status   this server's sync status (its users and its enrolled nodes)
    GET  /sync/nodes    the hub's dashboard data
    POST /sync/now      wake the node's background sync

`install` adds these routes and the pages (web/sync_pages.py), and starts the background sync of an
enrolled node with the application.
"""
from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benhan import errors
from benhan.sync import enrolment, hub, status, wire
from benhan.web import authn
from benhan.web.background import run_with_app


def _store(request: Request):  # noqa: ANN202
    return request.app.state.store


async def _node(request: Request):  # noqa: ANN202
    return await run_in_threadpool(hub.node_for_client, _store(request), authn.actor(request).client_id)


def _require_hub(request: Request) -> None:
    # Called after the permission checks: a caller without permission learns nothing, not even
    # whether this server is a hub.
    if _store(request).config.role != "hub":
        raise errors.RouteNotFound("this server is not a sync hub (role = hub)")


STAFF = frozenset({"facility_admin", "director", "auditor", "doctor"})


def _require_staff(request: Request, refusal: str) -> None:
    actor = authn.actor(request)
    if actor.kind != "user" or not STAFF.intersection(actor.roles):
        raise errors.Forbidden(refusal)


def _staff_or_node(request: Request) -> None:
    """Sync status is for the server's own users and for its enrolled, unrevoked nodes; a backend
    client with unrelated scopes, or a revoked node, gets 403."""
    actor = authn.actor(request)
    if actor.kind == "user":
        return
    try:
        hub.node_for_client(_store(request), actor.client_id)
    except errors.Forbidden:
        raise errors.Forbidden("sync status is for this server's staff and its nodes") from None


async def _body(request: Request) -> bytes:
    limit = _store(request).config.max_body_bytes
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise errors.PayloadTooLarge(f"the body exceeds {limit} bytes")
    return bytes(data)


async def enroll(request: Request) -> Response:
    # The invite is checked before the role and the body, so a 403 reveals nothing.
    await run_in_threadpool(enrolment.pending_invite, _store(request), authn.actor(request).client_id)
    _require_hub(request)
    try:
        data = orjson.loads(await _body(request))
        node_id, jwks = str(data["node_id"]), orjson.dumps(data["jwks"]).decode()
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise errors.MalformedJson("send {\"node_id\": …, \"jwks\": {\"keys\": [...]}}") from None
    answer = await run_in_threadpool(enrolment.enroll, _store(request), authn.actor(request).client_id,
                                     node_id=node_id, jwks=jwks, source=authn.client_address(request.scope))
    return JSONResponse(answer)


async def push(request: Request) -> Response:
    node = await _node(request)
    _require_hub(request)
    body = await _body(request)
    message = wire.decode(body)
    answer = await run_in_threadpool(hub.receive_push, _store(request), node, message, len(body))
    return JSONResponse(answer)


async def pull(request: Request) -> Response:
    node = await _node(request)
    _require_hub(request)
    try:
        since = int(request.query_params.get("since", "0"))
        limit = int(request.query_params.get("limit", str(hub.PULL_LIMIT)))
        own = request.query_params.get("own", "0") == "1"     # a restored node pulls back its own
    except ValueError:
        raise errors.InvalidHeader("since and limit are whole numbers") from None
    store = _store(request)

    def work() -> bytes:
        data = wire.encode(hub.serve_pull(store, node, since, limit, own=own))
        hub.record_contact(store, node, pulled_to=since, bytes_out=len(data))
        return data
    return Response(await run_in_threadpool(work), media_type=wire.MEDIA_TYPE)


async def fetch(request: Request) -> Response:
    node = await _node(request)
    _require_hub(request)
    try:
        data = orjson.loads(await _body(request))
        cccd, user = str(data["cccd"]).strip(), str(data.get("user") or "")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise errors.MalformedJson("send {\"cccd\": …, \"user\": …}") from None
    store = _store(request)

    def work() -> bytes:
        data = wire.encode(hub.serve_fetch(store, node, cccd, user))
        hub.record_contact(store, node, bytes_out=len(data))
        return data
    return Response(await run_in_threadpool(work), media_type=wire.MEDIA_TYPE)


async def sync_status(request: Request) -> Response:
    await run_in_threadpool(_staff_or_node, request)
    return JSONResponse(await run_in_threadpool(status.node_status, _store(request)))


async def nodes(request: Request) -> Response:
    _require_staff(request, "the hub dashboard is for the hub's staff")
    _require_hub(request)
    return JSONResponse(await run_in_threadpool(status.hub_dashboard, _store(request)))


async def sync_now(request: Request) -> Response:
    _require_staff(request, "starting a sync round is for this facility's staff")
    runner = getattr(request.app.state, "sync_runner", None)
    if runner is None:
        raise errors.RouteNotFound("this server does not sync in the background (role = node, enrolled)")
    runner.sync_now()
    return JSONResponse({"started": True}, status_code=202)


routes = [
    Route("/sync/enroll", enroll, methods=["POST"]),
    Route("/sync/push", push, methods=["POST"]),
    Route("/sync/pull", pull, methods=["GET"]),
    Route("/sync/fetch", fetch, methods=["POST"]),
    Route("/sync/status", sync_status, methods=["GET"]),
    Route("/sync/nodes", nodes, methods=["GET"]),
    Route("/sync/now", sync_now, methods=["POST"]),
]


def install(app: Starlette) -> None:
    """Add the sync routes and pages; run the background sync of an enrolled node with the app."""
    from benhan.web import province, sync_backup_api, sync_pages
    # province: the hub's dashboard for the Sở Y tế and the endpoint nodes post their assessment to;
    # sync_backup_api: where nodes copy their encrypted backups.
    app.router.routes.extend([*routes, *sync_pages.routes, *province.routes, *sync_backup_api.routes])
    run_with_app(app, "sync_runner", _start_runner)


def _start_runner(store):  # noqa: ANN001, ANN202
    if store.config.role != "node" or not status.node_status(store)["enrolled"]:
        return None
    from benhan.sync.runner import SyncRunner
    return SyncRunner(store).start()
