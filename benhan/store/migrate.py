"""Schema migrations (Alembic), run by the server itself.

Rules: migrations are numbered and never edited once released; the server refuses to start on a
schema it does not know (a newer benhan wrote it); before it upgrades a database that holds data it
takes a backup (store.backup) so a failed or regretted migration loses nothing.
"""
from __future__ import annotations

import logging
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from alembic import command
from benhan import errors
from benhan.store.database import Database

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(_alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def status(db: Database) -> str:
    """'empty', 'current', 'behind' or 'unknown' (written by a newer or foreign program)."""
    current = current_revision(db)
    if current is None:
        tables = set(inspect(db.engine).get_table_names())
        return "empty" if not tables else "unknown"
    if current == head_revision():
        return "current"
    return "behind" if current in known_revisions() else "unknown"


def check(db: Database) -> None:
    """Refuse a schema this version does not know, or one that needs migrating first."""
    state = status(db)
    if state == "unknown":
        raise errors.SchemaUnknown(
            f"database schema revision {current_revision(db)!r} is not one this version of benhan "
            "knows (was it written by a newer version?); refusing to start")
    if state != "current":
        raise errors.SchemaUnknown(f"database schema is {state}: run `benhan migrate` first")


def upgrade(db: Database, backup_dir: Path | None = None, keep: int = 10) -> str:
    """Bring the schema to head; back up first when the database already holds data."""
    state = status(db)
    if state == "unknown":
        check(db)
    if state == "current":
        return "current"
    if state == "behind" and backup_dir is not None:
        from benhan.store.backup import backup, prune
        path = backup(db, backup_dir, label=f"pre-migrate-{current_revision(db)}")
        prune(backup_dir, "pre-migrate-", keep)
        log.info("backup before migration: %s", path)
    cfg = _alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return state
