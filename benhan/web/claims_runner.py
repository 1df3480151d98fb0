"""Runs the claims outbox worker (benhan/claims/runner.py) with the app, like the node's sync."""
from __future__ import annotations

from starlette.applications import Starlette

from benhan.web.background import run_with_app


def _start(store):  # noqa: ANN001, ANN202
    from benhan.claims.runner import start_if_configured
    return start_if_configured(store)


def install(app: Starlette) -> None:
    run_with_app(app, "claims_runner", _start)
