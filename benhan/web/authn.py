"""Authentication of every request, before any route runs: a bearer token (OAuth; API clients) or
the web session cookie (the clinician UI) becomes an Actor in request.state.actor. A request
without valid credentials gets 401 with an OperationOutcome on the API, or the login page in the
UI. Only the paths in PUBLIC are reachable without; nothing else is, so a route added later is
protected by default (tests/auth/test_every_route.py enumerates them).
"""
from __future__ import annotations

import logging
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from benhan import errors
from benhan.auth import policy, sessions, tokens
from benhan.auth.actor import Actor
from benhan.auth.token_cache import TokenActorCache
from benhan.auth.tokens import MAX_TOKEN_LENGTH, token_hash
from benhan.auth.users import get_user_and_grants, now_us, refusal_reason
from benhan.web import http

log = logging.getLogger(__name__)

SESSION_COOKIE = "benhan_session"
# Reachable without credentials: the login pages, the OAuth endpoints (they authenticate clients
# themselves), the CapabilityStatement and SMART configuration (the specs require them public),
# static files, the language switch and /health (for a monitor: ok or failing, nothing else).
PUBLIC_EXACT = {"/login", "/login/mfa", "/lang", "/fhir/metadata", "/.well-known/smart-configuration",
                "/auth/token", "/auth/revoke", "/auth/introspect", "/auth/authorize", "/favicon.ico",
                "/health"}
PUBLIC_PREFIXES = ("/static/",)
# Pages a logged-in user may reach before finishing what the login asked of them.
_SETUP_PAGES = {"/account/password", "/account/mfa", "/logout"}
API_PREFIXES = ("/fhir", "/auth/", "/api/", "/sync/")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _unauthenticated(path: str, message: str, *, bearer_error: str | None = None) -> Response:
    if is_api(path):
        response = http.error_response(errors.Unauthenticated(message))
        challenge = 'Bearer realm="benhan"'
        if bearer_error:
            challenge += f', error="{bearer_error}"'
        response.headers["WWW-Authenticate"] = challenge
        return response
    return RedirectResponse(f"/login?next={quote(path, safe='/')}", status_code=303)


class Authentication:
    """Pure ASGI middleware (no per-request task or body buffering, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, tokens: TokenActorCache | None = None):
        self.app = app
        # Resolved bearer tokens, ≤ 1 s old and dropped at once on a credential change made here
        # (auth/token_cache.py): a hit needs neither the database nor a worker thread.
        self.tokens = tokens if tokens is not None else TokenActorCache()

    async def _bearer_actor(self, store, raw: str, source: str | None) -> Actor | None:  # noqa: ANN001
        if len(raw) > MAX_TOKEN_LENGTH:
            return None
        key = (token_hash(raw), source, id(store))
        actor = self.tokens.get(key)
        if actor is not None:
            return actor
        epoch, started = self.tokens.epoch(), self.tokens.clock()
        found = await anyio.to_thread.run_sync(_token_actor_until, store, raw, source)
        if found is None:
            return None
        actor, expires = found
        self.tokens.put(key, actor, expires, epoch, started)
        return actor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        store = scope["app"].state.store
        scope.setdefault("state", {})
        auth = header(scope, b"authorization")
        # The OAuth endpoints authenticate clients themselves (client_secret_basic sends Basic).
        if auth is not None and not is_public(path):
            kind, _, raw = auth.partition(" ")
            raw = raw.strip()
            if kind.lower() != "bearer" or not raw:
                await _unauthenticated(path, "only Bearer tokens are accepted", bearer_error="invalid_request")(
                    scope, receive, send)
                return
            actor = await self._bearer_actor(store, raw, client_address(scope))
            if actor is None:
                await _unauthenticated(path, "the access token is not valid (unknown, expired or revoked)",
                                       bearer_error="invalid_token")(scope, receive, send)
                return
            scope["state"]["actor"] = actor
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        raw_cookie = request.cookies.get(SESSION_COOKIE)
        session = await anyio.to_thread.run_sync(sessions.resolve, store, raw_cookie) if raw_cookie else None
        if session is not None:
            scope["state"]["session"] = session
            redirect = _pending_step(session, path)
            if redirect and not is_public(path):
                response = (_unauthenticated(path, "finish logging in first") if is_api(path)
                            else RedirectResponse(redirect, status_code=303))
                await response(scope, receive, send)
                return
            if is_api(path) and not is_public(path) and scope["method"] in UNSAFE and not sessions.check_csrf(
                    session, request.headers.get("x-csrf-token")):
                # A cookie rides along on cross-site requests; an API write with it needs the
                # session's CSRF token in a header, which another site cannot read.
                await http.error_response(errors.CsrfRejected("missing or wrong X-CSRF-Token header"))(
                    scope, receive, send)
                return
            if not redirect:
                scope["state"]["actor"] = await anyio.to_thread.run_sync(
                    lambda: policy.actor_for_user(store, session.user, source=client_address(scope),
                                                  grants=session.grants))
        if is_public(path) or "actor" in scope["state"] or (session is not None and path in _SETUP_PAGES):
            await self.app(scope, receive, send)
            return
        await _unauthenticated(path, "log in, or send an OAuth access token")(scope, receive, send)


def _pending_step(session: sessions.Session, path: str) -> str | None:
    """Where a logged-in user must go first: the second login step, enrolling MFA (admins), or
    replacing a one-time password. None when nothing is pending."""
    if not session.mfa_passed:
        return None if path == "/login/mfa" else "/login/mfa"
    if session.user.must_change_password:
        return None if path in _SETUP_PAGES else "/account/password"
    if session.user.needs_mfa and not session.user.mfa_enabled:
        return None if path in _SETUP_PAGES else "/account/mfa"
    return None


def _token_actor(store, raw: str, source: str | None) -> Actor | None:  # noqa: ANN001
    """The actor of a bearer token, from the database (no cache); None when it is not valid."""
    found = _token_actor_until(store, raw, source)
    return found[0] if found is not None else None


def _token_actor_until(store, raw: str, source: str | None) -> tuple[Actor, int] | None:  # noqa: ANN001
    """The actor of a bearer token and until when it holds at the latest (µs: the token's expiry, or
    the end of a break-the-glass grant it includes), or None when the token is not valid."""
    info = tokens.lookup(store, raw)
    if info is None:
        return None
    user, grants, until = None, None, info.expires
    if info.user_pk is not None:
        user, grants, grants_end = get_user_and_grants(store, info.user_pk)
        if user is None or refusal_reason(user, store, now_us()) is not None:
            return None
        if grants_end is not None:      # a break-the-glass grant ending: the actor changes then
            until = min(until, grants_end)
    return policy.actor_for_token(store, client_id=info.client_id, scope=info.scope, user=user,
                                  patient_id=info.patient_id, source=source, grants=grants), until


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (name in lower case), as Starlette's Headers decodes it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def actor(request: Request) -> Actor:
    """The authenticated actor of this request (set by the middleware)."""
    found = request.state._state.get("actor")
    if found is None:
        raise errors.Unauthenticated("log in, or send an OAuth access token")
    return found


def session(request: Request) -> sessions.Session | None:
    return request.state._state.get("session")
