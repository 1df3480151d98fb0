"""Login, two-step verification, password change, MFA enrolment, logout, break-the-glass and its
review: the pages of benhan/auth in the browser. Forms post back to themselves, keep what was
typed (except passwords) when refused, and carry a CSRF token."""
from __future__ import annotations

import secrets
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from benhan import __version__, errors
from benhan.auth import break_glass, mfa, sessions, users
from benhan.web import authn, i18n
from benhan.web.templates import render

LOGIN_CSRF_COOKIE = "benhan_login"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an open redirect after login would help phishing.
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    return target


def _t(request: Request, key: str, **kw: object) -> str:
    return i18n.translate(key, i18n.language(request), **kw)


def _banners(request: Request, user: users.User | None) -> list[str]:
    if user is None:
        return []
    from benhan.web.templates import localtime
    grants = break_glass.active(request.app.state.store, user)
    return [_t(request, "btg.banner", patient=g.patient_id, until=localtime(g.expires, request.app.state.store.config.timezone)) for g in grants]


def _session_or_login(request: Request) -> sessions.Session:
    session = authn.session(request)
    if session is None:
        raise errors.Unauthenticated()
    return session


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _check_csrf(request: Request, form: dict[str, str]) -> sessions.Session:
    session = _session_or_login(request)
    if not sessions.check_csrf(session, form.get("csrf")):
        raise errors.CsrfRejected()
    return session


# --- login ---------------------------------------------------------------------------------------

def _login_page(request: Request, *, message: str = "", username: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status, message=message, username=username,
                      next=_safe_next(request.query_params.get("next") or request.state._state.get("next")),
                      csrf=token)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                        path="/login")
    return response


