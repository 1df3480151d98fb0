"""The ASGI application: FHIR API at /fhir, the pages at /, static files at /static; every request
authenticated first (web/authn.py)."""
from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from benhan import errors
from benhan.config import Config
from benhan.store.store import Store
from benhan.web import auth_pages, authn, claims_runner, fhir_api, http, oauth_api, sync_api, ui, ui_errors
from benhan.web import lab_runner, recheck_runner
from benhan.web import backup_page, backup_runner
from benhan.web import einvoice_runner
from benhan.web import reminder_runner
from benhan.web import orm_runner
from benhan.web import statistics_runner
from benhan.web import import_api
from benhan.web import bulk_export_api
from benhan.web.ui import doses as doses_page   # the nurse's doses of the day (clinical.administration)
from benhan.web import health_page   # /health for a monitor, /ui/admin/health: benhan doctor's checks
from benhan.auth.token_cache import TokenActorCache
from benhan.web.authn import Authentication
from benhan.web.cors import add_cors
from benhan.web.crash_guard import CrashGuard
from benhan.web.routing import IndexedRouter

log = logging.getLogger(__name__)
WORKER_THREADS = 16
STATIC = Path(__file__).resolve().parent / "static"


async def benhan_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.BenhanError)
    if not authn.is_api(request.url.path):
        # A page: the message in the user's language, not an OperationOutcome.
        return ui_errors.page(request, exc)
    return http.error_response(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return await benhan_error(request, errors.RouteNotFound(f"no endpoint at {request.url.path}"))
    if exc.status_code == 405:
        return await benhan_error(request, errors.MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}"))
    err = errors.InvalidHeader(str(exc.detail))
    err.status = exc.status_code
    return http.error_response(err)


async def unexpected(request: Request, exc: Exception) -> Response:
    # Never a traceback to the client: log it, answer with an OperationOutcome.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return http.error_response(errors.InternalError())


def create_app(config: Config, store: Store | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette):  # noqa: ANN202
        # Blocking database work runs on anyio's worker threads; cap them at the size of the
        # database connection pool so that no request waits for, or opens, a connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        owned = store is None
        app.state.store = store or Store.open(config)
        if owned:
            # The serving process: what start-up built (modules, definitions, code tables) lives
            # as long as the process. Frozen out of the collector, the full collections a busy
            # server runs stop walking it (measured 36–96 → 22–50 µs of GC per ingested resource),
            # and forked workers keep sharing its pages. Not for an app a test builds around its own
            # store: tests build hundreds in one process.
            gc.freeze()
        try:
            yield
        finally:
            if owned:
                app.state.store.close()

    app = Starlette(exception_handlers={errors.BenhanError: benhan_error, HTTPException: http_error,
                                        Exception: unexpected})
    # Routes tried by their first path segment (web/routing.py), not all ~150 in turn.
    app.router = IndexedRouter(
        # "/fhir" itself is the base for batch/transaction: answered here, not redirected to
        # "/fhir/" (a client posting a Bundle must not have to follow a redirect).
        routes=[Route("/health", health_page.health), *health_page.routes,
                *auth_pages.routes, *ui.routes, *doses_page.routes, *oauth_api.routes, *bulk_export_api.routes,
                *backup_page.routes,
                Route("/fhir", fhir_api.system_endpoint, methods=["GET", "POST"]),
                *import_api.routes,   # $import, before the /fhir mount that would take it
                Mount("/fhir", app=IndexedRouter(fhir_api.routes)),
                Mount("/static", app=StaticFiles(directory=STATIC), name="static")],
        lifespan=lifespan,
    )
    if store is not None:
        app.state.store = store
    sync_api.install(app)   # /sync/… endpoints, /admin/sync page, a node's background sync
    claims_runner.install(app)   # the claims outbox worker, when a BHXH gateway is configured
    recheck_runner.install(app)   # the later certificate check of signatures made offline
    lab_runner.install(app)       # the analysers' results over HL7 v2/MLLP when lab_mllp_port is set
    einvoice_runner.install(app)   # the e-invoice outbox worker, when a provider is configured
    reminder_runner.install(app)   # SMS appointment reminders, when an SMS gateway is configured
    orm_runner.install(app)        # lab orders (ORM^O01) to the LIS, when lab_orm_address is set
    bulk_export_api.install(app)   # Bulk Data $export: the export worker and the cleanup of expired exports
    backup_runner.install(app)   # the scheduled, encrypted, restore-tested backups (store/backup_schedule.py)
    statistics_runner.install(app)   # PostgreSQL: the planner statistics of fast-growing tables (store/planner_statistics.py)
    # Every request is authenticated before any route runs (web/authn.py).
    app.state.token_cache = TokenActorCache()      # resolved bearer tokens (auth/token_cache.py)
    app.add_middleware(Authentication, tokens=app.state.token_cache)
    # Transport (added last, so outermost): CORS and security headers also on 401s and preflights.
    add_cors(app, config.cors_origins)
    app.add_middleware(CrashGuard)      # and the security headers (web/security_headers.py)
    return app


def app_from_environment() -> Starlette:
    """Factory for multi-worker uvicorn: each worker builds its app from BENHAN_* settings; one of
    them runs the background workers (web/background.py)."""
    from benhan.config import load
    from benhan.web.background import take_background_lock
    config = load()
    app = create_app(config)
    app.state.background_leader = take_background_lock(config.data_dir)
    return app
