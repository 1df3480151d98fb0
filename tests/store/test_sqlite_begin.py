"""SQLite transactions begin on the driver itself (store.database): what a caller sees of a lock
held too long, of a damaged file and of a rolled-back write is what it was."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from benhan import errors
from benhan.store.database import Database


def test_a_write_lock_held_elsewhere_past_the_busy_timeout_is_database_busy(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'b.sqlite'}", busy_timeout_ms=50)
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (a)"))
        other = sqlite3.connect(tmp_path / "b.sqlite", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(errors.DatabaseBusy):
                with db.write() as conn:
                    conn.execute(text("INSERT INTO t VALUES (1)"))
            other.execute("ROLLBACK")
        finally:
            other.close()
        with db.write() as conn:                  # the lock released: writing works again
            conn.execute(text("INSERT INTO t VALUES (2)"))
        with db.read() as conn:
            assert conn.execute(text("SELECT a FROM t")).scalars().all() == [2]
    finally:
        db.dispose()


def test_a_failed_write_is_rolled_back_and_the_next_one_begins_afresh(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'r.sqlite'}")
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (a)"))
        with pytest.raises(RuntimeError):
            with db.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("the form was not complete")
        for value in (2, 3):
            with db.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (:a)"), {"a": value})
        with db.read() as conn:
            assert conn.execute(text("SELECT a FROM t ORDER BY a")).scalars().all() == [2, 3]
    finally:
        db.dispose()


def test_a_file_that_is_not_a_database_is_named_when_a_transaction_begins(tmp_path: Path):
    path = tmp_path / "d.sqlite"
    path.write_bytes(b"this is not a database file, just text. " * 200)
    db = Database(f"sqlite:///{path}")
    try:
        with pytest.raises(errors.DatabaseDamaged) as caught:
            with db.write() as conn:
                conn.execute(text("SELECT 1"))
        assert str(path) in caught.value.message
    finally:
        db.dispose()
