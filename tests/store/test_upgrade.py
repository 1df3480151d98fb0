"""`benhan upgrade` from the previous release's database (schema 0006) holding real records: every
resource kept (counts and content hashes equal); a migration that fails — inside its transaction, or
after committing part of its work — leaves the database exactly as it was, says so in one line and
exits non-zero. The backup taken first is encrypted with the data folder's backup key (made when there
is none), never plain. Real `benhan` processes, SQLite (plain and encrypted at rest) and PostgreSQL."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.store import encryption, migrate
from benhan.store.database import Database
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.store.upgrade import fingerprint
from tests import factories
from tests.server_process import _environment, end, fresh_postgres_database, run_benhan, spawn

PREVIOUS_RELEASE_HEAD = "0006"


@pytest.fixture(params=["sqlite", "sqlite-encrypted", "postgresql"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str | None]]:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    if request.param == "sqlite-encrypted":
        if not encryption.available():
            pytest.skip("SQLCipher (sqlcipher3-binary) is not installed on this platform")
        # The database key first: the database is then encrypted from its first page.
        done = run_benhan("key", "init", "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
    if request.param.startswith("sqlite"):
        yield data, None
        return
    with fresh_postgres_database(request.getfixturevalue("pg_database")) as url:
        yield data, url


def _previous_release_database(data: Path, url: str | None) -> dict[str, tuple[int, str]]:
    """A database at 0006 with patients, visits and observations written through the store (its write
    path: versions, indexes, change log, audit); returns type/id → (version, content hash)."""
    cfg = config_mod.load(env={}, data_dir=data, database_url=url)
    db = Database(cfg.sqlalchemy_url)
    alembic_cfg = migrate._alembic_config()
    with db.engine.begin() as conn:
        alembic_cfg.attributes["connection"] = conn
        command.upgrade(alembic_cfg, PREVIOUS_RELEASE_HEAD)
    import benhan.clinical  # noqa: F401  (the write rules)
    store = Store(cfg, db)
    repo = Repository(store, Actor.system("test"))
    first = ""
    try:
        for i in range(6):
            pid = repo.create("Patient", factories.patient(family=f"Nguyễn {i}")).res_id
            repo.create("Observation", factories.observation(f"Patient/{pid}", value=70 + i))
            first = first if i else pid
        body = repo.read("Patient", first).json()
        body["gender"] = "female"
        repo.update("Patient", first, body)         # a second version
        with db.read() as conn:
            rows = conn.execute(text("SELECT res_type, res_id, version, content_hash FROM resource")).all()
    finally:
        store.close()
    assert migrate_revision(cfg.sqlalchemy_url) == PREVIOUS_RELEASE_HEAD
    return {f"{t}/{i}": (v, bytes(h).hex()) for t, i, v, h in rows}


def migrate_revision(url: str) -> str | None:
    db = Database(url)
    try:
        return migrate.current_revision(db)
    finally:
        db.dispose()


def _resources(url: str) -> dict[str, tuple[int, str]]:
    db = Database(url)
    try:
        with db.read() as conn:
            rows = conn.execute(text("SELECT res_type, res_id, version, content_hash FROM resource")).all()
    finally:
        db.dispose()
    return {f"{t}/{i}": (v, bytes(h).hex()) for t, i, v, h in rows}


def _fingerprint(url: str):  # noqa: ANN202
    db = Database(url)
    try:
        return fingerprint(db)
    finally:
        db.dispose()


def run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """A real process in its own process group, ended (with its group) whatever happens."""
    process = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())
    try:
        out, err = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(args, process.returncode, out, err)
    finally:
        end(process, graceful=False)


def _cli(data: Path, url: str | None) -> list[str]:
    return ["--data-dir", str(data)] + (["--database-url", url] if url else [])


def test_upgrade_from_the_previous_release_keeps_every_resource(place) -> None:  # noqa: ANN001
    data, url = place
    before = _previous_release_database(data, url)
    db_url = url or f"sqlite:///{data / 'benhan.sqlite'}"
    at_rest = encryption.is_plain_file(data / "benhan.sqlite")      # True plain, False encrypted, None PG
    done = run([sys.executable, "-m", "benhan.cli", "upgrade", *_cli(data, url)])
    assert done.returncode == 0, done.stderr
    assert "recovery key" in done.stdout        # a backup key was made for the backup: said, and where
    assert f"{PREVIOUS_RELEASE_HEAD} → {migrate.head_revision()}" in done.stdout
    assert f"{len(before)} resources kept" in done.stdout
    assert migrate_revision(db_url) == migrate.head_revision()
    assert _resources(db_url) == before and len(before) == 12
    backups = sorted(p.name for p in (data / "backups").iterdir() if not p.name.endswith(".json"))
    assert len(backups) == 1 and backups[0].startswith(f"benhan-pre-upgrade-{PREVIOUS_RELEASE_HEAD}-")
    _assert_encrypted_backup(data / "backups" / backups[0])
    assert encryption.is_plain_file(data / "benhan.sqlite") is at_rest
    again = run([sys.executable, "-m", "benhan.cli", "upgrade", *_cli(data, url)])
    assert again.returncode == 0 and "already current" in again.stdout


def _assert_encrypted_backup(path: Path) -> None:
    """The backup file is backup_crypto's format: no SQLite, gzip or pg_dump header and no patient's
    name anywhere in its bytes; no plain copy or scratch folder is left beside it."""
    assert path.name.endswith((".sqlite.enc", ".pgdump.enc")), path.name
    raw = path.read_bytes()
    assert not raw.startswith((b"SQLite format 3", b"\x1f\x8b", b"PGDMP"))
    assert "Nguyễn".encode() not in raw and b"Nguy" not in raw
    left = [p.name for p in path.parent.iterdir() if p.name.startswith(".benhan-scratch-") or p.name.endswith(".part")]
    assert left == []


FAILING = {
    # Fails inside the migration's transaction: the database's own rollback undoes it.
    "in-transaction": """
        op.execute("DELETE FROM change_log")
        op.create_table("doomed", sa.Column("x", sa.Integer()))
        raise RuntimeError("test migration 0099 fails on purpose")
    """,
    # Commits part of its work first (as a migration with an autocommit block would): only the
    # backup can undo that.
    "after-a-commit": """
        op.execute("DELETE FROM change_log")
        op.create_table("doomed", sa.Column("x", sa.Integer()))
        op.get_bind().exec_driver_sql("COMMIT")
        op.execute("DELETE FROM resource_version")
        raise RuntimeError("test migration 0099 fails on purpose")
    """,
}


def _failing_migrations(tmp: Path, body: str) -> Path:
    """A copy of benhan's migrations with one more, 0099, that fails."""
    folder = tmp / "migrations"
    shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "0099_fails.py").write_text(textwrap.dedent(f'''
        """A migration that fails (test only)."""
        import sqlalchemy as sa
        from alembic import op

        revision = "0099"
        down_revision = "{migrate.head_revision()}"
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(body), "    "))
    return folder


@pytest.mark.parametrize("how", sorted(FAILING))
def test_a_failing_migration_leaves_the_previous_database_intact(place, how: str,  # noqa: ANN001
                                                                 tmp_path: Path) -> None:
    data, url = place
    before_resources = _previous_release_database(data, url)
    db_url = url or f"sqlite:///{data / 'benhan.sqlite'}"
    before = _fingerprint(db_url)
    at_rest = encryption.is_plain_file(data / "benhan.sqlite")
    folder = _failing_migrations(tmp_path, FAILING[how])
    # The real command in a process whose migrations folder is the copy with 0099.
    code = ("import sys, pathlib; import benhan.store.migrate as m; m.MIGRATIONS = pathlib.Path(sys.argv[1]); "
            "sys.argv = ['benhan', *sys.argv[2:]]; from benhan.cli import main; main()")
    done = run([sys.executable, "-c", code, str(folder), "upgrade", *_cli(data, url)])
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "BENHAN-4008" in lines[0] and f"rolled back to schema {PREVIOUS_RELEASE_HEAD}" in lines[0]
    assert "test migration 0099 fails on purpose" in lines[0]
    if how == "after-a-commit":
        assert "restored from benhan-pre-upgrade-0006-" in lines[0]
    (copy,) = [p for p in (data / "backups").iterdir() if not p.name.endswith(".json")]
    _assert_encrypted_backup(copy)
    after = _fingerprint(db_url)
    assert after == before and after.revision == PREVIOUS_RELEASE_HEAD
    assert _resources(db_url) == before_resources
    assert "doomed" not in after.tables and after.tables["change_log"] > 0
    # A node encrypted at rest gets its database back encrypted with its own key, not in plain text.
    assert encryption.is_plain_file(data / "benhan.sqlite") is at_rest
    # The previous version's server would start on it; this version upgrades it normally.
    fine = run([sys.executable, "-m", "benhan.cli", "upgrade", *_cli(data, url)])
    assert fine.returncode == 0, fine.stderr
    assert _resources(db_url) == before_resources
