"""The first run as a part-time IT person meets it: a taken port, the LAN address, and the set-up
scripts that install once."""
from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

from benhan.cli_listen import browser_urls, lan_addresses
from tests.server_process import _environment, benhan_command, end, free_port, run_benhan, spawn

ROOT = Path(__file__).resolve().parent.parent


def test_a_taken_port_is_named_at_once_in_vietnamese_and_english(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_benhan("serve", "--demo", "--port", str(port), "--data-dir", str(tmp_path / "data"), timeout=60)
    assert done.returncode != 0
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert f"cổng {port} đang được" in message and f"port {port} is already in use" in message
    assert "--port " in message
    # Nothing was done before the check: no database made, no demo loaded.
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_the_first_start_with_the_demo_loads_it_and_serves_without_the_loader(tmp_path):
    """./scripts/start's first run: the demo is loaded (by a child process, so that what the loader
    took goes back to the system), the accounts and the banner are printed, the server answers; the
    serving process keeps no child and has not loaded the PDF stack (pikepdf's library) before a
    page asks for a PDF."""
    import httpx

    from benhan import config as config_mod
    from benhan.store.store import Store

    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = spawn(benhan_command("serve", "--demo", "--data-dir", str(data), "--port", str(port)),
                        stdout=out, stderr=subprocess.STDOUT, env=_environment())
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        if children.exists():
            assert children.read_text().split() == []
        maps = Path(f"/proc/{process.pid}/maps")
        if maps.exists():
            assert "pikepdf" not in maps.read_text()
    finally:
        end(process)
    said = log.read_text()
    assert re.search(r"demo facility loaded: \d+ resources", said), said
    assert said.index("demo accounts") < said.index("is running")       # the banner comes last
    assert "Traceback" not in said
    store = Store.open(config_mod.load(env={}, data_dir=data), upgrade=False)
    try:
        assert not store.is_empty()
    finally:
        store.close()


def test_serving_on_every_interface_prints_the_lan_addresses():
    urls = browser_urls("0.0.0.0", 8080, "http")
    assert urls[0] == "http://localhost:8080"
    assert urls[1:] == [f"http://{a}:8080" for a in lan_addresses()]
    assert all(not u.startswith("http://127.") for u in urls)
    assert browser_urls("127.0.0.1", 9000, "https") == ["https://localhost:9000"]


def _fake_project(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of scripts/_venv.sh beside a pyproject.toml, with a .venv whose python only records
    what it was asked to do (the real install needs the package registry; the logic under test is
    the script's decision to install or not)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "_venv.sh", tmp_path / "scripts" / "_venv.sh")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "pip.log"
    python = bin_dir / "python"
    python.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return tmp_path, log


def _ensure(project: Path, extra: str) -> None:
    subprocess.run(["bash", "-c", f'source scripts/_venv.sh && ensure_venv "{extra}"'], cwd=project,
                   check=True, capture_output=True, env={**os.environ})


def test_start_after_test_installs_nothing_and_a_changed_pyproject_installs_again(tmp_path):
    project, log = _fake_project(tmp_path)
    _ensure(project, "test")
    installs = [line for line in log.read_text().splitlines() if "install" in line and "-e" in line]
    assert installs == ["-m pip install --quiet -e .[test]"]
    _ensure(project, "")          # ./scripts/start after ./scripts/test
    _ensure(project, "test")      # and back
    assert [line for line in log.read_text().splitlines() if "-e" in line] == installs
    (project / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    _ensure(project, "")
    assert [line for line in log.read_text().splitlines() if "-e" in line][-1] == "-m pip install --quiet -e ."
