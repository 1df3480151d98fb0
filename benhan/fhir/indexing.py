"""Index extraction: the search-index rows of a resource, from its type's search parameters.

Each parameter's expression is compiled once (fhir.paths) and its values turned into rows of the
index table for its type. Rows are plain tuples so the store can insert them with executemany.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from benhan.fhir.datetimes import MAX_US, MIN_US, parse_range
from benhan.fhir.derived_params import derivations
from benhan.fhir.paths import compile_expression, top_keys
from benhan.fhir.references import parse_reference
from benhan.fhir.searchparams import parameters_for
from benhan.fhir.text import exact, fold

# Answered from columns of the resource table, not from index rows.
COLUMN_PARAMETERS = frozenset({"_id", "_lastUpdated"})
# Types indexed here. Composite parameters are matched from their component rows; "special"
# parameters (near, _filter, _query, _content, _text) have no generic index.
INDEXED_TYPES = frozenset({"string", "token", "reference", "date", "number", "quantity", "uri"})

MAX_STRING = 255


@dataclass
class IndexRows:
    string: list[tuple] = field(default_factory=list)      # (param, folded, exact, folded_long, exact_long)
    token: list[tuple] = field(default_factory=list)       # (param, system, code, text)
    reference: list[tuple] = field(default_factory=list)   # (param, target_type, target_id, url)
    date: list[tuple] = field(default_factory=list)        # (param, low_us, high_us)
    number: list[tuple] = field(default_factory=list)      # (param, value, low, high)
    quantity: list[tuple] = field(default_factory=list)    # (param, system, code, value, low, high)
    uri: list[tuple] = field(default_factory=list)         # (param, uri)

    def tables(self) -> Iterable[tuple[str, list[tuple]]]:
        for name in ("string", "token", "reference", "date", "number", "quantity", "uri"):
            yield name, getattr(self, name)


# --- values to rows, per parameter type --------------------------------------------------------

def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        # HumanName, Address and the like: every string part is searchable.
        for key in ("text", "family", "given", "prefix", "suffix", "line", "city", "district",
                    "state", "postalCode", "country", "value", "display"):
            part = value.get(key)
            if isinstance(part, str):
                yield part
            elif isinstance(part, list):
                yield from (p for p in part if isinstance(p, str))


def _string_rows(code: str, values: list, rows: IndexRows) -> None:
    seen = set()
    for value in values:
        for text in _strings(value):
            folded, text = fold(text), exact(text)
            long = len(text) > MAX_STRING or len(folded) > MAX_STRING
            row = (code, folded[:MAX_STRING], text[:MAX_STRING], folded if long else None, text if long else None)
            if row not in seen:
                seen.add(row)
                rows.string.append(row)


def _token_rows(code: str, values: list, rows: IndexRows) -> None:
    out = rows.token
    for value in values:
        if isinstance(value, bool):
            out.append((code, None, "true" if value else "false", None))
        elif isinstance(value, (str, int)):
            out.append((code, None, str(value)[:MAX_STRING], None))
        elif isinstance(value, dict):
            if "coding" in value or ("text" in value and "value" not in value and "code" not in value):
                text = value.get("text")
                for c in value.get("coding") or ():
                    if isinstance(c, dict) and (c.get("code") or c.get("system")):
                        out.append((code, c.get("system"), _cut(c.get("code")), _folded(c.get("display") or text)))
                # :text matches the concept's text as well as the codings' displays (spec: "the
                # text of the CodeableConcept or Coding.display"): a coding with a display used
                # to hide the concept's text from :text.
                shown = {c.get("display") or text for c in value.get("coding") or ()
                         if isinstance(c, dict) and (c.get("code") or c.get("system"))}
                if text and text not in shown:
                    out.append((code, None, None, _folded(text)))
            elif "code" in value or "system" in value and "value" not in value:
                out.append((code, value.get("system"), _cut(value.get("code")), _folded(value.get("display"))))
            elif "value" in value:
                system = value.get("system")
                # ContactPoint.system is a code ('phone'), not a URI: it is not a token system.
                if system in ("phone", "fax", "email", "pager", "url", "sms", "other"):
                    system = None
                type_text = (value.get("type") or {}).get("text") if isinstance(value.get("type"), dict) else None
                out.append((code, system, _cut(str(value["value"])), _folded(type_text)))


def _cut(text: Any) -> str | None:
    return text[:MAX_STRING] if isinstance(text, str) else None


def _folded(text: Any) -> str | None:
    return fold(text)[:MAX_STRING] if isinstance(text, str) else None


def _reference_rows(code: str, values: list, rows: IndexRows) -> None:
    for value in values:
        text = value.get("reference") if isinstance(value, dict) else value if isinstance(value, str) else None
        if not isinstance(text, str):
            if isinstance(value, dict) and isinstance(value.get("identifier"), dict):
                ident = value["identifier"]
                rows.token.append((code + ":identifier", ident.get("system"), _cut(ident.get("value")), None))
            continue
        rows.reference.append((code, *_reference_target(text)))


# Cached: a Bundle names its Patient and Encounter in nearly every entry, and the reference's
# regex and Ref object cost more than the rest of its row.
@lru_cache(maxsize=8192)
def _reference_target(text: str) -> tuple[str | None, str | None, str | None]:
    """(target_type, target_id, url) of a reference's row."""
    ref = parse_reference(text)
    if ref is not None and not ref.absolute:
        return ref.type, ref.id, None
    # Absolute URL or canonical: another server's resource (or a definition), matched on
    # the whole URL only — never taken for a local Patient/p1 that happens to share the id.
    # A canonical keeps its |version, so that questionnaire=url|1.0 finds 1.0 only.
    return None, None, text[:MAX_STRING]


