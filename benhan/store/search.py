"""A SearchRequest as SQL over the index tables. Each AND-ed criterion is an EXISTS over its
index table; OR-ed values are OR-ed inside it."""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache

from sqlalchemy import (Boolean, ColumnElement, Select, and_, exists, false, func, literal, not_, or_, select,
                        true)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from benhan import errors
from benhan.fhir.datetimes import parse_range
from benhan.fhir.derived_params import derivation, stored_codes
from benhan.fhir.indexing import MAX_STRING, composite_code
from benhan.fhir.references import parse_reference
from benhan.fhir.search import Criterion, SearchRequest, split_prefix, split_unescaped, unescape
from benhan.fhir.text import exact, fold
from benhan.fhir.searchparams import parameters_for
from benhan.store.schema import INDEX_TABLES, idx_reference, resource


# The access rules as a condition on a resource row of a type (store.access.type_condition bound to
# the actor; None for a row anyone may see, false() for a type not searchable at all). Every
# resource a chain or _has step looks at passes it, like the rows of the search itself: otherwise a
# search could be narrowed by what the actor may not see (a patient's name, another's lab result).
Visibility = Callable[[str, object], "ColumnElement | None"]


def _seen(visible: Visibility | None, res_type: str, res) -> tuple[ColumnElement, ...]:  # noqa: ANN001
    cond = visible(res_type, res) if visible is not None else None
    return () if cond is None else (cond,)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bad(c: Criterion, value: str, why: str) -> errors.BenhanError:
    return errors.InvalidSearchParameter(f"{c.code}={value}: {why}", expression=c.code)


def _string(c: Criterion, t, value: str) -> ColumnElement:  # noqa: ANN001
    text = unescape(value)
    if c.modifier == "exact":
        text = exact(text)
        if len(text) <= MAX_STRING:
            return and_(t.c.exact == text, t.c.exact_long.is_(None))
        return and_(t.c.exact == text[:MAX_STRING], t.c.exact_long == text)
    folded = fold(text)
    if c.modifier == "contains":
        pattern = f"%{_like_escape(folded)}%"
        return or_(t.c.value.like(pattern, escape="\\"), t.c.value_long.like(pattern, escape="\\"))
    if len(folded) <= MAX_STRING:
        return _Prefix(t.c.value, folded)
    return t.c.value_long.like(f"{_like_escape(folded)}%", escape="\\")


class _Prefix(ColumnElement):
    """`column LIKE 'text%'` (the column holds folded text). On SQLite also as the range
    `column >= 'text' AND column < 'texu'`: its LIKE is case-insensitive, so it cannot walk a
    BINARY index for a prefix, and a folded name drove by reading every name of the parameter
    (13 ms on a million resources; the range, 0.3 ms). The folded values are lower-case, so the
    range holds exactly the LIKE's matches; the LIKE stays, as the rule. PostgreSQL keeps the LIKE
    alone: a range there would follow the database's collation, which need not be bytewise."""
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True       # a condition as it is (no "= 1" on SQLite)
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("pattern", InternalTraversal.dp_clauseelement),
                           ("low", InternalTraversal.dp_clauseelement),
                           ("high", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, text: str) -> None:  # noqa: ANN001
        self.column = column
        self.pattern = literal(f"{_like_escape(text)}%")
        self.low = literal(text)
        # The least string above every string that starts with text (code-point order = UTF-8
        # byte order); none when its last character is the highest one.
        last = ord(text[-1]) if text else None
        self.high = literal(text[:-1] + chr(last + 1)) if last is not None and last < 0x10FFFF else None


@compiles(_Prefix)
def _prefix_like(element: _Prefix, compiler, **kw) -> str:  # noqa: ANN001
    return compiler.process(element.column.like(element.pattern, escape="\\"), **kw)


@compiles(_Prefix, "sqlite")
def _prefix_range(element: _Prefix, compiler, **kw) -> str:  # noqa: ANN001
    if element.high is None:
        return _prefix_like(element, compiler, **kw)
    return "(" + compiler.process(and_(element.column >= element.low, element.column < element.high,
                                       element.column.like(element.pattern, escape="\\")), **kw) + ")"


