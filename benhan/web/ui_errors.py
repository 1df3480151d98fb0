"""Errors on pages: a short page in the user's language with the stable code, never a traceback."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.web import i18n
from benhan.web.templates import render

_KEYS = {errors.Forbidden: "error.forbidden", errors.OutsideCareScope: "error.outside_scope",
         errors.CsrfRejected: "login.expired", errors.NotFound: "error.not_found",
         errors.RouteNotFound: "error.not_found"}


def page(request: Request, exc: errors.BenhanError) -> Response:
    key = next((k for cls, k in _KEYS.items() if isinstance(exc, cls)), None)
    lang = i18n.language(request)
    message = i18n.translate(key, lang) if key else exc.message
    return render(request, "error.html", exc.status, message=message, code=exc.code)
