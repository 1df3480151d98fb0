"""The fast walkers of fhir.paths give what FHIRPath (fhirpathpy) gives, expression by expression,
over the official examples."""
from __future__ import annotations

import fhirpathpy
import orjson
from fhirpathpy.models import models

from benhan.fhir import paths
from benhan.fhir.searchparams import parameters_for


def _fhirpath(expression: str, resource: dict) -> list:
    return list(fhirpathpy.evaluate(resource, expression, model=models["r4"]))


def _normal(values: list) -> list:
    # fhirpathpy gives decimals as Decimal (nested too); the walkers give the JSON number.
    return sorted(orjson.dumps(v, default=float, option=orjson.OPT_SORT_KEYS) for v in values)


# fhirpathpy is slow (this test took 84 s over every example): the first examples of each type
# (in file-name order, so always the same) give every walker real data to agree on.
EXAMPLES_PER_TYPE = 4


def test_walkers_agree_with_fhirpath_on_every_plain_and_cast_expression(r4_examples_dir):
    compared, differences = 0, []
    seen: dict[str, int] = {}
    for path in sorted(r4_examples_dir.glob("*.json")):
        if path.name == "package.json" or path.stat().st_size > 200_000:
            continue
        resource = orjson.loads(path.read_bytes())
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        seen[resource["resourceType"]] = seen.get(resource["resourceType"], 0) + 1
        if seen[resource["resourceType"]] > EXAMPLES_PER_TYPE:
            continue
        for code, p in parameters_for(resource["resourceType"]).items():
            if not p.expression or "resolve()" in p.expression:
                continue
            for part in paths.split_union(p.expression):
                if paths._compile_part(part).__name__ == "evaluate":   # fhirpathpy fallback itself
                    continue
                try:
                    expected = _fhirpath(part, resource)
                except Exception:  # noqa: BLE001 - fhirpathpy cannot evaluate it: nothing to compare
                    continue
                got = paths._compile_part(part)(resource)
                compared += 1
                if _normal(expected) != _normal(got):
                    differences.append(f"{path.name} {part}: fhirpath {expected!r:.120} walker {got!r:.120}")
    assert compared > 5_000          # every walker, on the examples of every type
    assert differences == [], "\n".join(differences[:60])


def test_deceased_is_true_for_a_death_date_or_true_and_false_otherwise():
    expression = "Patient.deceased.exists() and Patient.deceased != false"
    for resource in ({"resourceType": "Patient"}, {"resourceType": "Patient", "deceasedBoolean": False},
                     {"resourceType": "Patient", "deceasedBoolean": True},
                     {"resourceType": "Patient", "deceasedDateTime": "2020-01-01"}):
        assert paths.compile_expression(expression)(resource) == _fhirpath(expression, resource)
