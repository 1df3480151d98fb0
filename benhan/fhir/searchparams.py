"""R4 search parameters and compartments, as data (compiled from the spec's SearchParameter and
CompartmentDefinition resources by tools/build_search_parameters.py)."""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class SearchParam:
    code: str
    type: str                 # number, date, string, token, reference, composite, quantity, uri, special
    expression: str | None
    url: str
    target: tuple[str, ...] = ()
    component: tuple[tuple[str, str], ...] = ()   # composite: (component code, expression)


# Parameters that apply to every resource, answered from the resource table rather than the index
# tables (they are columns of every stored resource).
RESULT_PARAMETERS = frozenset({
    "_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total", "_contained",
    "_containedType", "_format", "_pretty", "_since", "_at", "_page", "_list", "_type",
})


# Bump when the index rows extracted for the same definitions change (fhir/indexing.py): with the
# compiled table's digest it is the index version a server compares at start (store.index_version),
# and a database indexed under another version is reindexed.
# 2: Observation's combo-* and code-value-* parameters answered from other rows (fhir/derived_params.py).
INDEX_REVISION = 2


def _blob() -> bytes:
    return resources.files("benhan.fhir").joinpath("data/search-r4.json.gz").read_bytes()


@cache
def _data() -> dict:
    return json.loads(gzip.decompress(_blob()))


@cache
def index_version() -> str:
    """What the search index of a database must have been built with to answer this server."""
    return f"{INDEX_REVISION}:{hashlib.sha256(gzip.decompress(_blob())).hexdigest()[:16]}"


@cache
def parameters_for(resource_type: str) -> dict[str, SearchParam]:
    """All search parameters of a resource type, including those of Resource and DomainResource."""
    raw = _data()["parameters"]
    merged: dict[str, SearchParam] = {}
    for base in ("Resource", "DomainResource", resource_type):
        for code, p in raw.get(base, {}).items():
            expression = p.get("expression")
            if expression and base in ("Resource", "DomainResource"):
                expression = expression.replace(base + ".", resource_type + ".")
            merged[code] = SearchParam(
                code=code, type=p["type"], expression=expression, url=p["url"],
                target=tuple(p.get("target", ())),
                component=tuple((c["code"], c["expression"]) for c in p.get("component", ())),
            )
    return merged


def resource_types() -> tuple[str, ...]:
    """The resource types the table has parameters for (not the Resource and DomainResource bases)."""
    return tuple(sorted(t for t in _data()["parameters"] if t not in ("Resource", "DomainResource")))


@cache
def compartment_params(compartment: str, resource_type: str) -> tuple[str, ...]:
    """The parameters that put a resource of this type in a compartment (e.g. Patient)."""
    return tuple(_data()["compartments"].get(compartment, {}).get(resource_type, ()))


def compartment_types(compartment: str) -> tuple[str, ...]:
    return tuple(sorted(_data()["compartments"].get(compartment, {})))
