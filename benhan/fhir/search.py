"""Parsing a FHIR search (http://hl7.org/fhir/R4/search.html) into a SearchRequest. No SQL here:
store.search turns the request into a query.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

import orjson

from benhan import errors
from benhan.fhir.searchparams import SearchParam, parameters_for

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
# Modifiers this version answers, per parameter type; anything else is refused (or ignored when
# lenient) instead of being silently misread.
MODIFIERS = {
    "string": {"exact", "contains", "missing"},
    "token": {"not", "missing", "text"},
    "reference": {"missing", "identifier"},
    "date": {"missing"},
    "number": {"missing"},
    "quantity": {"missing"},
    "uri": {"missing", "below", "above"},
    "composite": set(),
}
# Each AND-ed criterion is an EXISTS and each OR-ed value a term: SQLite refuses an expression
# deeper than 1000 (about 490 OR-ed values, or 980 criteria, were a 500). These caps keep every
# search well inside that, on either database; a client with more splits its search.
MAX_CRITERIA = 100
MAX_SORT = 20
MAX_VALUES = 200
# Parameters starting with "_" that are criteria (they select resources) rather than result
# parameters (which shape the answer).
_TOTAL_METHODS = {"count": "accurate", "exact": "accurate", "estimate": "estimate", "none": "none"}
CRITERIA_PARAMETERS = frozenset({"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source",
                                 "_text", "_content", "_list", "_has", "_type", "_query", "_filter"})
# The longest search value (one OR-ed value, or a parameter name) taken. No index column holds
# more than 255 characters, so a longer token or reference can match nothing; a longer string is
# matched by prefix. Without a cap, a 10,000-character AuditEvent value overflowed PostgreSQL's
# varchar(64) and a 50,000-character string was "LIKE or GLOB pattern too complex" on SQLite (500s).
MAX_VALUE_LENGTH = 2000
# Our own page position is exempt from the length cap (it carries sort keys); decode_cursor
# checks it instead.
_UNCAPPED = frozenset({"_cursor"})
_PREFIX_RE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[0-9+\-.])")


@dataclass(frozen=True)
class Criterion:
    code: str
    type: str
    modifier: str | None
    values: tuple[str, ...]             # OR-ed values, unescaped at the comma level
    param: SearchParam | None = None
    # subject:Patient.name=x — the reference must point at a resource of one of these types that
    # matches the inner criterion (one per target type, since the parameter differs per type).
    chain: tuple[tuple[str, "Criterion"], ...] = ()
    # _has:Observation:patient:code=x — some Observation whose `patient` points here matches.
    has: "Has | None" = None
    key: str = ""                       # the parameter as the client wrote it (for the self link)


@dataclass(frozen=True)
class Has:
    source_type: str
    reference_param: str
    criterion: Criterion


@dataclass(frozen=True)
class Include:
    source_type: str
    param: str | None                   # None: every reference parameter of source_type (*)
    target_type: str | None
    iterate: bool

    def text(self) -> str:
        return ":".join(x for x in (self.source_type, self.param or "*", self.target_type) if x)


@dataclass
class SearchRequest:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int | None = None
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)   # (code, descending)
    total: str | None = None
    summary: str | None = None
    elements: tuple[str, ...] = ()
    ignored: list[str] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    cursor: tuple | None = None         # keyset position: the sort keys and pk of the last row seen
    types: tuple[str, ...] = ()         # _type of a system-level search

    def applied_query(self) -> list[tuple[str, str]]:
        """The parameters actually applied, as query items: the exact inverse of parse(), used for
        every link the server writes (self, next). parse(applied_query()) is this request again.

        Each value is written as the client wrote it: a criterion's values keep their escapes
        (only the OR-ing commas are taken out), so joining them with ',' gives back the same
        text. Escaping them again turned system|code into system\\|code, a value no resource
        has: page 2 of a token, quantity or composite search came back empty, or 400."""
        out = []
        for c in self.criteria:
            key = c.key or c.code + (f":{c.modifier}" if c.modifier else "")
            out.append((key, ",".join(_leaf(c).values)))
        if self.types:
            out.append(("_type", ",".join(self.types)))
        for name, incs in (("_include", self.includes), ("_revinclude", self.revincludes)):
            for inc in incs:
                out.append((name + (":iterate" if inc.iterate else ""), inc.text()))
        if self.sort:
            out.append(("_sort", ",".join(("-" if d else "") + c for c, d in self.sort)))
        if self.count is not None:
            out.append(("_count", str(self.count)))
        if self.total:
            out.append(("_total", self.total))
        # They shape every page, so the next link must carry them too (it used to drop them, and
        # page 2 of an _elements search came back whole).
        if self.summary:
            out.append(("_summary", self.summary))
        if self.elements:
            out.append(("_elements", ",".join(self.elements)))
        return out


def check_query(items: list[tuple[str, str]]) -> None:
    """Refuse (400) a query no index can answer, before any of it reaches a database: a NUL
    character (PostgreSQL takes none in text, and FHIR strings may not hold one) or a value
    longer than MAX_VALUE_LENGTH. Called at the edge for every FHIR request's query and form."""
    for key, raw in items:
        where = _printable(key)
        if "\x00" in key or "\x00" in raw:
            raise errors.InvalidSearchParameter(
                f"{where}: a search parameter or value must not contain a NUL character (U+0000)", expression=where)
        if len(key) > MAX_VALUE_LENGTH:
            raise errors.InvalidSearchParameter(
                f"a search parameter name is longer than {MAX_VALUE_LENGTH} characters", expression=where)
        if key not in _UNCAPPED and len(raw) > MAX_VALUE_LENGTH and \
                any(len(v) > MAX_VALUE_LENGTH for v in raw.split(",")):
            raise errors.InvalidSearchParameter(
                f"{where}: a search value is longer than {MAX_VALUE_LENGTH} characters", expression=where)


