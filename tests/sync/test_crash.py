"""SIGKILL the node or the hub at random moments while they sync, again and again: once they run
undisturbed they converge, with every version at both ends, none twice and none lost."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests.server_process import end, free_port, spawn
from tests.sync.harness import change_rows, versions

KILLS = 8


class Server:
    """`benhan serve` on a fixed port (the node must find the hub where it was after a restart)."""

    def __init__(self, data_dir: Path, database_url: str | None = None):
        self.data_dir, self.database_url, self.port = data_dir, database_url, free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # --no-code-lists: the test compares every version the node made with the hub's; the code
        # lists each server loads at its first start are its own (and megabytes on the link).
        args = [sys.executable, "-m", "benhan.cli", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
                "--no-code-lists"]
        if self.database_url:
            args += ["--database-url", self.database_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
        with open(self.data_dir.parent / f"{self.data_dir.name}.log", "ab") as log:
            self.process = spawn(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/fhir/metadata", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.data_dir.name} did not start")

    def kill(self) -> None:
        """SIGKILL, the server's whole process group."""
        if self.process:
            end(self.process, graceful=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    from tests.conftest import own_pg_database
    gen = own_pg_database("benhan_sync_crash")
    url = next(gen)
    request.addfinalizer(lambda: next(gen, None))
    return url


def test_killing_node_and_hub_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path, hub_url):
    seed = int(os.environ.get("SYNC_CRASH_SEED", time.time()))
    rng = random.Random(seed)
    victims = ["node", "hub"] * (KILLS // 2)
    rng.shuffle(victims)
    hub_dir, node_dir = tmp_path / "hub", tmp_path / "node"
    hub_dir.mkdir()
    node_dir.mkdir()
    (hub_dir / "benhan.toml").write_text('role = "hub"\n')
    hub = Server(hub_dir, hub_url)
    (node_dir / "benhan.toml").write_text(f'role = "node"\nsync_interval_seconds = 1\n'
                                          f'hub_url = "http://127.0.0.1:{hub.port}"\n')
    node = Server(node_dir)
    from tests.server_process import run_benhan
    stores: list[Store] = []
    try:        # from the hub's start: a failed enrolment too ends the hub (and its process group)
        hub.start()
        db_args = ["--data-dir", str(hub_dir)] + (["--database-url", hub_url] if hub_url else [])
        token = run_benhan("node", "invite", "tyt-crash", *db_args).stdout.strip()
        enrolled = run_benhan("node", "enroll", f"http://127.0.0.1:{hub.port}", token, "--data-dir", str(node_dir))
        assert enrolled.returncode == 0, enrolled.stderr
        node_store = Store.open(config_mod.load(env={}, data_dir=node_dir), upgrade=False)
        stores.append(node_store)
        hub_store = Store.open(config_mod.load(env={}, data_dir=hub_dir, database_url=hub_url), upgrade=False)
        stores.append(hub_store)
        node.start()
        from tests.sync.test_bad_network import _generate
        made = _generate(node_store, 0, 10, seed=99)
        hub_repo = Repository(hub_store, Actor.system("so-y-te"))
        kills = {"node": 0, "hub": 0}
        for i in range(KILLS):
            made += _generate(node_store, 10 + 5 * i, 15 + 5 * i, seed=99)
            hub_repo.create("Practitioner", {"resourceType": "Practitioner", "name": [{"family": f"Phạm {i}"}]})
            time.sleep(rng.uniform(0.2, 2.0))
            victim = victims[i]
            kills[victim] += 1
            server = node if victim == "node" else hub
            server.kill()
            time.sleep(rng.uniform(0.0, 1.0))
            server.start()
        deadline = time.monotonic() + 120
        node_id = node_store.node_id
        while time.monotonic() < deadline:
            mine, at_hub = versions(node_store, origin=node_id), versions(hub_store)
            theirs = {k: h for k, h in at_hub.items() if k[0] == "Practitioner"}
            at_node = versions(node_store)
            if all(at_hub.get(k) == h for k, h in mine.items()) and all(at_node.get(k) == h for k, h in theirs.items()):
                break
            time.sleep(1)
        else:
            pytest.fail(f"no convergence after {KILLS} kills {kills} (seed {seed}): "
                        f"{sum(1 for k in mine if k not in at_hub)} node versions missing at the hub")
        assert len(mine) == made
        for store in (node_store, hub_store):
            rows = change_rows(store)
            assert len(rows) == len(set(rows)), "a version applied twice"
        print(f"\n{KILLS} kills {kills} (seed {seed}): converged, {made} resources")
    finally:
        node.kill()
        hub.kill()
        for store in stores:
            store.close()
