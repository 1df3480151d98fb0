"""The last net: an exception nothing else handled becomes a logged 500 OperationOutcome here,
the outermost of our middlewares, which also adds the security headers — so even that answer
carries them (Starlette's own catch-all answers from outside every middleware)."""
from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from benhan import errors
from benhan.web import http, security_headers

log = logging.getLogger(__name__)


class CrashGuard:
    """The last net and the security headers (web/security_headers.py) in one layer: one wrapper
    of `send` per request instead of two (a read by id is a few hundred µs; each layer counts)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        add, no_store = security_headers.added(scope)
        started = False

        async def secure(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": security_headers.secured(message.get("headers", []), add, no_store)}
            await send(message)
        try:
            await self.app(scope, receive, secure)
        except Exception as exc:
            if started:      # too late for another answer: the connection is closed by the server
                raise
            if isinstance(exc, errors.BenhanError):     # e.g. the database busy while authenticating
                await http.error_response(exc)(scope, receive, secure)
                return
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            await http.error_response(errors.InternalError())(scope, receive, secure)
