"""Number and quantity search (http://hl7.org/fhir/R4/search.html#number, #quantity): a search value
has the precision it is written with; prefixes; value|system|code, value||code and units — on
every store."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.search.helpers import create, found

UCUM = "http://unitsofmeasure.org"




def charge_item(factor: float | str | None) -> dict:
    item = {"resourceType": "ChargeItem", "status": "billable",
            "code": {"coding": [{"system": "http://benhan.vn/cs/dich-vu", "code": "KB"}]},
            "subject": {"reference": "Patient/p1"}}
    if factor is not None:
        item["factorOverride"] = factor
    return item


def observation(quantity: dict | None) -> dict:
    obs = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]}}
    if quantity is not None:
        obs["valueQuantity"] = quantity
    return obs


# --- number ----------------------------------------------------------------------------------------

FACTORS = (-3, 0.5, 99.4, 99.5, 100, 100.4, 100.5, 140, 160)


@pytest.fixture
def factors(client) -> dict[float, str]:
    return {f: create(client, charge_item(f)) for f in FACTORS}


def having(factors: dict[float, str], *values: float) -> set[str]:
    return {factors[v] for v in values}


NUMBER_SEARCHES = [
    ("100", (99.5, 100, 100.4)),                   # three significant figures: [99.5, 100.5)
    ("100.0", (100,)),                             # four: [99.95, 100.05)
    ("100.00", (100,)),
    ("99.5", (99.5,)),
    # 1e2 has one significant figure: [50, 150). (The spec's table says [95, 105) while calling it
    # "1 significant figure"; its rule, not its arithmetic, is followed here.)
    ("1e2", (99.4, 99.5, 100, 100.4, 100.5, 140)),
    ("1.0e2", (99.4, 99.5, 100, 100.4, 100.5)),    # two: [95, 105)
    ("eq100", (99.5, 100, 100.4)),
    ("ne100", (-3, 0.5, 99.4, 100.5, 140, 160)),
    ("gt100", (100.4, 100.5, 140, 160)),           # gt, lt, ge, le compare with exactly 100
    ("lt100", (-3, 0.5, 99.4, 99.5)),
    ("ge100", (100, 100.4, 100.5, 140, 160)),
    ("le100", (-3, 0.5, 99.4, 99.5, 100)),
    ("sa100", (100.4, 100.5, 140, 160)),
    ("eb100", (-3, 0.5, 99.4, 99.5)),
    ("ap100", (99.4, 99.5, 100, 100.4, 100.5)),    # within 10 %
    ("lt0", (-3,)),
    ("-3", (-3,)),
    ("gt-3.5", (-3, 0.5, 99.4, 99.5, 100, 100.4, 100.5, 140, 160)),
    ("0.5,160", (0.5, 160)),
]


def test_a_number_is_matched_at_the_precision_it_is_written_with(client, factors):
    wrong = {}
    for query, expected in NUMBER_SEARCHES:
        got = found(client, f"ChargeItem?factor-override={quote(query)}")
        if got != having(factors, *expected):
            wrong[query] = sorted(v for v, pid in factors.items() if pid in got)
    assert wrong == {}


def test_a_repeated_number_must_match_every_time(client, factors):
    assert found(client, "ChargeItem?factor-override=gt99&factor-override=lt100.5") == having(
        factors, 99.4, 99.5, 100, 100.4)


def test_missing_finds_resources_without_the_number(client):
    with_factor = create(client, charge_item(1.5))
    without = create(client, charge_item(None))
    assert found(client, "ChargeItem?factor-override:missing=true") == {without}
    assert found(client, "ChargeItem?factor-override:missing=false") == {with_factor}


def test_a_value_that_is_not_a_number_is_400_with_an_operation_outcome(client):
    for value in ("abc", "NaN", "Infinity", "1e99999", "1e999999999999", "5..4", "gt", "1,2,x", "0x10", "ap"):
        r = client.get("/fhir/ChargeItem?factor-override=" + quote(value))
        assert r.status_code == 400, value
        assert r.json()["resourceType"] == "OperationOutcome"


def test_a_parameter_without_an_expression_is_refused_rather_than_silently_matching_nothing(client):
    # Patient.age (number) has no FHIRPath in R4 — it is computed from birthDate by servers that
    # support it. Answering "no match" would mislead: it is refused like any unsupported parameter.
    r = client.get("/fhir/Patient?age=30")
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    lenient = client.get("/fhir/Patient?age=30", headers={"Prefer": "handling=lenient"})
    assert lenient.status_code == 200
    assert "age" not in next(link["url"] for link in lenient.json()["link"] if link["relation"] == "self")


# --- quantity --------------------------------------------------------------------------------------

@pytest.fixture
def results(client) -> dict[str, str]:
    return {
        "5.4 mg": create(client, observation({"value": 5.4, "unit": "mg", "system": UCUM, "code": "mg"})),
        "5.4 mmol/L": create(client, observation({"value": 5.4, "unit": "mmol/l", "system": UCUM, "code": "mmol/L"})),
        "100 milligram": create(client, observation({"value": 100, "unit": "milligram", "system": UCUM, "code": "mg"})),
        "7 viên": create(client, observation({"value": 7, "unit": "viên"})),
        "9 local": create(client, observation({"value": 9, "system": "http://benhan.vn/don-vi", "code": "mg"})),
    }


QUANTITY_SEARCHES = [
    ("5.4", ("5.4 mg", "5.4 mmol/L")),
    ("5", ("5.4 mg", "5.4 mmol/L")),                          # [4.5, 5.5)
    ("5.40", ("5.4 mg", "5.4 mmol/L")),
    ("5.3", ()),
    (f"5.4|{UCUM}|mg", ("5.4 mg",)),
    (f"5.4|{UCUM}|mmol/L", ("5.4 mmol/L",)),
    ("5.4||mg", ("5.4 mg",)),                                 # any system, code mg
    (f"5.4|{UCUM}|", ("5.4 mg", "5.4 mmol/L")),              # any code of that system
    ("le9||mg", ("5.4 mg", "9 local")),
    (f"le9|{UCUM}|mg", ("5.4 mg",)),
    ("gt5.4||mmol/L", ()),
    ("ge5.4||mmol/L", ("5.4 mmol/L",)),
    ("ne5.4||mg", ("100 milligram", "9 local")),
    (f"gt1|{UCUM}|mg", ("5.4 mg", "100 milligram")),
    ("lt6", ("5.4 mg", "5.4 mmol/L")),
    ("ap100||mg", ("100 milligram",)),
    ("7||viên", ("7 viên",)),                                 # a unit without a code
    ("100||milligram", ("100 milligram",)),                   # without a system: code or unit
    (f"100|{UCUM}|milligram", ()),                            # with a system: the code only
    (f"5.4|{UCUM}|mg,100||viên,7||viên", ("5.4 mg", "7 viên")),
]


def test_a_quantity_matches_its_value_and_optionally_its_system_and_unit(client, results):
    wrong = {}
    for query, expected in QUANTITY_SEARCHES:
        got = found(client, f"Observation?value-quantity={quote(query)}")
        if got != {results[k] for k in expected}:
            wrong[query] = sorted(k for k, pid in results.items() if pid in got)
    assert wrong == {}


def test_missing_finds_resources_without_a_quantity(client, results):
    without = create(client, observation(None))
    assert found(client, "Observation?value-quantity:missing=true") == {without}
    assert found(client, "Observation?value-quantity:missing=false") == set(results.values())


def test_a_quantity_without_a_number_is_400(client):
    for value in ("mg", "|http://unitsofmeasure.org|mg", "x|y|z", "gt|mg"):
        r = client.get("/fhir/Observation?value-quantity=" + quote(value))
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", value
