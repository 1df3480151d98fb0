"""Server-rendered pages: Jinja2 with autoescaping, templates under web/templates."""
from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from benhan.web import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["localtime"] = _localtime_filter
    from benhan.web.ui import filters      # dates, numbers, units, status codes, type names (issue 12.10)
    filters.install(env)
    from benhan.web.ui import pacs_link    # the imaging result's PACS viewer link (lab/pacs.py)
    pacs_link.install(env)
    return env


def localtime(us: int | None, tz_offset: str) -> str:
    """A stored time (µs, UTC) as the facility's local day and time."""
    if not us:
        return ""
    from benhan.auth.access_hours import zone
    return datetime.fromtimestamp(us / 1e6, zone(tz_offset)).strftime("%d/%m/%Y %H:%M")


@jinja2.pass_context
def _localtime_filter(ctx: jinja2.runtime.Context, us: int | None) -> str:
    # The zone comes with each render (the `timezone` setting), not from module state.
    return localtime(us, ctx["tz"])


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = i18n.language(request)
    from benhan.web import authn
    session = authn.session(request)
    sync = None
    if session is not None and session.mfa_passed and request.app.state.store.config.role == "node":
        # Every page of a facility node shows where its sync stands (issue 7: last sync, pending, conflicts).
        from benhan.sync.status import node_status
        sync = node_status(request.app.state.store)
    backup_warnings = _backup_warnings(request) if session is not None and session.mfa_passed else []
    html = environment().get_template(name).render(
        t=lambda key, **kw: i18n.translate(key, lang, **kw), lang=lang, request=request,
        session=session, user=session.user if session and session.mfa_passed else None,
        # A page's own token (the login form's) wins: passing it beside the session's was a TypeError
        # (a 500) for a logged-in user who opened /login.
        csrf=context.pop("csrf", None) or (session.csrf if session else ""), banners=context.pop("banners", []),
        sync_status=sync, backup_warnings=backup_warnings, tz=request.app.state.store.config.timezone, **context)
    return HTMLResponse(html, status_code=status)


def _backup_warnings(request: Request) -> list[str]:
    """Message keys for every staff page's footer: the scheduled backup is late or failed, or was
    never restore-tested (store/backup_status.py; one stat() of its status file per page)."""
    import time
    from benhan.store import backup_status
    cfg = request.app.state.store.config
    if int(cfg.backup_hour) < 0:
        return ["backup.warn.off"]
    return backup_status.cached_status(cfg.backups).problems(time.time_ns() // 1000)
