"""The code lists on the first start (issue 12 item 1): a fresh `benhan serve` (and `benhan serve
--demo`, and `benhan demo`) loads the packaged code lists the database lacks, saying so on the
console, so that a diagnosis can be recorded from the first minute; a second start writes nothing
and costs one query."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from benhan import config as config_mod
from benhan.store.store import Store
from benhan.terminology import load as loader
from tests.server_process import _environment, benhan_command, end, free_port, run_benhan, spawn


def test_the_ids_a_start_checks_are_those_the_builders_write():
    for name, build in loader.CATALOG.items():
        assert tuple(cs["id"] for cs, _ in build()) == loader.CODE_SYSTEM_IDS[name], name
    assert set(loader.CODE_SYSTEM_IDS) == set(loader.CATALOG)


def test_ensure_loads_what_is_missing_once(store):  # noqa: ANN001
    assert loader.missing(store) == list(loader.CATALOG)
    said: list[str] = []
    loader.load(store, ["icd10-tt06"])                 # a partial load: the rest is still missing
    assert "icd10-tt06" not in loader.missing(store) and "wards" in loader.missing(store)
    done = loader.ensure(store, progress=said.append)
    assert {r.res_id for r in done if r.res_type == "CodeSystem"} == {
        i for name, ids in loader.CODE_SYSTEM_IDS.items() if name != "icd10-tt06" for i in ids}
    assert loader.missing(store) == [] and len(said) == 2 and "loading the code lists" in said[0]
    assert loader.ensure(store, progress=said.append) == [] and len(said) == 2     # idempotent, silent


def _serve(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = data_dir.parent / "serve.log"
    with open(log, "wb") as out:
        process = spawn(benhan_command("serve", "--data-dir", str(data_dir), "--port", str(port), *extra),
                        stdout=out, stderr=subprocess.STDOUT, env=_environment())
    return process, port, log


def _wait(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"benhan serve did not answer:\n{log.read_text()}")


def _stored_code_systems(data_dir: Path) -> list[str]:
    store = Store.open(config_mod.load(env={}, data_dir=data_dir), upgrade=False)
    try:
        return loader.missing(store)
    finally:
        store.close()


def test_the_first_serve_loads_the_code_lists_and_says_so(tmp_path):  # noqa: ANN001
    data = tmp_path / "data"
    process, port, log = _serve(data)
    try:
        _wait(process, port, log)
    finally:
        end(process)
    said = log.read_text()
    assert "loading the code lists" in said and "đang nạp danh mục mã" in said and "codes (" in said
    assert _stored_code_systems(data) == []
    process, port, log = _serve(data)             # the second start: nothing to load, nothing said
    try:
        _wait(process, port, log)
    finally:
        end(process)
    assert "loading the code lists" not in log.read_text()


def test_benhan_demo_loads_the_code_lists_first(tmp_path):  # noqa: ANN001
    data = tmp_path / "data"
    done = run_benhan("demo", "--patients", "2", "--data-dir", str(data), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "loading the code lists" in done.stdout
    assert _stored_code_systems(data) == []
