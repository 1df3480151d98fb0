"""Dose and quantity checks of a prescription line (issue 12 item 7: Paracetamol 50 tablets × 6 a
day × 30 days = 9,000 tablets was accepted). The ceiling comes from the curated table
clinical/data/max-daily-doses.csv, for the patient's age and weight."""
from __future__ import annotations

import csv
import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benhan.auth.actor import Actor
from benhan.clinical import dose_limits, prescriptions, registration, visits
from benhan.clinical.common import FormInvalid
from benhan.clinical.demo import facility_bundle
from benhan.clinical.demo_catalogue import load_demo_catalogue
from benhan.clinical.overrides import OVERRIDE_REASON
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository

PARA = ("Paracetamol 500mg", "viên", ("paracetamol",), ("N02BE01",))


def _keys(warnings: list) -> list[str]:  # noqa: ANN001
    return [k for k, _ in warnings]


def test_the_reported_prescription_warns_three_ways():
    said = dose_limits.check(*PARA, dose=50, per_day=6, days=30, quantity=9000, age=40, weight_kg=60)
    assert _keys(said) == ["ui.warn.dose_above_max", "ui.warn.dose_units", "ui.warn.quantity_absurd"]
    assert said[0][1]["daily"] == "150000" and said[0][1]["max"] == "4000"


def test_an_ordinary_prescription_does_not_warn():
    assert dose_limits.check(*PARA, dose=1, per_day=3, days=5, quantity=15, age=40, weight_kg=60) == []
    assert dose_limits.check(*PARA, dose=2, per_day=4, days=3, quantity=24, age=40, weight_kg=None) == []


def test_a_child_is_dosed_by_weight():
    # 20 kg: 75 mg/kg/day = 1,500 mg; 500 mg × 4 = 2,000 mg is too much, 250 mg × 4 is not.
    said = dose_limits.check(*PARA, dose=1, per_day=4, days=3, quantity=12, age=6, weight_kg=20)
    assert _keys(said) == ["ui.warn.dose_above_max"] and said[0][1]["max"] == "1500"
    assert dose_limits.check(*PARA, dose=0.5, per_day=4, days=3, quantity=6, age=6, weight_kg=20) == []
    # No weight recorded: the child ceiling (here the adult one) still applies.
    assert _keys(dose_limits.check(*PARA, dose=3, per_day=4, days=1, quantity=12, age=6, weight_kg=None)) == [
        "ui.warn.dose_above_max"]


def test_a_quantity_beyond_the_days_prescribed_warns():
    said = dose_limits.check(*PARA, dose=1, per_day=3, days=5, quantity=30, age=40, weight_kg=60)
    assert _keys(said) == ["ui.warn.quantity_beyond_days"] and said[0][1]["needed"] == "15"


def test_strength_is_read_from_the_name_and_combinations_are_not_guessed():
    assert dose_limits.strength_mg("Paracetamol 500mg") == 500
    assert dose_limits.strength_mg("Ceftriaxon 1g") == 1000
    assert dose_limits.strength_mg("Meloxicam 7,5mg") == 7.5
    assert dose_limits.strength_mg("Augmentin 500mg + 125mg") is None
    assert dose_limits.limit_for(("amoxicilin", "acid clavulanic"), ("J01CA04",)) is None


def test_the_table_is_data_with_a_source_for_every_row():
    with dose_limits.TABLE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len({r["atc"] for r in rows}) == len(rows) >= 15
    for r in rows:
        assert r["source"].strip() and (r["adult_max_mg_per_day"] or r["child_max_mg_per_day"]), r
    assert dose_limits.table()["N02BE01"].adult_mg == 4000


@given(dose=st.floats(0.25, 20), per_day=st.integers(1, 8), days=st.integers(1, 60),
       age=st.one_of(st.none(), st.integers(0, 100)), weight=st.one_of(st.none(), st.floats(3, 120)))
def test_the_dose_warning_fires_exactly_above_the_ceiling(dose, per_day, days, age, weight):  # noqa: ANN001
    needed = math.ceil(dose * per_day * days - 1e-9)
    said = dose_limits.check(*PARA, dose=dose, per_day=per_day, days=days, quantity=needed, age=age, weight_kg=weight)
    cap = dose_limits.ceiling(dose_limits.table()["N02BE01"], age, weight)
    assert cap is not None
    assert ("ui.warn.dose_above_max" in _keys(said)) == (dose * per_day * 500 > cap[0] + 1e-9)
    assert "ui.warn.quantity_beyond_days" not in _keys(said)
    assert cap[0] <= 4000                              # never above the adult maximum


@pytest.fixture
def visit(store):  # noqa: ANN001, ANN201
    system = Repository(store, Actor.system("test"))
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    load_demo_catalogue(store)
    fac = visits.facility(system)
    form = registration.PatientForm.from_mapping({"cccd": "001090123456", "name": "Nguyễn Văn An",
                                                  "birth_date": "01/01/1990", "gender": "male"})
    pid = registration.register(system, form, Actor(name="bacsi"), date(2026, 11, 26), fac.organization_id).patient_id
    eid = visits.open_visit(system, Actor(name="bacsi"), pid, "kham-benh", visits.locations(system)[0][0], "Sốt", fac)
    repo = Repository(store, Actor(name="bacsi", display="Lê Văn Hùng"))
    return repo, repo.read("Encounter", eid).json()


def test_the_9000_tablets_are_refused_until_overridden_with_a_reason(visit):  # noqa: ANN001
    repo, encounter = visit
    para = next(d for d in prescriptions.catalogue(repo) if d.name == "Paracetamol 500mg")
    values = {"rx_drug": para.medication_id, "rx_dose": "50", "rx_per_day": "6", "rx_days": "30", "rx_route": "Uống"}
    with pytest.raises(FormInvalid) as err:
        prescriptions.prescribe(repo, repo.actor, encounter, values, [], [], age=36, weight_kg=60)
    assert "ui.warn.dose_above_max" in _keys(err.value.warnings)
    assert set(err.value.errors) == {"confirm_warnings", "override_reason"}
    rid = prescriptions.prescribe(repo, repo.actor, encounter,
                                  {**values, "confirm_warnings": "yes", "override_reason": "thử nghiệm cảnh báo"},
                                  [], [], age=36, weight_kg=60)
    line = repo.read("MedicationRequest", rid).json()
    assert line["dispenseRequest"]["quantity"]["value"] == 9000
    assert {"url": OVERRIDE_REASON, "valueString": "thử nghiệm cảnh báo"} in line["extension"]
    assert "dose_above_max" in line["note"][0]["text"]