async def login(request: Request) -> Response:
    if request.method == "GET":
        return _login_page(request)
    form = await _form(request)
    request.state._state["next"] = form.get("next")
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, form.get("csrf", "")):
        return _login_page(request, message=_t(request, "login.expired"), username=form.get("username", ""),
                           status=403)
    store = request.app.state.store
    source = authn.client_address(request.scope)
    try:
        result = await run_in_threadpool(users.authenticate, store, form.get("username", ""),
                                         form.get("password", ""), source=source)
    except errors.LoginRefused as refused:
        return _login_page(request, message=_t(request, f"login.{refused.message}"),
                           username=form.get("username", ""), status=401)
    raw, _ = await run_in_threadpool(lambda: sessions.start(
        store, result.user, mfa_passed=not result.mfa_required, source=source,
        user_agent=request.headers.get("user-agent")))
    target = (f"/login/mfa?next={quote(_safe_next(form.get('next')), safe='/')}" if result.mfa_required
              else _safe_next(form.get("next")))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(authn.SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=_secure(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def login_mfa(request: Request) -> Response:
    session = authn.session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    if session.mfa_passed:
        return RedirectResponse("/", status_code=303)
    if request.method == "GET":
        return render(request, "mfa.html", message="", next=_safe_next(request.query_params.get("next")))
    form = await _form(request)
    _check_csrf(request, form)
    store = request.app.state.store
    try:
        await run_in_threadpool(users.second_step, store, session.user, form.get("code", ""),
                                source=authn.client_address(request.scope))
    except errors.LoginRefused as refused:
        return render(request, "mfa.html", 401, message=_t(request, f"login.{refused.message}"),
                      next=_safe_next(form.get("next")))
    await run_in_threadpool(sessions.mfa_passed, store, session)
    return RedirectResponse(_safe_next(form.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    form = await _form(request)
    session = _check_csrf(request, form)
    await run_in_threadpool(sessions.end, request.app.state.store, session, source=authn.client_address(request.scope))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(authn.SESSION_COOKIE)
    return response


async def logout_everywhere(request: Request) -> Response:
    form = await _form(request)
    session = _check_csrf(request, form)
    await run_in_threadpool(users.logout_everywhere, request.app.state.store, session.user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(authn.SESSION_COOKIE)
    return response


async def language(request: Request) -> Response:
    lang = request.query_params.get("to")
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", secure=_secure(request))
    return response


# --- the account ---------------------------------------------------------------------------------

async def account_password(request: Request) -> Response:
    session = _session_or_login(request)
    store = request.app.state.store
    user = session.user
    min_length = store.config.password_min_length_mfa if user.mfa_enabled else store.config.password_min_length

    def page(status: int = 200, message: str = "") -> Response:
        return render(request, "password.html", status, required=user.must_change_password, message=message,
                      min_length=min_length)
    if request.method == "GET":
        return page()
    form = await _form(request)
    _check_csrf(request, form)
    if form.get("new") != form.get("repeat"):
        return page(400, _t(request, "password.mismatch"))
    try:
        await run_in_threadpool(users.change_password, store, user, form.get("current"), form.get("new", ""))
    except errors.PasswordRejected as rejected:
        return page(400, _t(request, f"password.{getattr(rejected, 'reason', 'too_easy')}",
                            **getattr(rejected, "values", {})))
    return RedirectResponse("/", status_code=303)


async def account_mfa(request: Request) -> Response:
    session = _session_or_login(request)
    store = request.app.state.store
    user = session.user
    if request.method == "GET":
        secret = mfa.new_secret()
        message = ""
    else:
        form = await _form(request)
        _check_csrf(request, form)
        secret = form.get("secret", "")
        try:
            await run_in_threadpool(users.enrol_mfa, store, user, secret, form.get("code", ""))
            return RedirectResponse("/", status_code=303)
        except errors.LoginRefused:
            message = _t(request, "login.invalid-mfa-code")
    facility = store.config.values.get("facility_name") or "benhan"
    return render(request, "mfa_setup.html", 200 if not message else 400, secret=secret, message=message,
                  uri=mfa.provisioning_uri(secret, user.username, facility), required=user.needs_mfa)


# The lab technician's and the pharmacist's work is a list of their own (web/ui/bench.py), not the
# registration desk and the room queues: their home page is that list.
_BENCH_HOMES = (("lab_technician", "/ui/lab"), ("pharmacist", "/ui/pharmacy"), ("cashier", "/ui/cashier"))
_DESK_ROLES = frozenset({"registrar", "doctor", "nurse"})


def _bench_home(user_roles) -> str | None:  # noqa: ANN001
    if _DESK_ROLES & set(user_roles):
        return None
    return next((path for role, path in _BENCH_HOMES if role in user_roles), None)


async def home(request: Request) -> Response:
    session = _session_or_login(request)
    store = request.app.state.store
    user = session.user
    bench_home = _bench_home(user.roles)
    if bench_home:
        return RedirectResponse(bench_home, status_code=303)
    departments = (_t(request, "home.all_departments") if user.all_departments
                   else ", ".join(sorted(user.departments)))
    roles = [users.ROLES[r].vi if i18n.language(request) == "vi" else users.ROLES[r].en for r in user.roles]
    # The home page is the clinician's worklist (web/ui/desk.py): scan box, patient search, room queue.
    from benhan.web.ui.desk import worklist_context
    return render(request, "ui/worklist.html", roles=roles, departments=departments, version=__version__,
                  facility=store.config.values.get("facility_name", "benhan"), node=store.node_id,
                  banners=await run_in_threadpool(_banners, request, user),
                  **await run_in_threadpool(worklist_context, request))


# --- break-the-glass -----------------------------------------------------------------------------

async def break_glass_page(request: Request) -> Response:
    session = _session_or_login(request)
    store = request.app.state.store
    user = session.user
    minutes = store.config.break_glass_minutes
    if "break-glass" not in user.privileges:
        raise errors.Forbidden(_t(request, "btg.not_allowed"))
    if request.method == "GET":
        return render(request, "break_glass.html", patient=request.query_params.get("patient", ""), reason="",
                      message="", minutes=minutes)
    form = await _form(request)
    _check_csrf(request, form)
    try:
        await run_in_threadpool(lambda: break_glass.open_grant(store, user, form.get("patient", "").strip(),
                                                               form.get("reason", ""),
                                                               source=authn.client_address(request.scope)))
    except (errors.InvalidUserSetting, errors.InvalidId, errors.NotFound) as refused:
        key = {errors.InvalidUserSetting: "btg.reason_short", errors.InvalidId: "btg.bad_id",
               errors.NotFound: "btg.unknown_patient"}[type(refused)]
        return render(request, "break_glass.html", refused.status, patient=form.get("patient", ""),
                      reason=form.get("reason", ""), minutes=minutes,
                      message=_t(request, key, patient=form.get("patient", "").strip()))
    return RedirectResponse("/", status_code=303)


async def break_glass_review(request: Request) -> Response:
    session = _session_or_login(request)
    grants = await run_in_threadpool(break_glass.review_list, request.app.state.store, session.user)
    return render(request, "break_glass_review.html", grants=grants)


async def break_glass_reviewed(request: Request) -> Response:
    form = await _form(request)
    session = _check_csrf(request, form)
    try:
        pk = int(request.path_params["pk"])
    except ValueError:
        raise errors.NotFound("no such break-the-glass access") from None
    await run_in_threadpool(break_glass.review, request.app.state.store, session.user, pk, form.get("note", ""))
    return RedirectResponse("/admin/break-glass", status_code=303)


routes = [
    Route("/", home),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/login/mfa", login_mfa, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/logout/everywhere", logout_everywhere, methods=["POST"]),
    Route("/lang", language),
    Route("/account/password", account_password, methods=["GET", "POST"]),
    Route("/account/mfa", account_mfa, methods=["GET", "POST"]),
    Route("/break-glass", break_glass_page, methods=["GET", "POST"]),
    Route("/admin/break-glass", break_glass_review),
    Route("/admin/break-glass/{pk}/review", break_glass_reviewed, methods=["POST"]),
]