class _Canonical(ColumnElement):
    """A canonical URL without |version: the URL itself or any version of it, `column = 'u' OR
    column LIKE 'u|%'`. On SQLite inside the range ['u', 'u}') as well, which holds every match
    ('}' follows '|' in byte order): the OR alone kept SQLite off the url index, reading every
    reference row of the parameter (a million-row walk at a hub); the range walks the index. It
    also makes SQLite's LIKE, otherwise case-insensitive, match the URL's case as PostgreSQL's does.
    PostgreSQL keeps the OR alone (its collation need not be bytewise, _Prefix)."""
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("url", InternalTraversal.dp_clauseelement),
                           ("pattern", InternalTraversal.dp_clauseelement),
                           ("high", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, url: str) -> None:  # noqa: ANN001
        self.column = column
        self.url = literal(url)
        self.pattern = literal(f"{_like_escape(url)}|%")
        self.high = literal(f"{url}}}")


def _canonical_or(element: _Canonical) -> ColumnElement:
    return or_(element.column == element.url, element.column.like(element.pattern, escape="\\"))


@compiles(_Canonical)
def _canonical_any(element: _Canonical, compiler, **kw) -> str:  # noqa: ANN001
    return "(" + compiler.process(_canonical_or(element), **kw) + ")"


@compiles(_Canonical, "sqlite")
def _canonical_range(element: _Canonical, compiler, **kw) -> str:  # noqa: ANN001
    return "(" + compiler.process(and_(element.column >= element.url, element.column < element.high,
                                       _canonical_or(element)), **kw) + ")"


def _token(c: Criterion, t, value: str) -> ColumnElement:  # noqa: ANN001
    if c.modifier == "text":
        return t.c.text.like(f"{_like_escape(fold(unescape(value)))}%", escape="\\")
    parts = split_unescaped(value, "|")
    if len(parts) == 1:
        return t.c.code == unescape(parts[0])
    system, code = unescape(parts[0]), unescape("|".join(parts[1:]))
    if system == "":
        return and_(t.c.system.is_(None), t.c.code == code)
    if code == "":
        return t.c.system == system
    return and_(t.c.system == system, t.c.code == code)


def _reference(c: Criterion, t, value: str) -> ColumnElement:  # noqa: ANN001
    value = unescape(value)
    ref = parse_reference(value)
    if ref is not None and not ref.absolute:
        return and_(t.c.target_type == ref.type, t.c.target_id == ref.id)
    if value.startswith(("http://", "https://", "urn:")):
        # A canonical without |version matches every version of it; with one, that version only.
        # (An absolute URL of this server itself was made relative by the web layer.)
        return t.c.url == value if "|" in value else _Canonical(t.c.url, value)
    cond = t.c.target_id == value
    if c.modifier and c.modifier[0].isupper():
        cond = and_(cond, t.c.target_type == c.modifier)
    return cond


def _references(c: Criterion, t) -> ColumnElement:  # noqa: ANN001
    """Several values of a reference parameter: the plain relative ones (Type/id) as one
    `target_type = T AND target_id IN (…)` per type, which walks the (param, target_id) index; an OR
    of forty (type, id) pairs kept SQLite on (res_type, param) alone, reading every row of the
    parameter (the ward board's 40 stays: all Observation.encounter rows of the store)."""
    by_type: dict[str, list[str]] = {}
    others = []
    for v in c.values:
        ref = parse_reference(unescape(v))
        if ref is not None and not ref.absolute and not unescape(v).startswith(("http://", "https://", "urn:")):
            by_type.setdefault(ref.type, []).append(ref.id)
        else:
            others.append(_reference(c, t, v))
    grouped = [and_(t.c.target_type == rt, t.c.target_id == ids[0] if len(ids) == 1 else t.c.target_id.in_(ids))
               for rt, ids in by_type.items()]
    return or_(*grouped, *others)


