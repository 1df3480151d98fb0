"""A critical value is recognised in whatever unit the analyser writes it, when that unit converts to
the table's: g/dL for haemoglobin, mg/dL for glucose, K/µL or G/L for platelets, mmol/l in lower
case, mEq/L for potassium; a unit that does not convert raises nothing (a wrong alarm is no better
than a missed one). The LOINC code is found among the codings, not only the first."""
from __future__ import annotations

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.lab import critical, oru, simulator
from benhan.store.repository import Repository
from tests.forms import seed

LIMITS = critical.DEFAULTS


def _obs(code: str, value: float, unit: str, *, first: dict | None = None) -> dict:
    coding = ([first] if first else []) + [{"system": "http://loinc.org", "code": code}]
    return {"resourceType": "Observation", "code": {"coding": coding},
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


@pytest.mark.parametrize(("code", "value", "unit", "critical_"), [
    ("718-7", 5.2, "g/dL", True),          # 52 g/L, under 70
    ("718-7", 12.0, "g/dL", False),        # 120 g/L
    ("718-7", 65, "g/l", True),
    ("2823-3", 7.1, "mmol/l", True),
    ("2823-3", 4.0, "mmol/l", False),
    ("2823-3", 6.5, "mEq/L", True),        # potassium: one charge, 1 mEq = 1 mmol
    ("14749-6", 470, "mg/dL", True),       # 26.1 mmol/L, over 25
    ("14749-6", 440, "mg/dL", False),      # 24.4 mmol/L
    ("14743-9", 35, "mg/dL", True),        # 1.9 mmol/L, under 2.2
    ("777-3", 15, "K/µL", True),           # 15 ×10⁹/L, under 20
    ("777-3", 15, "G/L", True),
    ("777-3", 15000, "/uL", True),
    ("777-3", 150000, "/uL", False),
    ("777-3", 15, "10^9/L", True),
    ("2951-2", 170, "mmol/L", True),
])
def test_a_value_in_the_analysers_unit_is_compared_in_the_tables(code, value, unit, critical_):  # noqa: ANN001
    assert critical.beyond(_obs(code, value, unit), LIMITS) is critical_


def test_a_unit_that_does_not_convert_raises_nothing():
    assert not critical.beyond(_obs("718-7", 5, "ng/mL"), LIMITS)          # not a haemoglobin unit
    assert not critical.beyond(_obs("2823-3", 9, "mg/dL"), LIMITS)        # potassium: no molar mass in the table
    assert not critical.beyond(_obs("2075-0", 200, "mmol/L"), LIMITS)     # not in the table at all


def test_the_loinc_coding_need_not_be_the_first():
    local = {"system": "urn:oid:1.2.3.4", "code": "K"}
    assert critical.beyond(_obs("2823-3", 7.2, "mmol/L", first=local), LIMITS)
    assert not critical.beyond(_obs("2823-3", 7.2, "mmol/L", first={"system": "urn:x", "code": "2823-3"})
                               | {"code": {"coding": [{"system": "urn:x", "code": "2823-3"}]}}, LIMITS)


def test_an_analyser_in_g_per_dl_raises_the_flag_through_its_message(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "test:718-7"})
    out = oru.receive(Repository(store, oru.analyser_actor("xn-02")), simulator.oru_r01(
        order, [simulator.Result("718-7", "5.1", "g/dL", "12-16", "LL")], control_id="HB51"))
    assert out.code == "AA"
    (flag,) = [m.json() for m in repo.search_type("Flag", [("encounter", f"Encounter/{ids['encounter']}")]).matches]
    assert flag["status"] == "active" and "5,1 g/dL" in flag["code"]["text"]
