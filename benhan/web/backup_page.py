"""The facility admin's backup page (/admin/backup): the last scheduled backup, the last restore
test, the second place, the schedule, and — once, after the server made the backup key — the
recovery key, until the admin confirms it is written down (then benhan forgets it for good)."""
from __future__ import annotations

import time
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from benhan import errors
from benhan.auth import sessions
from benhan.store import backup_crypto, backup_status
from benhan.web import authn
from benhan.web.session import session_user
from benhan.web.templates import render

ADMINS = frozenset({"facility_admin"})


def _admin(request: Request):  # noqa: ANN202
    user = session_user(request)
    if user is None:
        raise errors.Unauthenticated("log in first")
    if not ADMINS.intersection(user.roles):
        raise errors.Forbidden("the backup page needs the facility admin role")
    return user


def _pending(data_dir: Path) -> str | None:
    try:
        return (Path(data_dir) / backup_crypto.PENDING_RECOVERY_FILE).read_text().strip() or None
    except OSError:
        return None


async def page(request: Request) -> Response:
    _admin(request)
    cfg = request.app.state.store.config

    def gather() -> dict:
        st = backup_status.status(cfg.backups)
        copy = cfg.backup_copy_dir if str(cfg.backup_copy_dir) not in ("", ".") else None
        return {"backup": st, "recovery_key": _pending(cfg.data_dir),
                "has_key": backup_crypto.key_path(cfg.data_dir).exists(),
                "problems": st.problems(time.time_ns() // 1000) if int(cfg.backup_hour) >= 0 else [],
                "copy_dir": str(copy) if copy else None, "schedule_hour": int(cfg.backup_hour),
                "hourly": bool(cfg.backup_hourly) and request.app.state.store.db.is_sqlite,
                "backup_dir": str(cfg.backups)}
    return render(request, "backup.html", **await run_in_threadpool(gather))


async def recovery_key_saved(request: Request) -> Response:
    _admin(request)
    form = await request.form()
    session = authn.session(request)
    if session is None or not sessions.check_csrf(session, str(form.get("csrf", ""))):
        raise errors.CsrfRejected()
    cfg = request.app.state.store.config
    (Path(cfg.data_dir) / backup_crypto.PENDING_RECOVERY_FILE).unlink(missing_ok=True)
    return RedirectResponse("/admin/backup", status_code=303)


routes = [
    Route("/admin/backup", page, methods=["GET"]),
    Route("/admin/backup/recovery-key-saved", recovery_key_saved, methods=["POST"]),
]
