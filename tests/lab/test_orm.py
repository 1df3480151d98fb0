"""Orders to the analyser (ORM^O01 over MLLP through the outbox), with a real TCP listener on a
free port that checks the framing and answers like a LIS: collecting a specimen sends the order
once with its placer number and patient; a listener that is down means a retry, then one delivery;
an AE answer closes the message as rejected with the reason kept. Both databases."""
from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.lab import orm, specimens
from benhan.lab.mllp import END, START, frame
from benhan.outbox.queue import Outbox
from benhan.store.repository import Repository
from tests.forms import seed
from tests.server_process import free_port

TECH = Actor(name="ktv.huyen", display="Mạc Thị Huyền Trang", roles=("lab_technician",))


class Lis:
    """A LIS stand-in: takes MLLP-framed ORM^O01 messages, records them, answers `code`."""

    def __init__(self, port: int, code: str = "AA", reason: str = ""):
        self.code, self.reason, self.got = code, reason, []
        self.sock = socket.create_server(("127.0.0.1", port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(END):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                assert data.startswith(START) and data.endswith(END), "not MLLP-framed"
                message = data[1:-2].decode("utf-8")
                self.got.append(message)
                control = message.split("\r")[0].split("|")[9]
                conn.sendall(frame(f"MSH|^~\\&|LIS|LAB|BENHAN|BV|20260101||ACK^O01^ACK|A{control}|P|2.5\r"
                                   f"MSA|{self.code}|{control}|{self.reason}\r"))

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


def _collect(store, port: int) -> tuple[str, dict]:  # noqa: ANN001
    store.config.values["lab_orm_address"] = f"127.0.0.1:{port}"
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order_id = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})
    specimens.collect(Repository(store, TECH), TECH, order_id)
    patient = repo.read("Patient", ids["patient"]).json()
    return order_id, patient


def _segment(message: str, name: str) -> list[str]:
    return next(s for s in message.split("\r") if s.startswith(name + "|")).split("|")


def test_collect_sends_the_order_once(store):  # noqa: ANN001
    lis = Lis(free_port())
    try:
        order_id, patient = _collect(store, lis.sock.getsockname()[1])
        outbox = Outbox(store.db)
        assert orm.send_due(outbox, store.config) == 1
        assert orm.send_due(outbox, store.config) == 0
        assert len(lis.got) == 1
        msg = lis.got[0]
        assert _segment(msg, "MSH")[8] == "ORM^O01^ORM_O01"
        pid = _segment(msg, "PID")
        assert pid[3].split("^")[0] == patient["id"]
        assert " ".join(pid[5].split("^")) == patient["name"][0]["text"]   # Hoàng^Thị Thùy Dương
        assert pid[8] == "F"
        assert pid[7] == patient["birthDate"].replace("-", "")
        assert _segment(msg, "ORC")[1:3] == ["NW", order_id]
        obr = _segment(msg, "OBR")
        assert obr[2] == order_id and obr[4].split("^")[0]
        item = outbox.by_key(orm.idem_key(order_id))
        assert item.state == "sent" and "MSA|AA" in json.loads(item.receipt)["ack"]
    finally:
        lis.close()


def test_down_then_retried_then_delivered_once(store):  # noqa: ANN001
    port = free_port()
    order_id, _ = _collect(store, port)
    now = [datetime.now(timezone.utc) + timedelta(minutes=1)]   # after the queueing moment
    outbox = Outbox(store.db, clock=lambda: now[0], rng=lambda: 0.0)
    assert orm.send_due(outbox, store.config) == 1
    item = outbox.by_key(orm.idem_key(order_id))
    assert item.state == "pending" and item.last_error
    lis = Lis(port)
    try:
        assert orm.send_due(outbox, store.config) == 0      # not due before the backoff
        now[0] += timedelta(hours=1)
        assert orm.send_due(outbox, store.config) == 1
        assert orm.send_due(outbox, store.config) == 0
        assert len(lis.got) == 1 and order_id in lis.got[0]
        assert outbox.by_key(orm.idem_key(order_id)).state == "sent"
    finally:
        lis.close()


def test_refused_order_is_rejected_and_kept(store):  # noqa: ANN001
    lis = Lis(free_port(), code="AE", reason="unknown test code")
    try:
        order_id, _ = _collect(store, lis.sock.getsockname()[1])
        outbox = Outbox(store.db, clock=lambda: datetime.now(timezone.utc) + timedelta(minutes=1))
        orm.send_due(outbox, store.config)
        item = outbox.by_key(orm.idem_key(order_id))
        assert item.state == "rejected" and "unknown test code" in item.last_error
        assert "MSA|AE" in json.loads(item.receipt)["ack"]
        assert orm.send_due(outbox, store.config) == 0 and len(lis.got) == 1
    finally:
        lis.close()


def test_no_address_queues_nothing(store):  # noqa: ANN001
    store.config.values["lab_orm_address"] = ""
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    order_id = orders.place(repo, seed.DOCTOR, repo.read("Encounter", ids["encounter"]).json(), "lab",
                            {"order_lab": "panel:electrolytes"})
    specimens.collect(Repository(store, TECH), TECH, order_id)
    assert Outbox(store.db).by_key(orm.idem_key(order_id)) is None


def test_server_worker_sends_what_collection_queued(store):  # noqa: ANN001
    from benhan.web import orm_runner
    store.config.values["lab_orm_address"] = ""
    assert orm_runner.start_if_configured(store) is None
    lis = Lis(free_port())
    try:
        order_id, _ = _collect(store, lis.sock.getsockname()[1])
        runner = orm_runner.start_if_configured(store)
        assert runner is not None
        runner.stop()
        assert runner.round() == 1 and len(lis.got) == 1 and order_id in lis.got[0]
    finally:
        lis.close()
