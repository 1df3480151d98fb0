"""An analyser's results over HL7 v2/MLLP, through a real TCP socket: the simulator sends ORU^R01
for an order placed by the doctor, the listener stores the Observations (value, UCUM unit, range,
flag) and a preliminary DiagnosticReport and answers AA; an unknown order or a malformed segment is
answered AE and nothing is stored; a message type it does not take is answered AR. Both databases."""
from __future__ import annotations

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.lab import simulator
from benhan.lab.mllp import Listener
from benhan.lab.simulator import Result
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests.audit.helpers import sql
from tests.forms import seed

K = Result("2823-3", "4,2", "mmol/L", "3.5-5.0", "N", "Potassium")
NA = Result("2951-2", "131", "mmol/L", "135-145", "L", "Sodium")


@pytest.fixture
def listener(store):  # noqa: ANN001, ANN201
    running = Listener(store, "cobas-c311", port=0).start()
    try:
        yield running
    finally:
        running.stop()
    assert not running._thread.is_alive()


def _order(store) -> tuple[Repository, str]:  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    return repo, orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})


def _stored(repo: Repository, order: str) -> tuple[list[dict], list[dict]]:
    reports = [m.json() for m in repo.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order}")]).matches]
    obs = [m.json() for m in repo.search_type("Observation", [("based-on", f"ServiceRequest/{order}")]).matches]
    return reports, obs


def test_results_round_trip_over_mllp(store, listener):  # noqa: ANN001
    repo, order = _order(store)
    ack = simulator.send("127.0.0.1", listener.port, simulator.oru_r01(order, [K, NA], control_id="C-17"))
    assert simulator.ack_code(ack) == ("AA", "")
    assert "|C-17|" in ack.split("\r")[1] + "|"
    reports, obs = _stored(repo, order)
    assert [r["status"] for r in reports] == ["preliminary"]
    assert len(reports[0]["result"]) == 2
    by_code = {o["code"]["coding"][0]["code"]: o for o in obs}
    sodium = by_code["2951-2"]
    assert sodium["valueQuantity"] == {"value": 131.0, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                                       "code": "mmol/L"}
    assert sodium["referenceRange"][0]["low"]["value"] == 135.0
    assert sodium["interpretation"][0]["coding"][0]["code"] == "L"
    assert by_code["2823-3"]["valueQuantity"]["value"] == 4.2
    assert repo.read("ServiceRequest", order).json()["status"] == "active"   # not validated yet
    again = simulator.send("127.0.0.1", listener.port, simulator.oru_r01(order, [K, NA], control_id="C-17"))
    assert simulator.ack_code(again)[0] == "AA" and _stored(repo, order) == (reports, obs)   # a resend: once
    written = sql(store, "SELECT interaction, res_type FROM audit_event WHERE agent = :a", a="lab-analyser:cobas-c311")
    assert {(r[0], r[1]) for r in written} >= {("create", "Observation"), ("create", "DiagnosticReport")}


def test_unknown_order_is_ae_and_nothing_stored(store, listener):  # noqa: ANN001
    repo, order = _order(store)
    ack = simulator.send("127.0.0.1", listener.port, simulator.oru_r01("no-such-order", [K]))
    code, reason = simulator.ack_code(ack)
    assert code == "AE" and "unknown order" in reason
    assert _stored(repo, order) == ([], [])


def test_malformed_segment_is_ae_and_nothing_stored(store, listener):  # noqa: ANN001
    repo, order = _order(store)
    bad = simulator.oru_r01(order, [K, Result("2951-2", "cao", "mmol/L")])     # OBX-5 not a number
    code, reason = simulator.ack_code(simulator.send("127.0.0.1", listener.port, bad))
    assert code == "AE" and "OBX-5" in reason
    assert _stored(repo, order) == ([], [])
    code, _ = simulator.ack_code(simulator.send("127.0.0.1", listener.port, "this is not HL7"))
    assert code == "AE"


def test_other_message_type_is_ar(store, listener):  # noqa: ANN001
    repo, order = _order(store)
    adt = simulator.oru_r01(order, [K], message_type="ADT^A01^ADT_A01")
    assert simulator.ack_code(simulator.send("127.0.0.1", listener.port, adt))[0] == "AR"
    assert _stored(repo, order) == ([], [])


def test_serve_runs_the_listener_when_lab_mllp_port_is_set(store):  # noqa: ANN001
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    from tests.server_process import free_port
    repo, order = _order(store)
    port = free_port()
    configured = Store.open(store.config.replace(lab_mllp_port=port))   # the same database, with the port set
    try:
        with TestClient(create_app(configured.config, configured)):
            ack = simulator.send("127.0.0.1", port, simulator.oru_r01(order, [K]))
            assert simulator.ack_code(ack)[0] == "AA"
    finally:
        configured.close()
    assert len(_stored(repo, order)[1]) == 1
    with pytest.raises(OSError):     # stopped with the app
        simulator.send("127.0.0.1", port, simulator.oru_r01(order, [K]), timeout=5)