def _date_rows(code: str, values: list, rows: IndexRows) -> None:
    for value in values:
        if isinstance(value, str):
            r = parse_range(value)
            if r:
                rows.date.append((code, r[0], r[1]))
        elif isinstance(value, dict):
            if "start" in value or "end" in value:       # Period
                lo = parse_range(value["start"]) if isinstance(value.get("start"), str) else None
                hi = parse_range(value["end"]) if isinstance(value.get("end"), str) else None
                rows.date.append((code, lo[0] if lo else MIN_US, hi[1] if hi else MAX_US))
            elif "event" in value:                        # Timing
                _date_rows(code, [e for e in value["event"] if isinstance(e, str)], rows)


def _precision_range(number: Any) -> tuple[float, float, float] | None:
    """value, low, high: a number is a range at its own precision (spec: 100 means [99.5, 100.5))."""
    if isinstance(number, bool) or not isinstance(number, (int, float, str)):
        return None
    return _text_range(str(number))


# Cached: a Bundle repeats its values (a vital sign's 120, a claim's 0.00), and Decimal's
# arithmetic costs more than the rest of a quantity's row.
@lru_cache(maxsize=4096)
def _text_range(text: str) -> tuple[float, float, float] | None:
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    exponent = d.as_tuple().exponent
    try:
        half = Decimal(5).scaleb(exponent - 1) if isinstance(exponent, int) else Decimal(0)
    except ArithmeticError:     # 0E2000000 is a valid decimal whose precision no context holds
        half = Decimal(0)
    return float(d), float(d - half), float(d + half)


def _number_rows(code: str, values: list, rows: IndexRows) -> None:
    for value in values:
        r = _precision_range(value)
        if r:
            rows.number.append((code, *r))


def _quantity_rows(code: str, values: list, rows: IndexRows) -> None:
    for value in values:
        if not isinstance(value, dict):
            continue
        r = _precision_range(value.get("value"))
        if r is None:
            continue
        system = value.get("system")
        unit_code = value.get("code") or value.get("currency")
        rows.quantity.append((code, system, _cut(unit_code), *r))
        unit = value.get("unit")
        if isinstance(unit, str) and unit != unit_code:
            rows.quantity.append((code, None, _cut(unit), *r))


def _uri_rows(code: str, values: list, rows: IndexRows) -> None:
    for value in values:
        if isinstance(value, str):
            rows.uri.append((code, value[:MAX_STRING]))
        elif isinstance(value, dict) and isinstance(value.get("reference"), str):
            rows.uri.append((code, value["reference"][:MAX_STRING]))


_ROWS: dict[str, Callable[[str, list, IndexRows], None]] = {
    "string": _string_rows, "token": _token_rows, "reference": _reference_rows, "date": _date_rows,
    "number": _number_rows, "quantity": _quantity_rows, "uri": _uri_rows,
}


def composite_code(code: str, index: int) -> str:
    """The index `param` of a composite parameter's index-th component (e.g. code-value-quantity#1)."""
    return f"{code}#{index}"


