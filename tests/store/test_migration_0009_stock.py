"""Migration 0009 (pharmacy stock): a database at the revision before it keeps every row and gains
the stock tables, empty; the ledger itself refuses a negative balance even from a caller that did
not check (the CHECK constraint). SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from benhan.store import migrate
from benhan.store.database import Database


@pytest.fixture
def db(migration_db: Database) -> Database:     # tests/store/conftest.py: SQLite and PostgreSQL
    return migration_db


def test_0009_keeps_every_row_and_adds_the_empty_stock_tables(db: Database, tmp_path: Path) -> None:
    cfg = migrate._alembic_config()
    before = ScriptDirectory.from_config(cfg).get_revision("0009").down_revision
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO resource (res_type, res_id, version, last_updated, deleted, content_hash) "
                          "VALUES ('Medication', 'm1', 1, 1, false, :h)"), {"h": b"x" * 32})
    assert migrate.upgrade(db, tmp_path / "backups") == "behind"
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT res_id FROM resource")).scalars().all() == ["m1"]
        for table in ("stock_store", "stock_lot", "stock_move", "stock_reorder"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        conn.execute(text("INSERT INTO stock_store (code, name, kind) VALUES ('main', 'Kho chính', 'main')"))
        conn.execute(text("INSERT INTO stock_lot (store, item_code, item_name, unit, lot_number, expiry) "
                          "VALUES ('main', 'T1', 'Paracetamol 500mg', 'viên', 'L1', '2027-01-31')"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO stock_move (lot_id, at, kind, quantity, balance, actor) "
                          "SELECT id, 1, 'dispense', -1, -1, 'x' FROM stock_lot"))
