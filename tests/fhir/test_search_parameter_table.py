"""The search-parameter table is the spec's official one: every SearchParameter of R4's
search-parameters.json (the Bundle `searchParams`) is there with its own type, expression, targets
and components, and nothing else is — no example SearchParameter (`example-reference` made
Condition.subject point to Organization; `example` redefined `_id`; `example-extension` added a
Patient `part-agree`) and no profile's extension parameter.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benhan.fhir.definitions import load_structure
from benhan.fhir.searchparams import _data, parameters_for
from tools.build_search_parameters import expression_for, official_search_parameters
from tests.factories import patient
from tests.search.helpers import create, found


@pytest.fixture(scope="module")
def official(r4_examples_dir: Path) -> dict[str, dict]:
    return official_search_parameters(r4_examples_dir / "Bundle-searchParams.json")


def test_the_bundle_is_the_spec_search_parameters(official):
    assert len(official) == 1375
    assert not [u for u in official if "/example" in u or "-extensions-" in u]


def test_every_official_parameter_is_in_the_table_as_the_spec_defines_it(official):
    table = _data()["parameters"]
    expected: dict[tuple[str, str], dict] = {}
    for sp in official.values():
        for base in sp.get("base", []):
            entry = {"type": sp["type"], "url": sp["url"]}
            if sp.get("expression"):
                entry["expression"] = expression_for(base, sp["expression"], sp["base"])
            if sp.get("target"):
                entry["target"] = sorted(sp["target"])
            if sp.get("component"):
                entry["component"] = [{"code": official[c["definition"]]["code"], "expression": c["expression"]}
                                      for c in sp["component"]]
            expected[(base, sp["code"])] = entry
    actual = {(base, code): p for base, params in table.items() for code, p in params.items()}
    assert actual == expected
    # Nothing from outside the official bundle.
    assert {p["url"] for p in actual.values()} <= set(official)


def test_the_parameters_the_examples_had_replaced_are_the_official_ones():
    subject = parameters_for("Condition")["subject"]
    assert subject.url.endswith("/Condition-subject") and set(subject.target) == {"Group", "Patient"}
    assert parameters_for("Patient")["_id"].url.endswith("/Resource-id")
    assert "part-agree" not in parameters_for("Patient")
    # Every type's table holds only its own and the inherited (Resource, DomainResource) parameters.
    for t in sorted(load_structure().resource_types)[:200]:
        for code, p in parameters_for(t).items():
            assert "/example" not in p.url, (t, code)


def test_condition_subject_chains_to_patients(client):
    """Condition?subject:Patient.family=X was a 400 and Condition?subject.name=X found nothing."""
    pid = create(client, patient(family="Hoàng"))
    other = create(client, patient(family="Vũ"))
    cond = create(client, {"resourceType": "Condition", "subject": {"reference": f"Patient/{pid}"},
                           "code": {"text": "tăng huyết áp"}})
    create(client, {"resourceType": "Condition", "subject": {"reference": f"Patient/{other}"},
                    "code": {"text": "đái tháo đường"}})
    assert found(client, "Condition?subject:Patient.family=hoang") == {cond}
    assert found(client, "Condition?subject.name=Hoàng") == {cond}
    assert found(client, "Condition?subject:Patient.name=hoang") == {cond}
    assert found(client, f"Condition?subject=Patient/{pid}") == {cond}
    r = client.get("/fhir/Condition?subject:Organization=x")
    assert r.status_code == 400     # Condition.subject never points to an Organization


def test_the_compiled_data_is_what_the_tool_builds(r4_examples_dir: Path):
    """benhan/fhir/data/search-r4.json.gz is the tool's output from the official bundle (rebuild
    with `python tools/build_search_parameters.py` after changing the tool)."""
    from tools.build_search_parameters import build
    from tools.fhir_packages import core_dir
    try:
        core = core_dir()
    except Exception as exc:  # noqa: BLE001 — no network to fetch the core package
        pytest.skip(f"core package not available: {exc}")
    built = json.loads(json.dumps(build(core, r4_examples_dir / "Bundle-searchParams.json")))
    assert built == _data()