def _composite(resource_type: str, code: str, p) -> Callable | None:  # noqa: ANN001
    """Rows for a composite parameter: for each element its base expression selects (an Observation,
    each of its components …), each component's rows under code#i, with the element's number as
    their group, so a search can ask for all components to hold in the same element."""
    params = parameters_for(resource_type)
    parts = []
    for component_code, expression in p.component:
        cp = params.get(component_code)
        if cp is None or cp.type not in _ROWS:
            return None
        # Component expressions are relative to the base element: compile them on a dummy root.
        parts.append((compile_expression(" | ".join("Element." + e for e in _split(expression))), _ROWS[cp.type]))
    bases = [part.strip() for part in _split(p.expression)]
    base_walkers = [(lambda r: [r]) if b == resource_type else compile_expression(b) for b in bases]
    codes = [composite_code(code, i) for i in range(len(parts))]
    evaluators = [evaluate for evaluate, _ in parts]
    converters = [(c, to_rows) for c, (_, to_rows) in zip(codes, parts)]

    def rows(code_: str, resource: dict, out: IndexRows) -> None:
        group = 0
        scratch = None
        for walk in base_walkers:
            for element in walk(resource):
                if not isinstance(element, dict):
                    continue
                group += 1
                # Every component's values first (cheap walks): a composite value needs all of
                # them, and most elements lack one (an Observation has one value[x]: of
                # code-value-quantity/-concept/-string/-date three find nothing), so the rows of
                # the others are not built for nothing.
                values = []
                for evaluate in evaluators:
                    found = evaluate(element)
                    if not found:
                        break
                    values.append(found)
                else:
                    # Each component's rows go to the table's list in component order, as
                    # they always did; one scratch for all the elements (emptied after each).
                    if scratch is None:
                        scratch = IndexRows()
                    for (c, to_rows), found in zip(converters, values):
                        to_rows(c, found, scratch)
                    for name in _TABLES:
                        table_rows = getattr(scratch, name)
                        if table_rows:
                            getattr(out, name).extend([row + (group,) for row in table_rows])
                            table_rows.clear()
    return rows


_TABLES = ("string", "token", "reference", "date", "number", "quantity", "uri")


def _split(expression: str) -> list[str]:
    from benhan.fhir.paths import split_union
    return split_union(expression)


@cache
def _extractors(resource_type: str) -> tuple[tuple[str, Callable | None, Callable, tuple[str, ...] | None], ...]:
    """(code, evaluate or None for a composite, rows, the top-level keys it needs or None)."""
    out = []
    derived = derivations(resource_type)      # answered from other parameters' rows (derived_params)
    for code, p in sorted(parameters_for(resource_type).items()):
        if code in COLUMN_PARAMETERS or not p.expression or code in derived:
            continue
        if p.type == "composite" and p.component:
            rows = _composite(resource_type, code, p)
            if rows is not None:
                bases = [b.strip() for b in _split(p.expression)]
                needs = None if resource_type in bases else top_keys(p.expression)
                out.append((code, None, rows, needs))
            continue
        if p.type not in INDEXED_TYPES:
            continue
        out.append((code, compile_expression(p.expression), _ROWS[p.type], top_keys(p.expression)))
    return tuple(out)


@cache
def _plan(resource_type: str) -> tuple[tuple[int, ...], dict[str, tuple[int, ...]]]:
    """Which of the type's extractors (by position) run always (their keys are not known), and
    which run for each top-level key of a resource."""
    always: list[int] = []
    by_key: dict[str, list[int]] = {}
    for i, (_, _, _, needs) in enumerate(_extractors(resource_type)):
        if needs is None:
            always.append(i)
        else:
            for key in needs:
                by_key.setdefault(key, []).append(i)
    return tuple(always), {k: tuple(v) for k, v in by_key.items()}


# The extractors to run for a resource type and the keys a resource has, in the extractors' order:
# the resources of one kind in a Bundle mostly have the same keys, so this is worked out once for them.
_CHOSEN: dict[tuple, tuple] = {}
_CHOSEN_MAX = 4096


def _chosen(res_type: str, keys: tuple) -> tuple:
    extractors = _extractors(res_type)
    always, by_key = _plan(res_type)
    # A resource has a dozen of the fifty-odd elements its parameters look at: a parameter none of
    # whose elements is there has no rows (paths.top_keys), so only the parameters of the keys it
    # has run — in the extractors' order, so the rows come out as they always did.
    chosen = set(always)
    for key in keys:
        found = by_key.get(key)
        if found is not None:
            chosen.update(found)
    out = tuple(extractors[i][:3] for i in sorted(chosen))
    if len(_CHOSEN) >= _CHOSEN_MAX:
        _CHOSEN.clear()
    _CHOSEN[(res_type, keys)] = out
    return out


def extract(resource: dict) -> IndexRows:
    """The index rows of one resource (whose resourceType is known and whose JSON is valid)."""
    rows = IndexRows()
    res_type = resource["resourceType"]
    keys = tuple(resource)
    chosen = _CHOSEN.get((res_type, keys))
    if chosen is None:
        chosen = _chosen(res_type, keys)
    for code, evaluate, to_rows in chosen:
        if evaluate is None:            # composite: works on the resource itself
            to_rows(code, resource, rows)
            continue
        values = evaluate(resource)
        if values:
            to_rows(code, values, rows)
    return rows


def forget_extractors() -> None:
    """Drop the compiled extractors (derived_params.derivations_off changed what they extract)."""
    _extractors.cache_clear()
    _plan.cache_clear()
    _CHOSEN.clear()


def warm(resource_types: Iterable[str]) -> None:
    """Compile the extractors of these types now rather than on their first write."""
    for t in resource_types:
        _extractors(t)
