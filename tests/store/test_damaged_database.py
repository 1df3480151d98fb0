"""Issue 11 item 19: a damaged database file gives every CLI command one clear line naming the file
and what to do (not "unexpected error: DatabaseError"), and a non-zero exit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

COMMANDS = (["audit", "verify"], ["audit", "report", "p1"], ["user", "list"], ["backup"], ["migrate"],
            ["reindex"])


def benhan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benhan.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def good_database(tmp_path_factory) -> Path:  # noqa: ANN001
    data = tmp_path_factory.mktemp("good")
    assert benhan("migrate", "--data-dir", str(data)).returncode == 0
    return data / "benhan.sqlite"


def damaged_copy(good: Path, where: Path, offset: int, garbage: bytes) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    data = bytearray(good.read_bytes())
    data[offset:offset + len(garbage)] = garbage
    (where / "benhan.sqlite").write_bytes(bytes(data))
    return where


def assert_one_clear_line(done: subprocess.CompletedProcess, data: Path) -> None:
    lines = [line for line in done.stderr.splitlines() if not line.startswith("made readable")]
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    assert "BENHAN-4007" in lines[0] and str(data / "benhan.sqlite") in lines[0]
    assert "benhan restore" in lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_file_that_is_not_a_database(good_database, tmp_path, command):
    data = damaged_copy(good_database, tmp_path / "d", 0, b"\xde\xad" * 64)
    assert_one_clear_line(benhan(*command, "--data-dir", str(data)), data)


def test_a_database_with_damaged_pages(good_database, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    raw = bytearray(good_database.read_bytes())
    for page in range(4096, len(raw), 4096):      # every page after the first: tables, indexes, schema
        raw[page + 8:page + 400] = b"\xde" * 392
    (data / "benhan.sqlite").write_bytes(bytes(raw))
    assert_one_clear_line(benhan("audit", "verify", "--data-dir", str(data)), data)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(0, 200_000), garbage=st.binary(min_size=16, max_size=4096))
def test_any_damage_is_one_line_or_nothing(good_database, tmp_path_factory, offset, garbage):
    data = damaged_copy(good_database, tmp_path_factory.mktemp("any"), offset % good_database.stat().st_size, garbage)
    done = benhan("audit", "verify", "--data-dir", str(data))
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr
    if done.returncode != 0:       # damage SQLite does not read past (a free page) is no error
        assert done.returncode == 1 and len([l for l in done.stderr.splitlines() if l.startswith("benhan:")]) == 1


def test_an_unreachable_database_is_one_line_too():
    from tests.server_process import free_port
    done = benhan("audit", "verify", "--database-url", f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nowhere")
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("benhan: the database could not be used:") and "unexpected" not in done.stderr