def _printable(key: str) -> str:
    """The parameter name as it can be shown back (and recorded): no NUL, not endless."""
    text = key.replace("\x00", "\\0")
    return text if len(text) <= 100 else text[:99] + "…"


def encode_cursor(values: tuple) -> str:
    """An opaque, URL-safe page position (the last row's sort keys and pk)."""
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise errors.InvalidSearchParameter("_cursor is not a page position of this server", expression="_cursor") \
            from None
    if not isinstance(values, list) or not values or not all(
            v is None or isinstance(v, (str, float)) or (isinstance(v, int) and -2**63 <= v < 2**63) for v in values):
        raise errors.InvalidSearchParameter("_cursor is not a page position of this server", expression="_cursor")
    return tuple(values)


def split_unescaped(value: str, sep: str) -> list[str]:
    """Split on sep where it is not escaped with a backslash; keep other escapes for the next level."""
    parts, buf, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            buf.append(value[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def unescape(value: str) -> str:
    return re.sub(r"\\([\\,|$])", r"\1", value)


def escape(value: str) -> str:
    return re.sub(r"([\\,|$])", r"\\\1", value)


def split_prefix(value: str) -> tuple[str, str]:
    m = _PREFIX_RE.match(value)
    return (m.group(1), value[2:]) if m else ("eq", value)


def parse(resource_type: str, items: list[tuple[str, str]], *, lenient: bool = False,
          default_count: int = 20, max_count: int = 1000) -> SearchRequest:
    check_query(items)
    params = parameters_for(resource_type)
    req = SearchRequest(resource_type)

    def refuse(key: str, message: str, error: type[errors.BenhanError] = errors.UnknownSearchParameter) -> None:
        if lenient and error is errors.UnknownSearchParameter:
            req.ignored.append(key)
            return
        raise error(message, expression=key)

    for key, raw in items:
        if key in ("_format", "_pretty"):
            continue
        if key == "_count":
            req.count = _int(key, raw, minimum=0)
            continue
        if key == "_cursor":
            req.cursor = decode_cursor(raw)
            continue
        if key == "_offset":
            req.offset = _int(key, raw, minimum=0, maximum=MAX_OFFSET)
            continue
        if key == "_type":
            wanted = tuple(t for t in raw.split(",") if t)
            unknown = [t for t in wanted if t not in _known_types()]
            if unknown or not wanted:
                raise errors.InvalidSearchParameter(f"_type: unknown resource type(s) {', '.join(unknown)}",
                                                    expression=key)
            req.types = tuple(dict.fromkeys(req.types + wanted))
            continue
        if key == "_total":
            if raw not in ("none", "estimate", "accurate"):
                raise errors.InvalidSearchParameter(f"_total must be none, estimate or accurate, not {raw!r}", expression=key)
            req.total = raw
            continue
        if key == "_totalMethod":
            # Aidbox's name for _total, which fhirpy's count() sends (_count=0&_totalMethod=count):
            # taken as its _total equivalent rather than ignored, so count() gets a real total.
            if raw not in _TOTAL_METHODS:
                raise errors.InvalidSearchParameter(
                    f"_totalMethod must be {', '.join(_TOTAL_METHODS)}, not {raw!r}", expression=key)
            req.total = _TOTAL_METHODS[raw]
            continue
        if key == "_sort":
            if len(req.sort) + raw.count(",") + 1 > MAX_SORT:
                raise errors.InvalidSearchParameter(f"at most {MAX_SORT} _sort keys are taken", expression=key)
            for part in raw.split(","):
                code = part.lstrip("-")
                if code not in ("_id", "_lastUpdated") and (code not in params or not params[code].expression or
                                                            params[code].type not in ("date", "string", "token", "number", "uri")):
                    refuse(key, f"cannot sort by {code!r}")
                    continue
                req.sort.append((code, part.startswith("-")))
            continue
        if key == "_summary":
            if raw not in ("true", "false", "count", "data", "text"):
                raise errors.InvalidSearchParameter(f"_summary must be true, false, count, data or text, not {raw!r}", expression=key)
            req.summary = raw
            continue
        if key == "_elements":
            req.elements = tuple(e.strip() for e in raw.split(",") if e.strip())
            continue
        if key in ("_include", "_revinclude", "_include:iterate", "_revinclude:iterate",
                   "_include:recurse", "_revinclude:recurse"):
            target = req.includes if key.startswith("_include") else req.revincludes
            inc = _include(resource_type if key.startswith("_include") else None, raw,
                           iterate=":" in key, key=key)
            if inc is not None:
                target.append(inc)
            continue
        try:
            req.criteria.append(_criterion(resource_type, key, raw, depth=0))
        except _Unsupported as why:
            refuse(key, str(why))
    if len(req.criteria) > MAX_CRITERIA:
        raise errors.InvalidSearchParameter(f"{len(req.criteria)} search criteria; at most {MAX_CRITERIA} are taken")
    if sum(len(c.values) for c in req.criteria) > MAX_VALUES:
        raise errors.InvalidSearchParameter(f"more than {MAX_VALUES} search values in all; split the search")
    if req.count is None:
        req.count = default_count
    req.count = min(req.count, max_count)
    return req


_WHOLE = re.compile(r"-?[0-9]+")
# The largest _offset a database takes as OFFSET (SQLite and PostgreSQL: 64-bit); past it SQLite
# raised OverflowError (a 500). Kept well below so offset + count stays in range too.
MAX_OFFSET = 2**62


class _Unsupported(Exception):
    """A parameter or modifier this server does not know: 400, or ignored when lenient."""


MAX_CHAIN = 4


def _criterion(resource_type: str, key: str, raw: str, depth: int) -> Criterion:
    """One AND-ed criterion from a query parameter: plain, chained (a.b=…) or reverse (_has)."""
    if depth > MAX_CHAIN:
        raise errors.InvalidSearchParameter(f"{key}: chains are followed at most {MAX_CHAIN} levels deep",
                                            expression=key)
    if key.startswith("_has:"):
        parts = key.split(":", 3)
        if len(parts) < 4 or not all(parts[1:]):
            raise errors.InvalidSearchParameter(f"{key}: _has takes _has:Type:reference:parameter",
                                                expression=key)
        _, source, ref_param, rest = parts
        params = parameters_for(source) if source in _known_types() else {}
        if not params:
            raise _Unsupported(f"_has: unknown resource type {source!r}")
        ref = params.get(ref_param)
        if ref is None or ref.type != "reference":
            raise _Unsupported(f"_has: {source} has no reference parameter {ref_param!r}")
        inner = _criterion(source, rest, raw, depth + 1)
        return Criterion("_has", "has", None, (), None, has=Has(source, ref_param, inner), key=key)
    head, dot, rest = key.partition(".")
    code, _, modifier = head.partition(":")
    params = parameters_for(resource_type)
    param = params.get(code)
    if param is None:
        raise _Unsupported(f"unknown search parameter {code!r} for {resource_type}")
    if dot:
        if param.type != "reference":
            raise errors.InvalidSearchParameter(f"{key}: only reference parameters can be chained", expression=key)
        if modifier and not modifier[0].isupper():
            raise errors.InvalidSearchParameter(f"{key}: a chained parameter takes only a type modifier",
                                                expression=key)
        _check_target(param, modifier, key)
        targets = (modifier,) if modifier else param.target
        links = []
        for target in targets:
            if target in _known_types() and rest.partition(".")[0].partition(":")[0] in parameters_for(target):
                links.append((target, _criterion(target, rest, raw, depth + 1)))
        if not links:
            raise _Unsupported(f"{key}: no target type of {code!r} has the parameter "
                               f"{rest.partition('.')[0].partition(':')[0]!r}")
        return Criterion(code, "reference", modifier or None, (), param, chain=tuple(links), key=key)
    ptype = param.type
    if modifier and modifier not in MODIFIERS.get(ptype, set()):
        if not (ptype == "reference" and modifier[0].isupper() and modifier in _known_types()):
            raise _Unsupported(f"modifier :{modifier} is not supported on {ptype} parameter {code!r}")
        _check_target(param, modifier, key)
    if not supported(param):
        if param.expression:
            raise _Unsupported(f"search parameter {code!r} ({ptype}) is not supported yet")
        # _text, _content, _query …: R4 gives them no FHIRPath, so nothing is indexed for them and
        # a search would silently match nothing; refused instead, like any unsupported one.
        raise _Unsupported(f"search parameter {code!r} is not supported (it has no expression to index)")
    values = tuple(v for v in split_unescaped(raw, ",") if v != "")
    if not values:
        raise errors.InvalidSearchParameter(f"empty value for {key}", expression=key)
    if modifier == "missing" and raw not in ("true", "false"):
        raise errors.InvalidSearchParameter(f"{key} must be true or false", expression=key)
    if len(values) > MAX_VALUES:
        raise errors.InvalidSearchParameter(f"{key} has {len(values)} values; at most {MAX_VALUES} are taken",
                                            expression=key)
    return Criterion(code, ptype, modifier or None, values, param, key=key)


def supported(param: SearchParam) -> bool:
    """Whether a search by this parameter is answered: the one test the parser applies and the
    CapabilityStatement declares by, so the statement lists exactly what works."""
    if not param.expression:
        return False
    if param.type == "composite":
        return bool(param.component)
    return param.type in MODIFIERS


def _check_target(param: SearchParam, modifier: str, key: str) -> None:
    """subject:Medication=x can match nothing (Observation.subject never points at a Medication):
    a client's mistake, so a 400 rather than an empty page that looks like an answer."""
    if param.type == "reference" and modifier[:1].isupper() and param.target and modifier not in param.target:
        raise errors.InvalidSearchParameter(
            f"{key}: {param.code} points to {', '.join(param.target)}, never to {modifier}", expression=key)


def _leaf(c: Criterion) -> Criterion:
    """The criterion at the end of a chain or _has (the one holding the values)."""
    if c.has is not None:
        return _leaf(c.has.criterion)
    if c.chain:
        return _leaf(c.chain[0][1])
    return c


def _known_types() -> frozenset[str]:
    from benhan.fhir.definitions import load_structure
    return load_structure().resource_types


def _include(resource_type: str | None, raw: str, *, iterate: bool, key: str) -> Include | None:
    """_include=Source:param[:Target] (Source must be the searched type unless iterating);
    _revinclude=Source:param[:Target]; '*' for every reference parameter."""
    parts = raw.split(":")
    if raw == "*" and resource_type is not None:
        return Include(resource_type, None, None, iterate)
    if len(parts) not in (2, 3) or not all(parts):
        raise errors.InvalidSearchParameter(f"{key}={raw}: expected Type:parameter[:TargetType]", expression=key)
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if source not in _known_types() or (target is not None and target not in _known_types()):
        raise errors.InvalidSearchParameter(f"{key}={raw}: unknown resource type", expression=key)
    if code != "*":
        p = parameters_for(source).get(code)
        if p is None or p.type != "reference":
            raise errors.InvalidSearchParameter(f"{key}={raw}: {source} has no reference parameter {code!r}",
                                                expression=key)
    if resource_type is not None and source != resource_type and not iterate:
        raise errors.InvalidSearchParameter(
            f"{key}={raw}: _include names the searched type ({resource_type}) unless it is :iterate", expression=key)
    return Include(source, None if code == "*" else code, target, iterate)


def _int(key: str, raw: str, minimum: int, maximum: int | None = None) -> int:
    # ASCII digits only: int() also takes '١٢', ' 12 ' and '1_000', which are not FHIR integers.
    if not _WHOLE.fullmatch(raw):
        raise errors.InvalidSearchParameter(f"{key} must be a whole number, not {raw!r}", expression=key)
    # Past 4300 digits int() itself raises ValueError; any number that long is simply "huge".
    sign, digits = (-1 if raw.startswith("-") else 1), raw.lstrip("-").lstrip("0") or "0"
    n = sign * (int(digits) if len(digits) <= 40 else 10**40)
    if n < minimum:
        raise errors.InvalidSearchParameter(f"{key} must be at least {minimum}", expression=key)
    if maximum is not None and n > maximum:
        raise errors.InvalidSearchParameter(f"{key} must be at most {maximum}", expression=key)
    return n
