"""Runs the later certificate check of offline signatures (documents/recheck.py) with the app, every
signing_recheck_minutes, like the node's sync and the claims worker. A round with nothing pending is
one search; 0 minutes turns it off (then `benhan sign recheck` from cron does the work)."""
from __future__ import annotations

from starlette.applications import Starlette

from benhan.web.background import run_with_app


def start_if_configured(store):  # noqa: ANN001, ANN201
    minutes = int(store.config.signing_recheck_minutes)
    if minutes <= 0:
        return None
    from benhan.documents.recheck import RecheckRunner
    from benhan.signing import trust
    return RecheckRunner(store, lambda: trust.load(store.config.trust_dir), interval=minutes * 60.0).start()


def install(app: Starlette) -> None:
    run_with_app(app, "recheck_runner", start_if_configured)
