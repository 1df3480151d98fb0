"""Schema migrations (Alembic), run by the server itself.

Rules: migrations are numbered and never edited once released; the server refuses to start on a
schema it does not know (a newer benhan wrote it); before it upgrades a database that holds data it
takes a backup (store.backup) so a failed or regretted migration loses nothing.

Whether the schema is current is answered without Alembic (~8.5 MiB and its start-up, kept for the
life of the serving process otherwise): the database's `alembic_version` row read with one query,
the head read from the migration scripts' own `revision` / `down_revision` lines. Alembic is
imported only to migrate, or when the scripts are not a plain line of revisions (a merge, a branch
label, a dependency, a script whose revision cannot be read): then its own answer is taken.
tests/store/test_migrations.py checks that both answers agree.
"""
from __future__ import annotations

import ast
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from benhan import errors
from benhan.store.database import Database

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"      # Alembic's default; env.py does not name another
# The files Alembic reads as revision scripts (alembic.script.base's _only_source_rev_file).
_SCRIPT_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _alembic_script():  # noqa: ANN202
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(_alembic_config())


_chains: dict[tuple, dict[str, str | None] | None] = {}


def _chain() -> dict[str, str | None] | None:
    """revision → down_revision of every script in MIGRATIONS/versions, read from the files without
    running them; None when they are not a single line of plain revisions (Alembic then decides)."""
    folder = MIGRATIONS / "versions"
    try:
        files = sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(folder)
                       if e.is_file() and _SCRIPT_FILE.match(e.name))
    except OSError:
        return None
    key = (str(folder), tuple(files))
    if key not in _chains:
        _chains[key] = _read_chain(folder, [name for name, _, _ in files])
    return _chains[key]


def _read_chain(folder: Path, names: list[str]) -> dict[str, str | None] | None:
    chain: dict[str, str | None] = {}
    for name in names:
        try:
            tree = ast.parse((folder / name).read_bytes(), filename=name)
        except (OSError, SyntaxError, ValueError):
            return None
        found: dict[str, object] = {}
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in (
                            "revision", "down_revision", "branch_labels", "depends_on"):
                        try:
                            found[target.id] = ast.literal_eval(node.value) if node.value is not None else None
                        except ValueError:
                            return None
        revision, down = found.get("revision"), found.get("down_revision")
        if (not isinstance(revision, str) or not (down is None or isinstance(down, str))
                or found.get("branch_labels") is not None or found.get("depends_on") is not None
                or revision in chain):
            return None
        chain[revision] = down
    return chain


def known_revisions() -> set[str]:
    chain = _chain()
    if chain is not None:
        return set(chain)
    return {rev.revision for rev in _alembic_script().walk_revisions()}


def head_revision() -> str:
    chain = _chain()
    if chain is not None:
        heads = set(chain) - set(chain.values())
        if len(heads) == 1 and all(down is None or down in chain for down in chain.values()):
            return heads.pop()
    return _alembic_script().get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        if len(rows) <= 1:
            return rows[0] if rows else None
        # Several rows (branches): Alembic's own answer (it refuses to name one).
        from alembic.runtime.migration import MigrationContext
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


def run_upgrade(db: Database) -> None:
    """Alembic's upgrade to head, in one transaction (the only place the migration tool is loaded)."""
    from alembic import command
    cfg = _alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


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
    run_upgrade(db)
    return state
