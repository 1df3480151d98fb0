"""Migrations: the schema they build is the one the code declares; a schema this version does not
know stops the server (BENHAN-4002) and is left untouched; old pre-migration backups are pruned to
the newest few. SQLite and PostgreSQL.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, func, select, text

from benhan import errors
from benhan.store import migrate
from benhan.store.backup import prune
from benhan.store.database import Database
from benhan.store.schema import metadata, resource
from tests import factories
from tests.server_process import (api_client, FHIR_JSON, Database as DataPlace, ServerProcess, free_port,
                                  fresh_postgres_database, run_benhan)

LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO) ")


@pytest.fixture(params=["sqlite", "postgresql"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DataPlace]:
    """An empty database of each kind, of this test's own."""
    if request.param == "sqlite":
        (tmp_path / "data").mkdir()
        yield DataPlace(tmp_path / "data")
        return
    with fresh_postgres_database(request.getfixturevalue("pg_database")) as url:
        yield DataPlace(tmp_path / "data", url)


@pytest.fixture
def db(place: DataPlace) -> Iterator[Database]:
    database = Database(place.url)
    yield database
    database.dispose()


def differences(db: Database, declared: MetaData) -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), declared)


# --- the schema ----------------------------------------------------------------------------------

def test_the_schema_the_migrations_build_is_exactly_the_one_the_code_declares(db: Database) -> None:
    assert migrate.upgrade(db) == "empty"
    assert migrate.current_revision(db) == migrate.head_revision()
    assert differences(db, metadata) == []


def test_the_comparison_notices_a_column_the_migrations_do_not_make(db: Database) -> None:
    migrate.upgrade(db)
    declared = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(declared)
    declared.tables["resource"].append_column(Column("profile", String(255), nullable=True))
    assert [(d[0], d[3].name) for d in differences(db, declared)] == [("add_column", "profile")]


def test_migration_files_are_numbered_and_each_names_its_number_as_its_revision() -> None:
    files = sorted(p for p in (migrate.MIGRATIONS / "versions").glob("*.py") if not p.name.startswith("_"))
    assert files, "no migrations"
    numbers = [p.name[:4] for p in files]
    assert all(n.isdigit() for n in numbers)
    assert numbers == [f"{i:04d}" for i in range(1, len(files) + 1)]
    assert migrate.known_revisions() == set(numbers)
    assert migrate.head_revision() == numbers[-1]


def alembics_answer() -> tuple[str, set[str]]:
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(migrate._alembic_config())
    return script.get_current_head(), {rev.revision for rev in script.walk_revisions()}


def test_the_head_read_from_the_scripts_is_alembics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (migrate.head_revision(), migrate.known_revisions()) == alembics_answer()
    # A script whose revision is not a plain literal: the static reading gives up, Alembic answers.
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS", folder)
    head = migrate.head_revision()
    (folder / "versions" / "9999_next.py").write_text(
        f'revision = "99" + "99"\ndown_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n'
        "def upgrade() -> None:\n    pass\n")
    assert migrate._chain() is None
    assert (migrate.head_revision(), migrate.known_revisions()) == alembics_answer()
    assert migrate.head_revision() == "9999"
    # Written plainly, it is read from the file again, and still agrees.
    (folder / "versions" / "9999_next.py").write_text(
        f'revision = "9999"\ndown_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n'
        "def upgrade() -> None:\n    pass\n")
    assert migrate._chain() is not None
    assert (migrate.head_revision(), migrate.known_revisions()) == alembics_answer()
    assert migrate.head_revision() == "9999"


def test_the_revision_read_from_the_database_is_alembics(db: Database) -> None:
    from alembic import command

    def alembics() -> str | None:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    assert migrate.current_revision(db) is None is alembics()
    cfg = migrate._alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    assert migrate.current_revision(db) == "0001" == alembics()
    assert migrate.status(db) == "behind"
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision() == alembics()
    with db.write() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    assert migrate.current_revision(db) is None is alembics()


def test_opening_a_current_database_does_not_load_alembic(tmp_path: Path) -> None:
    """The server keeps what its start-up imported: a schema already current is checked without
    Alembic; one that needs migrating is migrated with it."""
    code = ("import sys; from benhan import config; from benhan.store.store import Store\n"
            "Store.open(config.load(data_dir=sys.argv[1])).close()\n"
            "print('alembic' in sys.modules)")
    data = tmp_path / "data"
    first = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True, text=True, timeout=120)
    again = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert (first.stdout.split()[-1], again.stdout.split()[-1]) == ("True", "False")


