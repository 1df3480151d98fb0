"""Backup and restore through the command line, beside a real running server.

A backup taken while writers stream creates restores (into a fresh place) to a database that is
whole and holds every write acknowledged before the backup began. A restore checks its file before
it touches anything: a truncated, corrupt, foreign or missing file is refused with one line and
changes nothing; so is a restore over a database a server has open. What a restore replaces is
kept beside it.
"""
from __future__ import annotations

import gzip
import hashlib
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests import factories
from benhan.store.migrate import head_revision
from tests.server_process import (api_client, FHIR_JSON, Database, Writers, consistency_problems, fresh_postgres_database,
                                  run_benhan, sqlite_integrity, stored_resources)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind, of this test's own."""
    if request.param == "sqlite":
        yield Database(tmp_path / "data")
        return
    with fresh_postgres_database(request.getfixturevalue("pg_database")) as url:
        yield Database(tmp_path / "data", url)


def without_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k != "meta"}


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    return lines[0]


# --- a backup under write load -------------------------------------------------------------------

def test_a_backup_taken_under_write_load_restores_whole_with_every_write_acknowledged_before_it(
        database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    with database.server() as server:
        writers = Writers(server.base).start()
        try:
            deadline = time.monotonic() + 30
            while writers.acked_count() < 30:
                assert all(t.is_alive() for t in writers.threads), writers.refused()
                assert time.monotonic() < deadline, "the writers could not get 30 writes acknowledged"
                time.sleep(0.01)
            creates_before, transactions_before = writers.snapshot()
            made = run_benhan("backup", *database.cli_args(), "--out", str(tmp_path / "backups"))
            during = writers.acked_count() - len(creates_before) - len(transactions_before)
        finally:
            writers.join()
    assert made.returncode == 0, made.stderr
    assert writers.refused() == []
    assert during > 0, "no write was acknowledged while the backup ran, so it was not under load"
    file = Path(made.stdout.strip())
    assert file.parent == tmp_path / "backups" and file.is_file()

    if database.kind == "sqlite":
        restored = Database(tmp_path / "restored")
        done = run_benhan("restore", str(file), *restored.cli_args())
        assert done.returncode == 0, done.stderr
        assert sqlite_integrity(restored.data_dir / "benhan.sqlite") == "ok"
        check_restored(restored, file, done.stdout, creates_before, transactions_before)
    else:
        with fresh_postgres_database(database.database_url) as empty:
            restored = Database(tmp_path / "restored", empty)
            done = run_benhan("restore", str(file), *restored.cli_args())
            assert done.returncode == 0, done.stderr
            check_restored(restored, file, done.stdout, creates_before, transactions_before)


def check_restored(restored: Database, file: Path, said: str, creates: list[dict],
                   transactions: list[list[dict]]) -> None:
    assert consistency_problems(restored.url) == []
    stored = stored_resources(restored.url)
    assert said.strip() == f"restored {len(stored)} resources (schema {head_revision()}) from {file}"
    assert [b["id"] for b in creates if stored.get(("Patient", b["id"])) != b] == [], \
        "creates acknowledged before the backup began are missing from it"
    for sent in transactions:
        assert [without_meta(stored[(r["resourceType"], r["id"])]) for r in sent] == sent
    # The restored database is one the server opens and serves.
    with restored.server() as server, api_client() as http:
        for body in creates[:: max(1, len(creates) // 25)]:
            r = http.get(f"{server.base}/Patient/{body['id']}")
            assert (r.status_code, r.json()) == (200, body)


# --- refusals ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def facility(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A stopped server's data folder holding 5 Patients, and a backup taken when it held 3."""
    root = tmp_path_factory.mktemp("facility")
    db = Database(root / "data")
    with db.server() as server, api_client() as http:
        def create() -> None:
            assert http.post(f"{server.base}/Patient", json=factories.patient(), headers=FHIR_JSON).status_code == 201
        for _ in range(3):
            create()
        made = run_benhan("backup", *db.cli_args(), "--out", str(root / "backups"))
        assert made.returncode == 0, made.stderr
        for _ in range(2):
            create()
        server.stop()
    return db.data_dir, Path(made.stdout.strip())


@pytest.fixture
def data_dir(facility: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the facility's data folder, for this test to restore over."""
    return Path(shutil.copytree(facility[0], tmp_path / "data"))


@pytest.fixture
def good_backup(facility: tuple[Path, Path]) -> Path:
    return facility[1]


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in folder and a hash of its bytes: two equal fingerprints mean nothing changed."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def truncated(good: Path, tmp: Path) -> Path:
    bad = tmp / good.name
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return bad


def damaged_stream(good: Path, tmp: Path) -> Path:
    data = bytearray(good.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0x5A
    bad = tmp / good.name
    bad.write_bytes(bytes(data))
    return bad


def invalid_deflate(good: Path, tmp: Path) -> Path:
    """A gzip header followed by a compressed block of the reserved (invalid) type."""
    data = bytearray(good.read_bytes())
    start = 10
    if data[3] & 0x08:  # FNAME: a zero-terminated file name follows the fixed header
        start = data.index(0, start) + 1
    data[start] = 0b111     # BFINAL=1, BTYPE=11
    bad = tmp / good.name
    bad.write_bytes(bytes(data))
    return bad


def damaged_pages(good: Path, tmp: Path) -> Path:
    """A well-formed gzip of a database whose b-tree pages were overwritten."""
    raw = bytearray(gzip.decompress(good.read_bytes()))
    page = int.from_bytes(raw[16:18], "big")
    for start in range(page, len(raw), 2 * page):     # every other page after the header's
        raw[start:start + 64] = b"\xff" * 64
    bad = tmp / good.name
    bad.write_bytes(gzip.compress(bytes(raw)))
    return bad


def foreign_database(good: Path, tmp: Path) -> Path:
    """A gzipped SQLite database that benhan did not write."""
    plain = tmp / "other.sqlite"
    con = sqlite3.connect(plain)
    con.execute("CREATE TABLE note (body TEXT)")
    con.execute("INSERT INTO note VALUES ('not a medical record')")
    con.commit()
    con.close()
    bad = tmp / "benhan-manual-20260101T000000000000Z.sqlite.gz"
    bad.write_bytes(gzip.compress(plain.read_bytes()))
    return bad


def from_a_newer_benhan(good: Path, tmp: Path) -> Path:
    """A sound backup whose schema revision this version does not know."""
    plain = tmp / "newer.sqlite"
    plain.write_bytes(gzip.decompress(good.read_bytes()))
    con = sqlite3.connect(plain)
    con.execute("UPDATE alembic_version SET version_num = '0099_from_a_newer_benhan'")
    con.commit()
    con.close()
    bad = tmp / good.name
    bad.write_bytes(gzip.compress(plain.read_bytes()))
    return bad


def text_named_like_a_backup(good: Path, tmp: Path) -> Path:
    bad = tmp / good.name
    bad.write_text("this is a shopping list, not a backup\n")
    return bad


def some_other_file(good: Path, tmp: Path) -> Path:
    bad = tmp / "notes.txt"
    bad.write_text("a file that is not a backup at all\n")
    return bad


def missing(good: Path, tmp: Path) -> Path:
    return tmp / "benhan-manual-20260101T000000000000Z.sqlite.gz"


@pytest.mark.parametrize("make_bad_file", [truncated, damaged_stream, invalid_deflate, damaged_pages, foreign_database,
                                           from_a_newer_benhan,
                                           text_named_like_a_backup, some_other_file, missing])
def test_restore_refuses_a_bad_file_with_one_line_and_changes_nothing(make_bad_file, data_dir: Path,
                                                                      good_backup: Path, tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    bad = make_bad_file(good_backup, tmp_path / "bad")
    before = fingerprint(data_dir)
    done = run_benhan("restore", str(bad), "--data-dir", str(data_dir))
    assert done.returncode != 0
    assert one_line(done.stderr).startswith("benhan: BENHAN-4004: ")
    assert done.stdout == ""
    assert fingerprint(data_dir) == before


def test_restore_into_a_folder_that_does_not_exist_refuses_a_bad_file_without_making_the_folder(
        good_backup: Path, tmp_path: Path) -> None:
    bad = truncated(good_backup, tmp_path)
    done = run_benhan("restore", str(bad), "--data-dir", str(tmp_path / "new"))
    assert done.returncode != 0
    assert one_line(done.stderr).startswith("benhan: BENHAN-4004: ")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("load", ["idle", "writing"])
def test_restore_refuses_while_a_server_has_the_sqlite_database_open(load: str, data_dir: Path,
                                                                     good_backup: Path) -> None:
    with Database(data_dir).server() as server:
        writers = Writers(server.base, creators=1).start() if load == "writing" else None
        try:
            done = run_benhan("restore", str(good_backup), "--data-dir", str(data_dir))
        finally:
            if writers:
                writers.join()
        assert done.returncode != 0
        assert one_line(done.stderr) == (f"benhan: BENHAN-4004: {data_dir / 'benhan.sqlite'} is in use; "
                                         "stop the server before restoring")
        assert sorted(p.name for p in data_dir.iterdir() if "before-restore" in p.name or "restoring" in p.name) == []
        # The server still serves its own database, writes made meanwhile included.
        with api_client() as http:
            assert http.get(f"{server.base}/Patient", params={"_summary": "count"}).json()["total"] == \
                5 + (len(writers.acked_creates()) + len(writers.transactions.written.acked) if writers else 0)
            assert http.post(f"{server.base}/Patient", json=factories.patient(), headers=FHIR_JSON).status_code == 201
        if writers:
            assert writers.refused() == []


def test_restore_replaces_the_database_and_keeps_the_replaced_one_beside_it(data_dir: Path,
                                                                            good_backup: Path) -> None:
    done = run_benhan("restore", str(good_backup), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"restored 3 resources (schema {head_revision()}) from {good_backup}"
    target = data_dir / "benhan.sqlite"
    kept = [p for p in data_dir.iterdir() if p.name.startswith("benhan.sqlite.before-restore-")
            and not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1
    assert sqlite_integrity(target) == "ok"
    assert sqlite_integrity(kept[0]) == "ok"
    assert len(stored_resources(f"sqlite:///{target}")) == 3
    assert len(stored_resources(f"sqlite:///{kept[0]}")) == 5
    assert not (data_dir / "benhan.sqlite.restoring").exists()


def test_a_postgresql_restore_refuses_a_bad_dump_and_leaves_the_database_as_it_was(
        pg_database: str, tmp_path: Path) -> None:
    with fresh_postgres_database(pg_database) as url:
        db = Database(tmp_path / "data", url)
        with db.server() as server, api_client() as http:
            for _ in range(3):
                assert http.post(f"{server.base}/Patient", json=factories.patient(),
                                 headers=FHIR_JSON).status_code == 201
            made = run_benhan("backup", *db.cli_args(), "--out", str(tmp_path / "backups"))
            assert made.returncode == 0, made.stderr
            assert http.post(f"{server.base}/Patient", json=factories.patient(), headers=FHIR_JSON).status_code == 201
        good = Path(made.stdout.strip())
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_newer_benhan'"))
        newer = run_benhan("backup", *db.cli_args(), "--out", str(tmp_path / "newer"))
        assert newer.returncode == 0, newer.stderr
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        engine.dispose()

        before = stored_resources(url)
        (tmp_path / "bad").mkdir()
        for bad in (truncated(good, tmp_path / "bad"), Path(newer.stdout.strip()),
                    text_named_like_a_backup(good, tmp_path / "bad"), some_other_file(good, tmp_path / "bad"),
                    tmp_path / "gone" / good.name):
            done = run_benhan("restore", str(bad), *db.cli_args())
            assert done.returncode != 0, bad
            assert one_line(done.stderr).startswith("benhan: BENHAN-4004: ")
            assert stored_resources(url) == before
            assert consistency_problems(url) == []