def _date_condition(low_col, high_col, prefix: str, lo: int, hi: int) -> ColumnElement:  # noqa: ANN001
    contained = and_(low_col >= lo, high_col <= hi)
    return {
        "eq": contained,
        "ne": not_(contained),
        "gt": high_col > hi,
        "lt": low_col < lo,
        "ge": or_(high_col > hi, contained),
        "le": or_(low_col < lo, contained),
        "sa": low_col > hi,
        "eb": high_col < lo,
        "ap": and_(low_col <= hi + (hi - lo) // 10 + 86_400_000_000, high_col >= lo - (hi - lo) // 10 - 86_400_000_000),
    }[prefix]


# A '+' left unencoded in a query string arrives as a space ("T08:30:00 07:00"); no date holds a
# space, so the client can only have meant '+07:00'.
_SPACED_ZONE = re.compile(r"(T[0-9:.]+) ([0-9]{2}:[0-9]{2})$")


def _search_range(c: Criterion, value: str) -> tuple[str, tuple[int, int]]:
    prefix, text = split_prefix(value)
    r = parse_range(_SPACED_ZONE.sub(r"\1+\2", text))
    if r is None:
        raise _bad(c, value, "not a FHIR date/dateTime")
    return prefix, r


def _date(c: Criterion, t, value: str) -> ColumnElement:  # noqa: ANN001
    prefix, r = _search_range(c, value)
    return _date_condition(t.c.low, t.c.high, prefix, *r)


def _decimal_range(c: Criterion, value: str, text: str) -> tuple[float, float, float]:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise _bad(c, value, "not a number") from None
    if not d.is_finite():
        raise _bad(c, value, "not a number")
    exponent = d.as_tuple().exponent
    try:
        half = Decimal(5).scaleb(exponent - 1) if isinstance(exponent, int) else Decimal(0)
        bounds = float(d), float(d - half), float(d + half)
    except (InvalidOperation, OverflowError):
        # An exponent beyond the decimal context (1e999999999) traps in scaleb: a client's
        # number, so a 400 rather than a 500.
        raise _bad(c, value, "the number is out of range") from None
    if not all(math.isfinite(b) for b in bounds):
        raise _bad(c, value, "the number is out of range")   # beyond a double: the index holds none
    return bounds


def _number_condition(c: Criterion, t, prefix: str, v: float, lo: float, hi: float) -> ColumnElement:  # noqa: ANN001
    return {
        "eq": and_(t.c.value >= lo, t.c.value < hi),
        "ne": or_(t.c.value < lo, t.c.value >= hi),
        "gt": t.c.value > v, "lt": t.c.value < v, "ge": t.c.value >= v, "le": t.c.value <= v,
        "sa": t.c.value > v, "eb": t.c.value < v,
        "ap": and_(t.c.value >= v - abs(v) * 0.1, t.c.value <= v + abs(v) * 0.1),
    }[prefix]


def _number(c: Criterion, t, value: str) -> ColumnElement:  # noqa: ANN001
    prefix, text = split_prefix(value)
    return _number_condition(c, t, prefix, *_decimal_range(c, value, text))


def _quantity(c: Criterion, t, value: str) -> ColumnElement:  # noqa: ANN001
    prefix, rest = split_prefix(value)
    parts = [unescape(p) for p in split_unescaped(rest, "|")]
    cond = _number_condition(c, t, prefix, *_decimal_range(c, value, parts[0]))
    if len(parts) >= 3:
        system, code = parts[1], "|".join(parts[2:])
        if system:
            cond = and_(cond, t.c.system == system)
        if code:
            cond = and_(cond, t.c.code == code)
    elif len(parts) == 2 and parts[1]:
        cond = and_(cond, t.c.code == parts[1])
    return cond


def _uri(c: Criterion, t, value: str) -> ColumnElement:  # noqa: ANN001
    text = unescape(value)
    if c.modifier == "below":
        return t.c.uri.like(f"{_like_escape(text)}%", escape="\\")
    if c.modifier == "above":
        return literal(text).like(func.replace(func.replace(t.c.uri, "%", "\\%"), "_", "\\_") + "%", escape="\\")
    return t.c.uri == text


_CONDITIONS = {"string": _string, "token": _token, "reference": _reference, "date": _date,
               "number": _number, "quantity": _quantity, "uri": _uri}


def _column_criterion(c: Criterion, res) -> ColumnElement:  # noqa: ANN001
    if c.code == "_id":
        if c.modifier == "missing":
            return false() if c.values[0] == "true" else true()
        ids = [unescape(v) for v in c.values]
        cond = res.c.res_id.in_(ids)
        return not_(cond) if c.modifier == "not" else cond
    # _lastUpdated: an instant, a point in time
    conds = []
    for value in c.values:
        prefix, r = _search_range(c, value)
        conds.append(_date_condition(res.c.last_updated, res.c.last_updated, prefix, *r))
    return or_(*conds)


def _chain_sql(res_type: str, c: Criterion, res, visible: Visibility | None) -> ColumnElement:  # noqa: ANN001
    """subject:Patient.name=x: a reference from here to a live Patient, that the actor may see,
    that matches name=x."""
    t = idx_reference.alias()
    targets = []
    for target_type, inner in c.chain:
        r2 = resource.alias()
        drive = _can_drive(inner)
        matching = (select(r2.c.res_id)
                    .where(and_(r2.c.deleted == false(),
                                criterion_sql(target_type, inner, r2, driving=drive, visible=visible),
                                *(() if drive else (r2.c.res_type == target_type,)),
                                *_seen(visible, target_type, r2))))
        targets.append(and_(t.c.target_type == target_type, t.c.target_id.in_(matching)))
    # Uncorrelated: the few references to matching targets, then their resources (correlated,
    # it was a probe per resource of the type — a second per search on a million resources).
    return res.c.pk.in_(select(t.c.resource_pk).where(and_(t.c.res_type == res_type, t.c.param == c.code,
                                                           or_(*targets))))


def _has_sql(res_type: str, c: Criterion, res, visible: Visibility | None) -> ColumnElement:  # noqa: ANN001
    """_has:Observation:patient:code=x: some live Observation, that the actor may see, whose
    `patient` points here matches."""
    has = c.has
    t = idx_reference.alias()
    r2 = resource.alias()
    return exists().where(and_(
        t.c.res_type == has.source_type, t.c.param == has.reference_param,
        t.c.target_id == res.c.res_id, t.c.target_type == res_type,
        r2.c.pk == t.c.resource_pk, r2.c.deleted == false(),
        criterion_sql(has.source_type, has.criterion, r2, visible=visible),
        *_seen(visible, has.source_type, r2)))


def _component_criteria(res_type: str, c: Criterion, value: str) -> list[Criterion]:
    """One value of a composite as a criterion per component (its own parameter, one part each)."""
    params = parameters_for(res_type)
    components = [params[code] for code, _ in c.param.component]
    parts = split_unescaped(value, "$")
    if len(parts) != len(components):
        raise _bad(c, value, f"a value of {c.code} has {len(components)} parts separated by $")
    return [Criterion(p.code, p.type, None, (part,), p, key=c.key) for p, part in zip(components, parts)]


def _composite_sql(res_type: str, c: Criterion, res) -> ColumnElement:  # noqa: ANN001
    """code-value-quantity=http://loinc.org|8480-6$gt100: every component's condition must hold in
    the same group of index rows (the same Observation, or the same component of it)."""
    derived = derivation(res_type, c.code)
    if derived is not None and derived.kind == "composite-union":
        # The resource itself or one of its elements: either composite's match (derived_params).
        params = parameters_for(res_type)
        return or_(*(_composite_sql(res_type, Criterion(code, "composite", None, c.values, params[code], key=c.key),
                                    res) for code in derived.codes))
    alternatives = []
    for value in c.values:
        subs = _component_criteria(res_type, c, value)
        if derived is not None:
            # The group is the resource itself: each component's own parameter matches on it.
            alternatives.append(and_(*(criterion_sql(res_type, sub, res) for sub in subs)))
            continue
        tables = [INDEX_TABLES[sub.type].alias() for sub in subs]
        conds = []
        for i, (sub, t) in enumerate(zip(subs, tables)):
            conds.append(and_(t.c.res_type == res_type, t.c.param == composite_code(c.code, i),
                              _CONDITIONS[sub.type](sub, t, sub.values[0])))
        first, *rest = tables
        inner = and_(conds[0], first.c.resource_pk == res.c.pk, *(
            exists().where(and_(t.c.resource_pk == first.c.resource_pk, t.c.grp == first.c.grp, cond))
            for t, cond in zip(rest, conds[1:])))
        alternatives.append(exists().where(inner))
    return or_(*alternatives)


@cache
def _slot_alias(table_type: str, slot: int):  # noqa: ANN202
    """The index table's alias for the criterion at this place of a search's top level, made once:
    building an alias (its column collection) cost ~0.3 ms, several per search. The criteria of
    one statement have different places, so their subqueries never share one; nested criteria
    (chains, _has) make their own."""
    return INDEX_TABLES[table_type].alias(f"{table_type}_c{slot}" if slot >= 0 else f"{table_type}_s{-slot}")


def criterion_sql(res_type: str, c: Criterion, res=resource, driving: bool = False,  # noqa: ANN001
                  visible: Visibility | None = None, slot: int | None = None) -> ColumnElement:
    """The condition one criterion puts on `res` (the resource table, or an alias of it); `visible`
    limits the resources its chains and _has look at; `slot`: the criterion's place at the
    search's top level (see _slot_alias), None when nested."""
    if c.type == "composite":
        return _composite_sql(res_type, c, res)
    if c.has is not None:
        return _has_sql(res_type, c, res, visible)
    if c.chain:
        return _chain_sql(res_type, c, res, visible)
    if c.code in ("_id", "_lastUpdated"):
        return _column_criterion(c, res)
    table_type = "token" if c.modifier == "identifier" else c.type
    t = INDEX_TABLES[table_type].alias() if slot is None else _slot_alias(table_type, slot)
    code = c.code + (":identifier" if c.modifier == "identifier" else "")
    # A correlated check of one resource: `param || ''` keeps the planner on the resource_pk index
    # (a handful of rows per resource) rather than the value index, which for a common value
    # (a LOINC code, a date bound) means walking a hundred thousand rows per resource checked.
    base = and_(t.c.resource_pk == res.c.pk, _param_is(t.c.param + "", res_type, code))
    if res_type != SYSTEM:
        base = and_(base, (t.c.res_type + "") == res_type)
    if c.modifier == "missing":
        present = exists().where(base)
        return not_(present) if c.values[0] == "true" else present
    build = _CONDITIONS["token" if c.modifier == "identifier" else c.type]
    values = (_references(c, t) if table_type == "reference"
              else or_(*(build(c, t, v) for v in c.values)))
    if c.modifier == "not":
        return not_(exists().where(and_(base, values)))
    if driving:
        # The search starts here: the pks this criterion's index rows name (uncorrelated), so the
        # database walks the index for the value instead of every resource of the type.
        rows = and_(_param_is(t.c.param, res_type, code), values)
        if res_type != SYSTEM:
            rows = and_(rows, t.c.res_type == res_type)
        return res.c.pk.in_(select(t.c.resource_pk).where(rows))
    return exists().where(and_(base, values))


def _param_is(column, res_type: str, code: str) -> ColumnElement:  # noqa: ANN001
    """The index rows of a parameter: its own, or those of the parameters a union of them is
    answered from (fhir/derived_params: combo-code is code | component-code)."""
    codes = stored_codes(res_type, code)
    return column == codes[0] if len(codes) == 1 else column.in_(codes)


def _can_drive(c: Criterion) -> bool:
    """A criterion that can start the search from its index (a positive match on index rows)."""
    return (c.has is None and not c.chain and c.type not in ("composite",) and c.code not in ("_id", "_lastUpdated")
            and c.modifier not in ("missing", "not"))


# Which criterion drives: the most selective kinds first (identifiers and references name few rows).
_DRIVE_ORDER = {"reference": 0, "token": 1, "string": 2, "uri": 3, "quantity": 4, "number": 5, "date": 6}


# The pseudo type of a system-level search (GET [base]?_type=…): only the parameters every
# resource has (_id, _lastUpdated, _tag, _profile, _security, _source).
SYSTEM = "Resource"


def where_clause(req: SearchRequest, res=resource, visible: Visibility | None = None,  # noqa: ANN001
                 driven: bool = False) -> ColumnElement:
    """`driven`: the caller adds a condition that names few rows by itself as an uncorrelated
    `pk IN (SELECT resource_pk …)` of this type (a patient's compartment references): it starts the
    search, and every criterion is a correlated check of its rows. (Otherwise a common value — the
    ~112,000 Observations of one LOINC code on a million resources — drove, and its whole list was
    built for a patient's ten.)"""
    conds = [res.c.deleted == false()]
    criteria = _on_their_own(req.resource_type, req.criteria)
    drivers = sorted((i for i, c in enumerate(criteria) if _can_drive(c)),
                     key=lambda i: _DRIVE_ORDER.get(criteria[i].type, 9))
    driver = drivers[0] if drivers and not driven else None
    if req.resource_type != SYSTEM and driver is None and not driven:
        # (With a driving criterion its index rows already carry the type; naming it here too
        # tempts SQLite into scanning the type's every resource instead.)
        conds.append(res.c.res_type == req.resource_type)
    if req.types:
        conds.append(res.c.res_type.in_(req.types))
    conds.extend(criterion_sql(req.resource_type, c, res, driving=i == driver, visible=visible, slot=i)
                 for i, c in enumerate(criteria))
    return and_(*conds)


def _on_their_own(res_type: str, criteria) -> list[Criterion]:  # noqa: ANN001
    """The criteria, a composite on the resource itself with one value (code-value-quantity=
    8867-4$gt100) written as its components' criteria: the same condition (derived_params), and
    its code can then start the search instead of every Observation being checked."""
    out = []
    for c in criteria:
        derived = derivation(res_type, c.code) if c.type == "composite" and len(c.values) == 1 else None
        if derived is None or derived.kind != "same-resource":
            out.append(c)
        else:
            out.extend(_component_criteria(res_type, c, c.values[0]))
    return out


def _sort_key(req: SearchRequest, code: str, desc: bool, slot: int):  # noqa: ANN202
    if code == "_id":
        return resource.c.res_id
    if code == "_lastUpdated":
        return resource.c.last_updated
    ptype = parameters_for(req.resource_type)[code].type
    t = _slot_alias(ptype, -1 - slot)      # (negative: never a criterion's)
    # Look the column up by type only: each index table has its own columns, so building every
    # choice at once (t.c.value on idx_date) raised AttributeError for any _sort on a parameter.
    name = {"date": "high" if desc else "low", "string": "value", "token": "code",
            "number": "value", "uri": "uri", "quantity": "value", "reference": "target_id"}[ptype]
    col = t.c[name]
    agg = func.max(col) if desc else func.min(col)
    return (select(agg).where(and_(t.c.resource_pk == resource.c.pk, _param_is(t.c.param, req.resource_type, code)))
            .scalar_subquery())


def _after(keys: list[tuple[ColumnElement, bool]], cursor: tuple) -> ColumnElement:
    """Rows strictly after the cursor in the order (k1, k2, …, pk), missing values last.

    Keyset paging: a page starts after the last row of the previous one, so rows written or
    deleted meanwhile neither shift nor duplicate the rows that were there all along."""
    terms, ties = [], []
    for (key, desc), value in zip(keys, cursor):
        if value is None:
            strictly, tie = false(), key.is_(None)
        else:
            strictly = or_(key < value if desc else key > value, key.is_(None))
            tie = key == value
        terms.append(and_(*ties, strictly) if ties else strictly)
        ties.append(tie)
    return or_(*terms)


def page_query(req: SearchRequest, visible: Visibility | None = None, driven: bool = False) -> Select:
    """SELECT pk and the sort keys for one page of the search (one row more than the page, which
    tells whether there is a next page). `visible`: the actor's access rules for the resources
    chains and _has look at (the rows of the search itself are the caller's to filter); `driven`:
    see where_clause."""
    keys = [(_sort_key(req, code, desc, i), desc) for i, (code, desc) in enumerate(req.sort)]
    keys.append((resource.c.pk, False))
    q = select(*(k for k, _ in keys)).where(where_clause(req, visible=visible, driven=driven))
    if req.cursor is not None:
        if len(req.cursor) != len(keys):
            raise errors.InvalidSearchParameter("_cursor does not belong to this search", expression="_cursor")
        q = q.where(_after(keys, req.cursor))
    order = []
    for key, desc in keys[:-1]:
        order.append(key.is_(None))
        order.append(key.desc() if desc else key.asc())
    # pk is never missing: ordering by it alone lets the database read in pk order and stop at
    # the page's limit instead of sorting every match.
    order.append(keys[-1][0].asc())
    q = q.order_by(*order)
    if req.offset:
        q = q.offset(req.offset)
    if req.count is not None:
        q = q.limit(req.count + 1)
    return q


def count_query(req: SearchRequest, visible: Visibility | None = None, driven: bool = False) -> Select:
    return select(func.count()).select_from(resource).where(where_clause(req, visible=visible, driven=driven))
