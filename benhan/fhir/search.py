"""Parsing a FHIR search (http://hl7.org/fhir/R4/search.html) into a SearchRequest. No SQL here:
store.search turns the request into a query.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

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
}
# Each AND-ed criterion is an EXISTS and each OR-ed value a term: SQLite refuses an expression
# deeper than 1000 (about 490 OR-ed values, or 980 criteria, were a 500). These caps keep every
# search well inside that, on either database; a client with more splits its search.
MAX_CRITERIA = 100
MAX_SORT = 20
MAX_VALUES = 200
# Parameters starting with "_" that are criteria (they select resources) rather than result
# parameters (which shape the answer).
CRITERIA_PARAMETERS = frozenset({"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source",
                                 "_text", "_content", "_list", "_has", "_type", "_query", "_filter"})
_PREFIX_RE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[0-9+\-.])")


@dataclass(frozen=True)
class Criterion:
    code: str
    type: str
    modifier: str | None
    values: tuple[str, ...]             # OR-ed values, unescaped at the comma level
    param: SearchParam | None = None


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

    def applied_query(self) -> list[tuple[str, str]]:
        """The parameters actually applied, for the searchset's self link."""
        out = []
        for c in self.criteria:
            key = c.code + (f":{c.modifier}" if c.modifier else "")
            out.append((key, ",".join(escape(v) for v in c.values)))
        if self.sort:
            out.append(("_sort", ",".join(("-" if d else "") + c for c, d in self.sort)))
        if self.count is not None:
            out.append(("_count", str(self.count)))
        if self.total:
            out.append(("_total", self.total))
        return out


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
        if key == "_offset":
            req.offset = _int(key, raw, minimum=0, maximum=MAX_OFFSET)
            continue
        if key == "_total":
            if raw not in ("none", "estimate", "accurate"):
                raise errors.InvalidSearchParameter(f"_total must be none, estimate or accurate, not {raw!r}", expression=key)
            req.total = raw
            continue
        if key == "_sort":
            if len(req.sort) + raw.count(",") + 1 > MAX_SORT:
                raise errors.InvalidSearchParameter(f"at most {MAX_SORT} _sort keys are taken", expression=key)
            for part in raw.split(","):
                code = part.lstrip("-")
                if code not in ("_id", "_lastUpdated") and (code not in params or params[code].type not in ("date", "string", "token", "number", "uri")):
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
        code, _, modifier = key.partition(":")
        if "." in key:
            refuse(key, f"chained search ({key}) is not supported yet")
            continue
        param = params.get(code)
        if param is None:
            refuse(key, f"unknown search parameter {code!r} for {resource_type}")
            continue
        ptype = param.type
        if modifier and modifier not in MODIFIERS.get(ptype, set()):
            if ptype == "reference" and modifier and modifier[0].isupper():
                pass   # :[type] on a reference, e.g. subject:Patient
            else:
                refuse(key, f"modifier :{modifier} is not supported on {ptype} parameter {code!r}")
                continue
        if ptype not in MODIFIERS and code not in ("_id", "_lastUpdated"):
            refuse(key, f"search parameter {code!r} ({ptype}) is not supported yet")
            continue
        values = tuple(v for v in split_unescaped(raw, ",") if v != "")
        if not values:
            raise errors.InvalidSearchParameter(f"empty value for {key}", expression=key)
        if modifier == "missing" and raw not in ("true", "false"):
            raise errors.InvalidSearchParameter(f"{key} must be true or false", expression=key)
        if len(values) > MAX_VALUES:
            raise errors.InvalidSearchParameter(f"{key} has {len(values)} values; at most {MAX_VALUES} are taken",
                                                expression=key)
        req.criteria.append(Criterion(code, ptype, modifier or None, values, param))
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
