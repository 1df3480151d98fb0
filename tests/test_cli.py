"""The command line: errors are one line on stderr and a non-zero exit; never a traceback."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def benhan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benhan.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_help_lists_the_commands():
    out = benhan("--help").stdout
    for command in ("serve", "migrate", "backup", "restore", "demo", "reindex", "config"):
        assert command in out


def test_restore_of_a_missing_file_is_one_line_and_exit_1(tmp_path: Path):
    done = benhan("restore", str(tmp_path / "nope.sqlite.gz"), "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "BENHAN-4004" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_setting_in_the_environment_is_one_line(tmp_path: Path):
    import os
    env = dict(os.environ, BENHAN_PORT="eighty")
    done = benhan("config", "show", "--data-dir", str(tmp_path), env=env)
    assert done.returncode == 1
    assert "BENHAN_PORT" in done.stderr and "Traceback" not in done.stderr


def test_the_demo_facility_loads_into_an_empty_database(tmp_path: Path):
    done = benhan("demo", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    loaded = int(re.search(r"demo facility loaded: (\d+) resources", done.stdout).group(1))
    assert loaded > 1000


def test_sync_now_says_how_many_refusals_it_did_not_print():
    """`benhan sync now` prints the hub's first refusals one per line; past those it says how many more
    there were instead of stopping in silence."""
    from benhan.cli_sync import REFUSED_SHOWN, refusal_lines
    refused = [{"type": "Patient", "id": f"p{i}", "version": 2, "reason": "out-of-scope"} for i in range(REFUSED_SHOWN + 3)]
    lines = refusal_lines(refused)
    assert lines[0] == "refused by the hub: Patient/p0 version 2 (out-of-scope)"
    assert len(lines) == REFUSED_SHOWN + 1 and lines[-1].startswith("… and 3 more refused by the hub")
    assert refusal_lines(refused[:REFUSED_SHOWN])[-1] == f"refused by the hub: Patient/p{REFUSED_SHOWN - 1} version 2 (out-of-scope)"
    assert refusal_lines([]) == []
