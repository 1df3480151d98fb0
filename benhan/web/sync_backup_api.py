"""The hub's endpoint a node copies its scheduled encrypted backups to (benhan/sync/backup_copy.py).

    PUT /sync/backup/{name}   an enrolled node's encrypted backup file (application/octet-stream)

Authenticated as the node like the other sync endpoints (anyone else 403). The body is streamed to
a partial file, never held whole in memory, and refused beyond `hub_backup_max_mb` (413).
"""
from __future__ import annotations

import os

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benhan import errors
from benhan.sync import backup_copy, hub
from benhan.web import authn


async def put_backup(request: Request) -> Response:
    store = request.app.state.store
    node = await run_in_threadpool(hub.node_for_client, store, authn.actor(request).client_id)
    if store.config.role != "hub":
        raise errors.RouteNotFound("this server is not a sync hub (role = hub)")
    name = backup_copy.check_name(request.path_params["name"])
    limit = backup_copy.max_bytes(store.config)
    too_big = errors.PayloadTooLarge(f"a node's backup is at most {store.config.hub_backup_max_mb} MB "
                                     "here (hub_backup_max_mb)")
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        raise errors.InvalidHeader("Content-Length is a whole number") from None
    if declared > limit:
        raise too_big
    partial = await run_in_threadpool(backup_copy.partial_path,
                                      backup_copy.node_folder(store.config.data_dir, node.node_id), name)
    size = 0
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_big
                await run_in_threadpool(out.write, chunk)
        answer = await run_in_threadpool(backup_copy.accept, store, node, partial, name, size)
    finally:
        partial.unlink(missing_ok=True)       # refused or cut off: nothing half-written stays
    return JSONResponse(answer, status_code=201)


routes = [Route("/sync/backup/{name}", put_backup, methods=["PUT"])]
