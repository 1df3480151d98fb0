"""The last net: an exception nothing else handled becomes a logged 500 OperationOutcome here,
inside the transport middlewares — so even that answer carries the security headers (Starlette's
own catch-all answers from outside every middleware)."""
from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from benhan import errors
from benhan.web import http

log = logging.getLogger(__name__)


class CrashGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)
        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:      # too late for another answer: the connection is closed by the server
                raise
            if isinstance(exc, errors.BenhanError):     # e.g. the database busy while authenticating
                await http.error_response(exc)(scope, receive, send)
                return
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            await http.error_response(errors.InternalError())(scope, receive, send)
