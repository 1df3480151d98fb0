"""HTTP of the OAuth 2.0 / SMART authorization server: the Starlette half of the adapter around
auth/oauth_server.py (which holds the protocol), the consent page and the SMART configuration.

    GET  /.well-known/smart-configuration
    GET  /auth/authorize      → the consent page (or /login first)
    POST /oauth/consent       ← the consent page's answer (a UI form: session + CSRF field)
    POST /auth/token          client credentials, authorization code, refresh token
    POST /auth/revoke         RFC 7009
    POST /auth/introspect     RFC 7662

The consent answer is posted to /oauth/consent rather than /auth/authorize: paths under /auth/ are
API paths, whose cookie-carrying writes need a CSRF header a plain HTML form cannot send."""
from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import orjson
from authlib.oauth2 import OAuth2Error
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from benhan import errors
from benhan.auth import oauth_server, sessions
from benhan.auth.oauth_server import BenhanAuthorizationServer, HttpRequest, HttpResponse
from benhan.auth.oauth_words import describe
from benhan.web import authn
from benhan.web.security_headers import CONTENT_SECURITY_POLICY
from benhan.web.session import session_user
from benhan.web.templates import render

CONSENT_PATH = "/oauth/consent"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PAGE_WORDS = {
    "vi": {"title": "Cấp quyền cho ứng dụng", "asks": ("Ứng dụng", "xin phép được:"),
           "patient": "Mã người bệnh", "patient_help": "Ứng dụng chỉ được truy cập hồ sơ của người bệnh này.",
           "approve": "Đồng ý", "deny": "Từ chối", "redirect": ("Sau đó bạn sẽ được chuyển về", "."),
           "no_patient": "Nhập mã của một người bệnh có trong hệ thống.", "error": "Yêu cầu cấp quyền không hợp lệ"},
    "en": {"title": "Authorize an app", "asks": ("The app", "asks to:"),
           "patient": "Patient id", "patient_help": "The app may access this patient's record only.",
           "approve": "Allow", "deny": "Deny", "redirect": ("You will then be sent back to", "."),
           "no_patient": "Give the id of a patient on this server.", "error": "Invalid authorization request"},
}


def _root(request: Request) -> str:
    """This server's public base (scheme://host[:port]), as clients address it."""
    base = request.app.state.store.config.base_url
    return base.rstrip("/") if base else f"{request.url.scheme}://{request.url.netloc}"


def _server(request: Request) -> BenhanAuthorizationServer:
    server = getattr(request.app.state, "oauth_server", None)
    if server is None:
        server = request.app.state.oauth_server = BenhanAuthorizationServer(request.app.state.store)
    return server


async def _http_request(request: Request, *, query: list[tuple[str, str]] | None = None,
                        path: str | None = None) -> HttpRequest:
    form: list[tuple[str, str]] = []
    if request.method == "POST" and request.headers.get("content-type", "").split(";")[0].strip() in FORM_TYPES:
        form = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    query = query if query is not None else list(request.query_params.multi_items())
    root = _root(request)
    url = root + (path or request.url.path) + ("?" + urlencode(query) if query else "")
    return HttpRequest(request.method, url, request.headers, query, form, token_url=root + oauth_server.TOKEN_PATH,
                       source=authn.client_address(request.scope))


def _response(result: HttpResponse | None) -> Response:
    if result is None:
        return Response(status_code=200)
    headers = dict(result.headers)
    if isinstance(result.body, dict):
        headers.pop("Content-Type", None)
        return Response(orjson.dumps(result.body), result.status, headers, media_type="application/json")
    return Response(result.body or b"", result.status, headers)


async def _run(request: Request, call) -> Response:  # noqa: ANN001
    http_request = await _http_request(request)
    server = _server(request)

    def work() -> HttpResponse:
        try:
            return call(server, http_request)
        except OAuth2Error as error:   # raised before Authlib's own handling (e.g. plain-HTTP refusal)
            return server.handle_error_response(None, error)
    return _response(await run_in_threadpool(work))


# --- machine endpoints -----------------------------------------------------------------------------

async def token(request: Request) -> Response:
    return await _run(request, lambda s, r: s.create_token_response(r))


async def revoke(request: Request) -> Response:
    return await _run(request, lambda s, r: s.create_endpoint_response("revocation", r))


async def introspect(request: Request) -> Response:
    return await _run(request, lambda s, r: s.create_endpoint_response("introspection", r))


