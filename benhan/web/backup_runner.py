"""Runs the scheduled backups (store/backup_schedule.py) with the app: a round a minute in a
background thread. `backup_hour = -1` turns it off; an in-memory database has nothing to back up.
Several worker processes each run one: the schedule's lock and status file make one backup per slot."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable

from starlette.applications import Starlette

from benhan.web.background import run_with_app

log = logging.getLogger(__name__)


class BackupRunner:
    """`now` and `wait` are injectable (tests follow the schedule without sleeping). Never dies: a
    failed round is logged and the next one tries again. The first round comes after one interval."""

    def __init__(self, store, *, interval: float = 60.0,  # noqa: ANN001 - store.Store
                 now: Callable[[], dt.datetime] | None = None, wait: Callable[[float], None] | None = None):
        from benhan.store.backup_schedule import Policy
        self.store = store
        self.policy = Policy.from_config(store.config)
        self.interval = interval
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread = threading.Thread(target=self.run, name="backup-schedule", daemon=True)
        self.last = ""
        self.hub_http = None        # tests: the hub's in-process client; None: the node's own
        self.hub_url: str | None = None

    def start(self) -> "BackupRunner":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=60)

    def run_round(self) -> str:
        from benhan.store import backup_schedule
        cfg = self.store.config
        try:
            self.last = backup_schedule.run_round(self.store.db, cfg.data_dir, cfg.backups, self.policy, self.now())
        except Exception as exc:  # noqa: BLE001 - a bad round must not end the schedule
            log.error("backup round failed: %s", exc)
            self.last = f"failed: {exc}"
        self.copy_to_hub()
        return self.last

    def copy_to_hub(self) -> None:
        """An enrolled node also copies its new backup to the hub; a failure is only the status's."""
        from benhan.sync import backup_copy
        try:
            done = backup_copy.after_round(self.store, http=self.hub_http, hub_url=self.hub_url,
                                           now_us=int(self.now().timestamp() * 1e6))
        except Exception as exc:  # noqa: BLE001 - never the end of the schedule
            log.error("backup copy to the hub failed: %s", exc)
            return
        if done:
            self.last = f"{self.last}; {done}"

    def run(self) -> None:
        while not self._stop.is_set():
            self._wait(self.interval)
            if self._stop.is_set():
                break
            self.run_round()


def start_if_configured(store):  # noqa: ANN001, ANN201
    hour = int(store.config.backup_hour)
    if hour < 0:
        return None
    if hour > 23:       # the footer then says "late": the operator sees it
        log.error("backup_hour must be -1 (off) or 0-23, not %s: no scheduled backups", hour)
        return None
    if store.db.is_sqlite and ":memory:" in store.db.url:
        return None
    return BackupRunner(store).start()


def install(app: Starlette) -> None:
    run_with_app(app, "backup_runner", start_if_configured)
