"""A hub on HTTPS with the self-signed certificate of `benhan tls self-signed` (a provincial hub on
a LAN or VPN without a public certificate): the node trusts it through `hub_ca_file`, and without
that setting it is told in one line what to do. Real processes: the hub is `benhan serve`, the node
is driven by its command line."""
from __future__ import annotations

import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.web import tls
from tests import factories
from tests.server_process import benhan_command, free_port, run_benhan, spawn, terminate


def _toml(data_dir: Path, **settings: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    # Owner only, as benhan makes its folder (else it says so on stderr while tightening them).
    data_dir.chmod(0o700)
    (data_dir / "benhan.toml").write_text("".join(f"{k} = '{v}'\n" for k, v in settings.items()))
    (data_dir / "benhan.toml").chmod(0o600)


@pytest.fixture
def https_hub(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """(its https URL, its data folder, its certificate)."""
    hub = tmp_path / "hub"
    made = tls.self_signed(hub / "tls", ["127.0.0.1", "localhost"], days=30)
    _toml(hub, role="hub", tls_cert_file=str(made.cert_file), tls_key_file=str(made.key_file))
    port = free_port()
    log_path = tmp_path / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    with open(log_path, "wb") as log:
        process = spawn(benhan_command("serve", "--data-dir", str(hub), "--port", str(port)),
                        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(verify=ssl.create_default_context(cafile=str(made.cert_file)), timeout=2) as http:
            while True:
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                try:
                    if http.get(f"{url}/fhir/metadata").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
        yield url, hub, made.cert_file
    finally:
        terminate(process)


def test_a_node_syncs_with_a_self_signed_https_hub_it_was_told_to_trust(https_hub, tmp_path: Path):  # noqa: ANN001
    url, hub_dir, cert = https_hub
    token = run_benhan("node", "invite", "tyt-a", "--data-dir", str(hub_dir))
    assert token.returncode == 0, token.stderr
    node_dir = tmp_path / "node"
    _toml(node_dir, role="node")

    # Not told to trust the hub's certificate: one line saying what to do, non-zero exit, no traceback.
    refused = run_benhan("node", "enroll", url, token.stdout.strip(), "--data-dir", str(node_dir))
    assert refused.returncode != 0
    assert "hub_ca_file" in refused.stderr and "Traceback" not in refused.stderr + refused.stdout
    assert len(refused.stderr.strip().splitlines()) == 1

    _toml(node_dir, role="node", hub_ca_file=str(cert))
    enrolled = run_benhan("node", "enroll", url, token.stdout.strip(), "--data-dir", str(node_dir))
    assert enrolled.returncode == 0, enrolled.stderr

    node = Store.open(config_mod.load(env={}, data_dir=node_dir))
    try:
        patient = Repository(node, Actor.system("tiep-don")).create("Patient", factories.patient(family="Hà")).res_id
    finally:
        node.close()
    synced = run_benhan("sync", "now", "--data-dir", str(node_dir))
    assert synced.returncode == 0, synced.stderr

    at_hub = Store.open(config_mod.load(env={}, data_dir=hub_dir), upgrade=False)
    try:
        assert Repository(at_hub, Actor.system("test")).read("Patient", patient).json()["name"][0]["family"] == "Hà"
    finally:
        at_hub.close()


def test_an_unreadable_hub_ca_file_is_named(tmp_path: Path):
    node_dir = tmp_path / "node"
    (tmp_path / "not-a-cert.pem").write_text("hello")
    _toml(node_dir, role="node", hub_ca_file=str(tmp_path / "not-a-cert.pem"))
    done = run_benhan("node", "enroll", "https://127.0.0.1:9", "x" * 20, "--data-dir", str(node_dir))
    assert done.returncode != 0 and "hub_ca_file" in done.stderr and "Traceback" not in done.stderr
