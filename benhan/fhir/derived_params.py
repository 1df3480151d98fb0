"""Search parameters answered from other parameters' index rows instead of rows of their own.

Observation carries most of a record (vital signs, laboratory results), and R4 gives it parameters
whose rows would repeat others' row for row:
- a *union*: `combo-code` is `code | component.code`, `combo-value-quantity` is `value-quantity |
  component-value-quantity` (…concept too): each has exactly the rows of the parameters it joins;
- a composite *on the resource itself*: `code-value-quantity` pairs `code` with `value-quantity` in
  "the same element", and the element is the Observation: both rows exist already, on that resource;
- a *composite union*: `combo-code-value-quantity` groups the Observation and each of its components;
  its groups are those of `code-value-quantity` (the Observation) and of
  `component-code-value-quantity` (each component, stored with their groups).

Written out, a heart rate's 17 index rows held 9 such copies. The derivations are found from the
definitions (fhir/data/search-r4.json.gz), not listed by name: a parameter is derived only when its
expression is exactly the union of the others', or its components are the same expressions as the
parameters they name (an allowance below for what gives no rows of the type). Reference
parameters are never derived: access, compartments, _include and sync name them directly.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from benhan.fhir.paths import split_union
from benhan.fhir.searchparams import SearchParam, parameters_for

# The types a union may be of: those whose rows only search reads (not reference: see above).
_UNION_TYPES = frozenset({"token", "quantity", "string", "date", "uri", "number"})
# Parts of a parameter's expression that give no rows of its type: a SampledData is no Quantity
# (it has no value, unit or code; indexing._quantity_rows finds nothing in it). value-quantity
# names it, the composite's component (value.as(Quantity)) does not; their rows are the same.
_NO_ROWS = {"quantity": frozenset({"value.as(sampleddata)"})}

_CAST = re.compile(r"^\(?\s*(?P<path>[\w.]+)\s+as\s+(?P<type>\w+)\s*\)?$")
_AS = re.compile(r"^(?P<path>[\w.]+)\.as\((?P<type>\w+)\)$")


@dataclass(frozen=True)
class Derived:
    kind: str                   # "union", "same-resource" or "composite-union"
    codes: tuple[str, ...]      # union: the parameters joined; same-resource: the component
                                # parameters, in component order; composite-union: the two composites


def _parts(expression: str) -> frozenset[str]:
    """The union's parts, stripped; for a composite's expression, its base elements."""
    return frozenset(split_union(expression))


def _relative(part: str, res_type: str) -> str | None:
    """A part of a parameter's expression as a component would write it from the resource root
    (`(Observation.value as Quantity)` → `value.as(quantity)`); None when it is not on the root."""
    part = part.strip()
    if m := _CAST.match(part):
        path, type_name = m.group("path"), m.group("type")
    else:
        path, type_name = part, None
    if not path.startswith(res_type + "."):
        return None
    path = path[len(res_type) + 1:]
    return f"{path}.as({type_name.lower()})" if type_name else path


def _component_part(part: str) -> str:
    part = part.strip()
    if m := _AS.match(part):
        return f"{m.group('path')}.as({m.group('type').lower()})"
    return part


def _same_rows(component_expression: str, param: SearchParam, res_type: str) -> bool:
    """Whether a composite component's expression, on the resource root, gives the parameter's rows."""
    if not param.expression or param.type not in _UNION_TYPES:
        return False
    mine = {_component_part(p) for p in _parts(component_expression)}
    theirs = {_relative(p, res_type) for p in _parts(param.expression)}
    if None in theirs:
        return False
    return mine <= theirs and not (theirs - mine - _NO_ROWS.get(param.type, frozenset()))


def _components(p: SearchParam, params: dict[str, SearchParam]) -> tuple[tuple[str, str], ...] | None:
    """A composite's components as (normalised expression, type): what decides its rows in a group."""
    out = []
    for code, expression in p.component:
        cp = params.get(code)
        if cp is None:
            return None
        out.append((" | ".join(sorted(_component_part(e) for e in _parts(expression))), cp.type))
    return tuple(out)


_off = False        # derivations_off(): every parameter with rows of its own, as index revision 1


def derivations(res_type: str) -> dict[str, Derived]:
    """The type's parameters answered from others' rows, by code."""
    return {} if _off else _derivations(res_type)


@contextmanager
def derivations_off() -> Iterator[None]:
    """Index and search as revision 1 did, every parameter with rows of its own: what the tests
    compare against and what bench_index_upgrade builds its old index with. Not for a server."""
    global _off
    from benhan.fhir import indexing        # (indexing imports this module)
    _off = True
    indexing.forget_extractors()
    try:
        yield
    finally:
        _off = False
        indexing.forget_extractors()


@cache
def _derivations(res_type: str) -> dict[str, Derived]:
    params = parameters_for(res_type)
    out: dict[str, Derived] = {}
    # Unions: a parameter whose parts are exactly those of two or more others of its type, each
    # a proper part of it (so none is derived from a parameter derived from it).
    for code, p in params.items():
        if p.type not in _UNION_TYPES or not p.expression:
            continue
        parts = _parts(p.expression)
        inside = sorted(c for c, q in params.items() if c != code and q.type == p.type and q.expression
                        and _parts(q.expression) < parts)
        if len(inside) >= 2 and frozenset().union(*(_parts(params[c].expression) for c in inside)) == parts:
            out[code] = Derived("union", tuple(inside))
    # Composites on the resource itself, whose components are stored parameters' own rows.
    for code, p in params.items():
        if p.type != "composite" or not p.component or not p.expression:
            continue
        if _parts(p.expression) != {res_type}:
            continue
        names = tuple(c for c, _ in p.component)
        if all(c in params and c not in out and _same_rows(e, params[c], res_type) for c, e in p.component):
            out[code] = Derived("same-resource", names)
    # Composite unions: the resource itself and one element path, each already a composite.
    for code, p in params.items():
        if p.type != "composite" or not p.component or not p.expression or code in out:
            continue
        bases = _parts(p.expression)
        shape = _components(p, params)
        if len(bases) != 2 or res_type not in bases or shape is None:
            continue
        elements = bases - {res_type}
        root = next((c for c, d in out.items() if d.kind == "same-resource"
                     and _components(params[c], params) == shape), None)
        stored = next((c for c, q in params.items() if q.type == "composite" and c not in out and q.expression
                       and _parts(q.expression) == elements and _components(q, params) == shape), None)
        if root and stored:
            out[code] = Derived("composite-union", (root, stored))
    return out


def derivation(res_type: str, code: str) -> Derived | None:
    return derivations(res_type).get(code)


def stored_codes(res_type: str, code: str) -> tuple[str, ...]:
    """The `param` values of the index rows that answer this parameter (itself, or those of a union)."""
    d = derivations(res_type).get(code)
    return d.codes if d is not None and d.kind == "union" else (code,)


@cache
def derived_row_params() -> dict[str, tuple[str, ...]]:
    """By resource type, the `param` values of the rows an index of revision 1 held for the
    parameters now derived (a composite's rows are code#0, code#1 …): what an upgrade deletes."""
    from benhan.fhir.indexing import composite_code     # (indexing imports this module)
    from benhan.fhir.searchparams import resource_types
    out = {}
    for res_type in resource_types():
        params = parameters_for(res_type)
        names = []
        for code, d in sorted(derivations(res_type).items()):
            if d.kind == "union":
                names.append(code)
            else:
                names.extend(composite_code(code, i) for i in range(len(params[code].component)))
        if names:
            out[res_type] = tuple(names)
    return out