def test_a_current_database_is_left_alone_and_an_empty_one_is_migrated_without_a_backup(
        db: Database, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    assert migrate.upgrade(db, backups) == "empty"
    assert migrate.upgrade(db, backups) == "current"
    assert not backups.exists() or list(backups.iterdir()) == []


def test_a_database_at_the_first_revision_is_backed_up_then_upgraded_and_keeps_every_row(
        db: Database, tmp_path: Path) -> None:
    from alembic import command
    cfg = migrate._alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO resource (res_type, res_id, version, last_updated, deleted, content_hash) "
                          "VALUES ('Patient', 'p1', 1, 1, false, :h)"), {"h": b"x" * 32})
        conn.execute(text("INSERT INTO audit_event (recorded, action, interaction, outcome, agent) "
                          "VALUES (1, 'C', 'create', '0', 'before-0002')"))
    backups = tmp_path / "backups"
    assert migrate.upgrade(db, backups) == "behind"
    assert migrate.current_revision(db) == migrate.head_revision()
    assert [p.name.startswith("benhan-pre-migrate-0001-") for p in backups.iterdir()] == [True]
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT res_id FROM resource")).scalars().all() == ["p1"]
        assert conn.execute(text("SELECT agent, chain_pos FROM audit_event")).all() == [("before-0002", None)]


# --- a schema this version does not know ---------------------------------------------------------

def assert_refused_with_one_line(done: subprocess.CompletedProcess, code: str) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    said = [line for line in done.stderr.splitlines() if not LOG_RECORD.match(line)]
    assert len(said) == 1, done.stderr
    assert said[0].startswith(f"benhan: {code}: ")
    return said[0]


def serve_until_it_exits(place: DataPlace) -> subprocess.CompletedProcess:
    """`benhan serve` on a database it should refuse: it must exit on its own (timeout: it served)."""
    return run_benhan("serve", *place.cli_args(), "--port", str(free_port()), timeout=240)   # refused before serving; generous for a loaded machine


def holding_three_patients(place: DataPlace) -> None:
    import httpx
    with ServerProcess(place.data_dir, place.database_url) as server, api_client() as http:
        for _ in range(3):
            assert http.post(f"{server.base}/Patient", json=factories.patient(), headers=FHIR_JSON).status_code == 201
        server.stop()


def test_the_server_refuses_to_start_on_a_schema_revision_it_does_not_know(place: DataPlace, db: Database,
                                                                           tmp_path: Path) -> None:
    holding_three_patients(place)
    with db.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_newer_benhan'"))
    done = serve_until_it_exits(place)
    said = assert_refused_with_one_line(done, "BENHAN-4002")
    assert "'0099_from_a_newer_benhan'" in said
    assert migrate.current_revision(db) == "0099_from_a_newer_benhan"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(resource)).scalar() == 3
    assert not (place.data_dir / "backups").exists()


@pytest.mark.parametrize("lost", ["its row", "its table"])
def test_a_database_whose_revision_record_is_lost_but_whose_tables_remain_is_refused_not_migrated(
        lost: str, place: DataPlace, db: Database, tmp_path: Path) -> None:
    holding_three_patients(place)
    with db.write() as conn:
        conn.execute(text("DELETE FROM alembic_version") if lost == "its row" else text("DROP TABLE alembic_version"))
    assert migrate.status(db) == "unknown"
    with pytest.raises(errors.SchemaUnknown):
        migrate.upgrade(db, tmp_path / "backups")
    assert_refused_with_one_line(serve_until_it_exits(place), "BENHAN-4002")
    assert_refused_with_one_line(run_benhan("migrate", *place.cli_args()), "BENHAN-4002")
    assert migrate.current_revision(db) is None
    assert differences(db, metadata) == []
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(resource)).scalar() == 3
    assert not (tmp_path / "backups").exists() and not (place.data_dir / "backups").exists()


# --- pruning old backups -------------------------------------------------------------------------

def touch(folder: Path, name: str) -> str:
    (folder / name).write_bytes(b"backup")
    return name


def test_prune_keeps_the_newest_backups_by_when_they_were_taken_and_nothing_else_is_touched(tmp_path: Path) -> None:
    old = [touch(tmp_path, f"benhan-pre-migrate-0002-2026010{d}T000000000000Z.sqlite.gz") for d in (1, 2)]
    new = [touch(tmp_path, "benhan-pre-migrate-0001-20260301T000000000000Z.sqlite.gz"),   # restored, then re-migrated
           touch(tmp_path, "benhan-pre-migrate-0002-20260302T000000000000Z.pgdump"),
           touch(tmp_path, "benhan-pre-migrate-0003-20260303T120000000000Z.sqlite.gz")]
    others = [touch(tmp_path, "benhan-manual-20250101T000000000000Z.sqlite.gz"),
              touch(tmp_path, "benhan-pre-migrate-0003-20260304T000000000000Z.sqlite.gz.part"),
              touch(tmp_path, "benhan-before-restore-20250101T000000000000Z.pgdump")]
    assert len(list(tmp_path.iterdir())) == len(old + new + others)
    prune(tmp_path, "pre-migrate-", keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(new + others)


def test_prune_with_keep_zero_removes_every_backup_of_that_kind(tmp_path: Path) -> None:
    touch(tmp_path, "benhan-pre-migrate-0001-20260101T000000000000Z.sqlite.gz")
    kept = touch(tmp_path, "benhan-manual-20260101T000000000000Z.sqlite.gz")
    prune(tmp_path, "pre-migrate-", keep=0)
    assert [p.name for p in tmp_path.iterdir()] == [kept]

