"""Migration 0007 (bulk_export_job) on a database at 0006 that holds data: every row is kept and
the new table is usable. SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from benhan.store import migrate
from benhan.store.database import Database
from benhan.store.schema import bulk_export_job


@pytest.fixture
def db(migration_db: Database) -> Database:     # tests/store/conftest.py: SQLite and PostgreSQL
    return migration_db


def test_0007_keeps_every_row_of_a_0006_database_and_adds_the_export_jobs(db: Database, tmp_path: Path) -> None:
    cfg = migrate._alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO resource (res_type, res_id, version, last_updated, deleted, content_hash) "
                          "VALUES ('Patient', 'p1', 1, 1, false, :h)"), {"h": b"x" * 32})
        conn.execute(text("INSERT INTO outbox_item (kind, idem_key, subject, payload, state, attempts, created_at, "
                          "next_attempt) VALUES ('bhyt-claim', 'k1', 'LK1', :p, 'pending', 0, 1, 1)"), {"p": b"<x/>"})
    backups = tmp_path / "backups"
    assert migrate.upgrade(db, backups) == "behind"
    # Upgraded to the head (later migrations of this release follow 0007; each has its own test).
    assert migrate.current_revision(db) == migrate.head_revision()
    assert [p.name.startswith("benhan-pre-migrate-0006-") for p in backups.iterdir()] == [True]
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT res_id FROM resource")).scalars().all() == ["p1"]
        assert conn.execute(text("SELECT idem_key, state FROM outbox_item")).all() == [("k1", "pending")]
        conn.execute(bulk_export_job.insert().values(
            id="j1", client_id="c", agent="c", level="system", request="r", params="{}", state="queued",
            transaction_time=1, created=1))
        assert conn.execute(select(bulk_export_job.c.state)).scalars().all() == ["queued"]
