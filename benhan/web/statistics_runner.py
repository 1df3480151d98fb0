"""Keeps PostgreSQL's planner statistics of benhan's tables fresh while the server runs
(store/planner_statistics.py: why a hub cannot leave it to autovacuum alone). One process of
`serve --workers N` runs it (the background lock, web/background.py); on SQLite nothing starts."""
from __future__ import annotations

import logging

from starlette.applications import Starlette

from benhan.web.background import PeriodicRunner, run_with_app

# Often enough that a hub taking ~1,000 versions/s is never more than a few hundred thousand rows
# past its statistics; rarely enough that the check (one catalogue query) costs nothing.
INTERVAL_SECONDS = 120.0


class StatisticsRunner(PeriodicRunner):
    thread_name = "benhan-statistics"

    def __init__(self, engine, interval: float = INTERVAL_SECONDS) -> None:  # noqa: ANN001
        super().__init__(interval)
        self.engine = engine

    def round(self) -> list[str]:
        from benhan.store.planner_statistics import refresh
        return refresh(self.engine)


def start_if_postgresql(store):  # noqa: ANN001, ANN201
    if store.db.is_sqlite:
        return None
    runner = StatisticsRunner(store.db.engine)
    try:
        runner.round()      # a hub started on grown tables plans well from its first request
    except Exception as exc:  # noqa: BLE001 - statistics are an optimisation: never block the start
        logging.getLogger(__name__).warning("planner statistics not refreshed at start: %s", exc)
    return runner.start()


def install(app: Starlette) -> None:
    run_with_app(app, "statistics_runner", start_if_postgresql)
