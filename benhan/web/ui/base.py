"""What every clinician page handler needs: the actor's repository, the posted form with its CSRF
token checked, the permission gate that refuses (403, a page) before a form is even looked at, and
field errors translated into the user's language."""
from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from benhan import errors
from benhan.auth import roles, sessions
from benhan.clinical.common import FormInvalid, now
from benhan.store.repository import Repository
from benhan.web import authn, i18n
from benhan.web.templates import render


def repo(request: Request) -> Repository:
    return Repository(request.app.state.store, authn.actor(request))


def tz(request: Request) -> str:
    return request.app.state.store.config.timezone


def today(request: Request) -> date:
    return now(tz(request)).date()


def t(request: Request, key: str, **values: Any) -> str:
    return i18n.translate(key, i18n.language(request), **values)


def may(r: Repository, letter: str, res_type: str) -> bool:
    access = r.actor.access
    return access is None or access.mode(letter, res_type) is not None


def require(r: Repository, *needs: tuple[str, str]) -> None:
    """Refuse (403 page, audited by the repository) unless the actor has one of these (letter, type)."""
    if any(may(r, letter, res_type) for letter, res_type in needs):
        return
    letter, res_type = needs[-1]
    r.permit(letter, res_type, "read" if letter in "rs" else "create")


def may_act(r: Repository, act: str) -> bool:
    """Whether the actor may perform one of the clinical acts of auth.roles.ACTS (the system: all)."""
    return r.actor.access is None or roles.may_act(r.actor.roles, act)


def require_act(r: Repository, *acts: str) -> None:
    """Refuse (403 page) unless the actor may perform one of these acts (auth.roles.ACTS)."""
    if not any(may_act(r, act) for act in acts):
        raise errors.Forbidden(f"your role may not {' or '.join(acts)}")


def chart_gate(r: Repository) -> None:
    """Who may open a patient's pages: those who open visits or read clinical entries."""
    require(r, ("c", "Encounter"), ("r", "Condition"))


async def form(request: Request) -> dict[str, str]:
    data = await request.form()
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    session = authn.session(request)
    if session is None or not sessions.check_csrf(session, values.get("csrf")):
        raise errors.CsrfRejected()
    return values


def messages(request: Request, exc: FormInvalid) -> dict[str, str]:
    return {name: t(request, key, **vals) for name, (key, vals) in exc.errors.items()}


def warnings(request: Request, exc: FormInvalid) -> list[str]:
    return [t(request, key, **vals) for key, vals in exc.warnings]


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("v", {})
    return render(request, name, status, **context)


def back(url: str) -> Response:
    return RedirectResponse(url, status_code=303)
