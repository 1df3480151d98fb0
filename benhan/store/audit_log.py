"""Audit rows. Writes record theirs in the write's own transaction; reads are many and must not
each take the write lock, so their rows are buffered and written in small batches by a
background thread (at most ~1 s later, and at shutdown).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Connection, insert

from benhan.store.schema import audit_event

log = logging.getLogger(__name__)

ACTIONS = {"create": "C", "update": "U", "patch": "U", "delete": "D", "read": "R", "vread": "R",
           "search-type": "E", "search-system": "E", "history-instance": "R", "history-type": "R",
           "history-system": "R", "transaction": "E", "batch": "E", "backup": "E", "restore": "E"}


@dataclass(frozen=True)
class AuditRecord:
    recorded: int
    interaction: str
    agent: str
    outcome: str = "0"
    source_address: str | None = None
    res_type: str | None = None
    res_id: str | None = None
    version: int | None = None
    query: str | None = None
    patients: tuple[str, ...] = ()      # the patients whose record this touched
    subtype: str | None = None          # login, logout, break-glass, permission, print, export, sign …
    role: str | None = None             # the agent's roles, space-separated
    client_id: str | None = None
    purpose: str | None = None          # BTG: allowed only by a break-the-glass grant
    detail: str | None = None           # JSON text

    def row(self) -> dict:
        # Built by hand: dataclasses.asdict deep-copies and cost 4 % of a Bundle ingest.
        return {"recorded": self.recorded, "interaction": self.interaction, "agent": self.agent,
                "outcome": self.outcome, "source_address": self.source_address, "res_type": self.res_type,
                "res_id": self.res_id, "version": self.version, "query": self.query,
                "action": ACTIONS.get(self.interaction, "E"),
                "patients": " ".join(self.patients) or None, "subtype": self.subtype, "role": self.role,
                "client_id": self.client_id, "purpose": self.purpose, "detail": self.detail}


def write(conn: Connection, records: list[AuditRecord]) -> None:
    if records:
        conn.execute(insert(audit_event), [r.row() for r in records])


class ReadAuditBuffer:
    def __init__(self, db, flush_seconds: float = 1.0, max_pending: int = 500):  # noqa: ANN001
        self._db = db
        self._pending: list[AuditRecord] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._thread: threading.Thread | None = None

    def add(self, record: AuditRecord) -> None:
        with self._lock:
            self._pending.append(record)
            n = len(self._pending)
        if self._thread is None:
            self._start()
        if n >= self._max_pending:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            with self._db.write() as conn:
                write(conn, batch)
        except Exception:  # keep them for the next round rather than lose them
            log.exception("writing %d audit rows failed; will retry", len(batch))
            with self._lock:
                self._pending[:0] = batch

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
