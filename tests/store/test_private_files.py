"""Issue 11 item 18: the database, its WAL, every backup and their folders are owner-only."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from benhan import config as config_mod
from benhan.store import backup
from benhan.store.private_files import tighten
from benhan.store.store import Store
from tests import factories

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_wal_and_backups_are_created_owner_only(tmp_path):
    old = os.umask(0o022)               # the usual umask: files 0644, folders 0755 unless we say
    try:
        data = tmp_path / "data"
        store = Store.open(config_mod.load(data_dir=data, env={}))
        try:
            from benhan.auth.actor import Actor
            from benhan.store.repository import Repository
            Repository(store, Actor(name="t", kind="system")).create("Patient", factories.patient())
            made = backup.backup(store.db, store.config.backups)
            assert {p.name for p in data.iterdir()} >= {"benhan.sqlite", "benhan.sqlite-wal", "benhan.sqlite-shm"}
            for f in (data / "benhan.sqlite", data / "benhan.sqlite-wal", data / "benhan.sqlite-shm", made):
                assert mode(f) == 0o600, f
            assert mode(data) == 0o700 and mode(store.config.backups) == 0o700
        finally:
            store.close()
        # A restore's database (and the kept old one) are owner-only too.
        backup.restore(store.config.sqlalchemy_url, made)
        assert mode(data / "benhan.sqlite") == 0o600
        assert all(mode(p) == 0o600 for p in data.iterdir() if p.is_file())
    finally:
        os.umask(old)


def test_a_backup_is_owner_only(store):
    made = backup.backup(store.db, store.config.backups)
    assert mode(made) == 0o600 and mode(store.config.backups) == 0o700


def test_files_left_readable_by_an_older_version_are_tightened_at_start(tmp_path, caplog):
    data = tmp_path / "data"
    Store.open(config_mod.load(data_dir=data, env={})).close()
    (data / "backups").mkdir(exist_ok=True)
    old_backup = data / "backups" / "benhan-manual-20250101T000000000000Z.sqlite.gz"
    old_backup.write_bytes(b"x")
    for p in (data, data / "backups"):
        os.chmod(p, 0o755)
    for p in (data / "benhan.sqlite", old_backup):
        os.chmod(p, 0o644)
    caplog.set_level("WARNING")
    Store.open(config_mod.load(data_dir=data, env={})).close()
    assert mode(data) == 0o700 and mode(data / "backups") == 0o700
    assert mode(data / "benhan.sqlite") == 0o600 and mode(old_backup) == 0o600
    assert "made readable by its owner only" in caplog.text and "benhan.sqlite" in caplog.text
    assert tighten([data], data / "benhan.sqlite") == []      # nothing left to change


def test_the_server_starts_with_owner_only_files(tmp_path):
    """The CLI path end to end: `benhan migrate` on a fresh folder, as a user with umask 022."""
    data = tmp_path / "fresh"
    done = subprocess.run([sys.executable, "-c", "import os; os.umask(0o022); from benhan.cli import main; main()",
                           "migrate", "--data-dir", str(data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    assert all(mode(p) == 0o600 for p in data.iterdir() if p.is_file())
    assert all(mode(p) == 0o700 for p in data.iterdir() if p.is_dir())
