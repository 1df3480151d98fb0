"""After the analyser: a critical potassium raises a Flag for the ordering doctor on the visit, which
the doctor acknowledges (audited); the results become final only after technical validation by the
technician and medical validation by another person — the same user twice is refused and changes
nothing. Both databases; the results arrive through the real MLLP listener."""
from __future__ import annotations

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.clinical.common import ACCOUNT
from benhan.lab import critical, simulator, validation
from benhan.lab.mllp import Listener
from benhan.lab.simulator import Result
from benhan.store.repository import Repository
from tests.audit.helpers import sql
from tests.forms import seed

TECH = Actor(name="ktv.huyen", display="Mạc Thị Huyền Trang", roles=("lab_technician",))
DOCTOR = Actor(name="bs.quan", display="Kiều Minh Quân", roles=("doctor",))


@pytest.fixture
def sent(store):  # noqa: ANN001, ANN201
    """Send `results` for a fresh electrolytes order; (repo, encounter id, order id, report id)."""
    listener = Listener(store, "cobas-c311", port=0).start()
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    sent_ids: list[str] = []

    def send(results: list[Result]) -> tuple[Repository, str, str, str]:
        order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})
        sent_ids.append(f"M{len(sent_ids) + 1}")       # an analyser numbers its messages
        ack = simulator.send("127.0.0.1", listener.port, simulator.oru_r01(order, results, control_id=sent_ids[-1]))
        assert simulator.ack_code(ack)[0] == "AA"
        (report,) = repo.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order}")]).matches
        return repo, ids["encounter"], order, report.res_id
    try:
        yield send
    finally:
        listener.stop()


def test_critical_potassium_flags_the_ordering_doctor_until_acknowledged(store, sent):  # noqa: ANN001
    repo, encounter, _, _ = sent([Result("2823-3", "6.9", "mmol/L", "3.5-5.0", "HH"),
                                  Result("2951-2", "138", "mmol/L", "135-145", "N")])
    (flag,) = validation.open_flags(repo, encounter)
    assert "Kali" in flag["code"]["text"] and "6,9 mmol/L" in flag["code"]["text"]
    assert {"url": critical.FOR, "valueReference": {"identifier": {"system": ACCOUNT, "value": seed.DOCTOR.name},
                                                    "display": seed.DOCTOR.display}} in flag["extension"]
    repo2, _, _, _ = sent([Result("2823-3", "4.1", "mmol/L", "3.5-5.0", "N")])      # normal: no new flag
    assert len(validation.open_flags(repo2, encounter)) == 1
    validation.acknowledge(Repository(store, DOCTOR), DOCTOR, flag["id"])
    assert validation.open_flags(repo, encounter) == []
    ended = repo.read("Flag", flag["id"]).json()
    assert ended["status"] == "inactive" and ended["period"]["end"]
    assert {r[0] for r in sql(store, "SELECT interaction FROM audit_event WHERE agent = 'bs.quan' AND res_type = 'Flag' "
                                  "AND res_id = :f", f=flag["id"])} >= {"update"}
    with pytest.raises(validation.ValidationRefused):
        validation.acknowledge(repo, DOCTOR, flag["id"])


def test_critical_limits_from_the_facility_table(tmp_path):  # noqa: ANN001
    (tmp_path / critical.FILE).write_text('["2823-3"]\nlow = 3.0\nhigh = 6.0\nunit = "mmol/L"\n', encoding="utf-8")
    limits = critical.table(tmp_path)
    obs = {"code": {"coding": [{"code": "2823-3"}]}, "valueQuantity": {"value": 6.1, "unit": "mmol/L"}}
    assert critical.beyond(obs, limits) and not critical.beyond(obs, critical.DEFAULTS)
    assert not critical.beyond({**obs, "valueQuantity": {"value": 6.1, "unit": "mg/dL"}}, limits)
    (tmp_path / critical.FILE).write_text('["2823-3"]\nlow = "thấp"\n', encoding="utf-8")
    with pytest.raises(critical.TableError):
        critical.table(tmp_path)


def test_two_step_validation_by_two_people(store, sent):  # noqa: ANN001
    repo, _, order, report = sent([Result("2951-2", "131", "mmol/L", "135-145", "L")])
    with pytest.raises(validation.ValidationRefused) as first:
        validation.medical(repo, DOCTOR, report)
    assert first.value.key == "ui.lab.err.technical_first"
    validation.technical(repo, TECH, report)
    assert repo.read("DiagnosticReport", report).json()["status"] == "preliminary"
    same = Actor(name=TECH.name, display=TECH.display, roles=("lab_technician", "doctor"))
    with pytest.raises(validation.ValidationRefused) as twice:
        validation.medical(repo, same, report)
    assert twice.value.key == "ui.lab.err.same_person"
    assert repo.read("DiagnosticReport", report).json()["status"] == "preliminary"
    validation.medical(repo, DOCTOR, report, {"reference": "Practitioner/x", "display": DOCTOR.display})
    final = repo.read("DiagnosticReport", report).json()
    assert final["status"] == "final" and final["resultsInterpreter"][0]["display"] == DOCTOR.display
    assert final["performer"][0]["display"] == TECH.display
    (obs,) = [m.json() for m in repo.search_type("Observation", [("based-on", f"ServiceRequest/{order}")]).matches]
    assert obs["status"] == "final"
    assert repo.read("ServiceRequest", order).json()["status"] == "completed"
    with pytest.raises(validation.ValidationRefused):
        validation.technical(repo, TECH, report)
