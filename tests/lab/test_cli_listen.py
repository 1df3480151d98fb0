"""`benhan lab listen` as the facility runs it: a real process (its own process group, ended with the
test), the simulator sends an ORU^R01 for an order in its database and gets AA, the result is stored;
the log has one line per message without a patient's name or a value; a taken port is refused in one
line before anything starts."""
from __future__ import annotations

import socket
import subprocess
import time

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.lab import simulator
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests.forms import seed
from tests.server_process import _environment, benhan_command, end, free_port, run_benhan, spawn


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the listener exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the listener did not open its port")


def test_lab_listen_stores_and_acks(tmp_path):  # noqa: ANN001
    data = tmp_path / "data"
    store = Store.open(config_mod.load(data_dir=data, env={}))
    try:
        ids = seed.build(store)
        repo = Repository(store, Actor.system())
        encounter = repo.read("Encounter", ids["encounter"]).json()
        order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "test:2823-3"})
        patient_name = seed.V["name"]
    finally:
        store.close()
    port = free_port()
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        process = spawn(benhan_command("lab", "listen", "--port", str(port), "--host", "127.0.0.1",
                                       "--name", "xn-01", "--data-dir", str(data)),
                        stdout=out, stderr=subprocess.STDOUT, env=_environment())
        try:
            _wait_listening(port, process)
            message = simulator.oru_r01(order, [simulator.Result("2823-3", "6.9", "mmol/L", "3.5-5.0", "HH")],
                                        control_id="K-1")
            assert simulator.ack_code(simulator.send("127.0.0.1", port, message))[0] == "AA"
            taken = run_benhan("lab", "listen", "--port", str(port), "--host", "127.0.0.1", "--data-dir", str(data))
            assert taken.returncode != 0 and str(port) in taken.stderr and "Traceback" not in taken.stderr
        finally:
            end(process)
    store = Store.open(config_mod.load(data_dir=data, env={}))
    try:
        repo = Repository(store, Actor.system())
        (obs,) = [m.json() for m in repo.search_type("Observation", [("based-on", f"ServiceRequest/{order}")]).matches]
        assert obs["valueQuantity"]["value"] == 6.9 and obs["interpretation"][0]["coding"][0]["code"] == "HH"
    finally:
        store.close()
    lines = [x for x in log.read_text().splitlines() if "message K-1" in x]
    assert len(lines) == 1 and "AA" in lines[0] and "6.9" not in lines[0]
    assert patient_name not in log.read_text()