async def smart_configuration(request: Request) -> Response:
    return JSONResponse(oauth_server.smart_configuration(_root(request)),
                        headers={"Cache-Control": "public, max-age=3600"})


# --- the authorization endpoint and its consent page ------------------------------------------------

async def authorize(request: Request) -> Response:
    user = session_user(request)
    if user is None:
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    http_request = await _http_request(request)
    return await _consent_or_error(request, http_request, user)


async def _consent_or_error(request: Request, http_request: HttpRequest, user, *,  # noqa: ANN001
                            message: str = "", decision: str | None = None, patient: str = "") -> Response:
    server = _server(request)
    try:
        grant = await run_in_threadpool(server.get_consent_grant, http_request, user)
    except OAuth2Error as error:
        if error.redirect_uri:     # Authlib sets it only once the client's redirect URI is verified
            return _response(server.handle_error_response(None, error))
        return _error_page(request, error)
    if decision is None:
        return _consent_page(request, grant, http_request, message=message, patient=patient)
    if decision != "approve":
        await run_in_threadpool(oauth_server.record_denial, request.app.state.store, user, grant.request.client,
                                grant.request.scope, http_request.source)
        return _response(await run_in_threadpool(
            lambda: server.create_authorization_response(grant.request, grant_user=None, grant=grant)))
    if "launch/patient" in (grant.request.scope or "").split():
        exists = patient and await run_in_threadpool(oauth_server.patient_exists, request.app.state.store, patient)
        if not exists:
            words = PAGE_WORDS[_lang(request)]
            return _consent_page(request, grant, http_request, message=words["no_patient"], patient=patient,
                                 status=400)
        grant.request.patient_id = patient
    return _response(await run_in_threadpool(
        lambda: server.create_authorization_response(grant.request, grant_user=user, grant=grant)))


async def consent(request: Request) -> Response:
    user = session_user(request)
    session = authn.session(request)
    if user is None or session is None:
        raise errors.Unauthenticated()
    form = await request.form()
    if not sessions.check_csrf(session, str(form.get("csrf", ""))):
        raise errors.CsrfRejected()
    query = parse_qsl(str(form.get("request", "")), keep_blank_values=True)
    http_request = await _http_request(request, query=query, path=oauth_server.AUTHORIZE_PATH)
    http_request.method = "GET"    # what Authlib validates is the original authorization request
    return await _consent_or_error(request, http_request, user, decision=str(form.get("decision", "")),
                                   patient=str(form.get("patient", "")).strip())


def _lang(request: Request) -> str:
    from benhan.web.i18n import language
    return language(request)


def _consent_page(request: Request, grant, http_request: HttpRequest, *, message: str = "",  # noqa: ANN001
                  patient: str = "", status: int = 200) -> Response:
    client = grant.request.client
    scope = grant.request.scope or ""
    response = render(request, "oauth/consent.html", status, words=PAGE_WORDS[_lang(request)], client=client,
                      scopes=describe(scope), needs_patient="launch/patient" in scope.split(),
                      redirect_host=urlsplit(grant.redirect_uri or "").netloc or grant.redirect_uri,
                      request_query=urlencode(http_request.query), consent_path=CONSENT_PATH,
                      message=message, patient=patient)
    # Never framed (clickjacking a consent button) and never cached.
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    # The answer redirects to the app: browsers hold a form's redirect to form-action too.
    target = _csp_source(grant.redirect_uri or "")
    if target:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {target}")
    return response


def _csp_source(uri: str) -> str | None:
    parts = urlsplit(uri)
    source = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else f"{parts.scheme}:"
    return None if not parts.scheme or any(c in source for c in " ;,'\"\\") else source


def _error_page(request: Request, error: OAuth2Error) -> Response:
    # The redirect URI is not (yet) trusted: tell the user here rather than send them anywhere.
    return render(request, "oauth/error.html", error.status_code or 400, words=PAGE_WORDS[_lang(request)],
                  error=error.error, description=error.description or "")


routes = [
    Route("/.well-known/smart-configuration", smart_configuration),
    Route(oauth_server.AUTHORIZE_PATH, authorize, methods=["GET"]),
    Route(CONSENT_PATH, consent, methods=["POST"]),
    Route(oauth_server.TOKEN_PATH, token, methods=["POST"]),
    Route(oauth_server.REVOKE_PATH, revoke, methods=["POST"]),
    Route(oauth_server.INTROSPECT_PATH, introspect, methods=["POST"]),
]
