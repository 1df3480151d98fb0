"""An open store: the database, this node's identity, the compiled validator and the read-audit
buffer. One per server process."""
from __future__ import annotations

import logging
import weakref
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import make_url

from benhan.config import Config
from benhan.errors import ConfigError
from benhan.fhir.datetimes import set_local_zone
from benhan.store import bulk_load, migrate
from benhan.store.audit_log import ReadAuditBuffer
from benhan.store.database import Database
from benhan.store.group_commit import GroupCommit
from benhan.store.private_files import private_dir, tighten

log = logging.getLogger(__name__)


def _stop_threads(read_audit: ReadAuditBuffer, group_commit: GroupCommit) -> None:
    read_audit.stop()
    group_commit.stop()


class Store:
    def __init__(self, config: Config, db: Database):
        try:
            set_local_zone(config.timezone)
        except ValueError as exc:
            raise ConfigError(f"timezone: {exc}") from None
        self.config = config
        self.db = db
        self.read_audit = ReadAuditBuffer(db)
        self.group_commit = GroupCommit(db)
        # A store dropped without close() (a test's, a command's) must not leave its threads behind,
        # the read audit's writing forever into a database that may be gone: when the store is
        # collected they write what waits and end. A finalizer may run on any thread (theirs too),
        # so it only tells them to; at exit the daemon threads just end.
        self._stopped_when_dropped = weakref.finalize(self, _stop_threads, self.read_audit, self.group_commit)
        self._stopped_when_dropped.atexit = False
        self.node_id = config.node_id or db.node_id()
        from benhan.fhir.validation import default_validator
        self._validator = default_validator()

    @classmethod
    def open(cls, config: Config, *, upgrade: bool = True) -> "Store":
        """Open the configured database; migrate it (backing up first) or refuse an unknown schema."""
        sqlite = config.sqlalchemy_url.startswith("sqlite")
        if sqlite:
            private_dir(config.data_dir)
        if upgrade:     # not for a read-only inspection (audit verify): it changes nothing
            # Files an older version left readable by others, made owner-only (with a log line).
            database = make_url(config.sqlalchemy_url).database if sqlite else None
            # The data folder too on PostgreSQL: it holds exports, import jobs and key files.
            tighten([config.data_dir, config.backups],
                    Path(database) if database and database != ":memory:" else None)
        db = Database(config.sqlalchemy_url, busy_timeout_ms=config.sqlite_busy_timeout_ms,
                      pool_size=config.pool_size)
        try:
            if upgrade:
                # Backed up first; a failed migration rolled back to that backup (store/upgrade.py).
                from benhan.store.upgrade import safe_upgrade
                safe_upgrade(db, config.backups, keep=config.backup_keep, label="pre-migrate",
                             data_dir=config.data_dir)
            migrate.check(db)
            if upgrade:       # not in a bulk load's own workers, nor a read-only inspection
                bulk_load.ensure_indexes(db)
        except Exception:
            db.dispose()
            raise
        return cls(config, db)

    @cached_property
    def resource_types(self) -> frozenset[str]:
        from benhan.fhir.definitions import load_structure
        return load_structure().resource_types

    def validate(self, resource: dict) -> list:
        return [i for i in self._validator.validate(resource) if i.severity == "error"]

    def is_empty(self) -> bool:
        from sqlalchemy import select

        from benhan.store.schema import resource
        with self.db.read() as conn:
            return conn.execute(select(resource.c.pk).limit(1)).first() is None

    def close(self) -> None:
        """The writers' threads ended (the read audit's after writing what waits), then the
        connections closed: nothing of this store runs after it returns."""
        self._stopped_when_dropped.detach()
        try:
            self.group_commit.close()
            self.read_audit.close()
        finally:
            self.db.dispose()
