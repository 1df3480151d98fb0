"""An independent model of FHIR search matching, for the oracle test.

It evaluates each search parameter's FHIRPath expression with fhirpathpy (not with benhan's
walkers) and applies the spec's matching rules (http://hl7.org/fhir/R4/search.html) written
afresh here. Nothing from benhan's search or indexing code is used.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

import fhirpathpy
from fhirpathpy.models import models

_RESOLVE = re.compile(r"\.where\(resolve\(\)\s+is\s+(\w+)\)$")
_compiled: dict[str, object] = {}


def fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    nfd = unicodedata.normalize("NFD", text)
    return " ".join("".join(c for c in nfd if not unicodedata.combining(c)).casefold().split())


def _union_parts(expression: str) -> list[str]:
    out, depth, start, quote = [], 0, 0, False
    for i, ch in enumerate(expression):
        if ch == "'":
            quote = not quote
        elif not quote and ch in "([":
            depth += 1
        elif not quote and ch in ")]":
            depth -= 1
        elif not quote and depth == 0 and ch == "|":
            out.append(expression[start:i].strip())
            start = i + 1
    out.append(expression[start:].strip())
    return [p for p in out if p]


class Unsupported(Exception):
    """fhirpathpy cannot evaluate this expression (e.g. hasExtension); the oracle skips it."""


def values(expression: str, resource: dict) -> list:
    out = []
    for part in _union_parts(expression):
        target = None
        m = _RESOLVE.search(part)
        if m:
            target, part = m.group(1), part[: m.start()]
        fn = _compiled.get(part)
        if fn is None:
            fn = _compiled[part] = fhirpathpy.compile(part, models["r4"])
        try:
            found = list(fn(resource))
        except Exception as exc:  # noqa: BLE001 - evaluator gaps make the parameter unsupported
            raise Unsupported(str(exc)) from None
        if target:
            found = [v for v in found if isinstance(v, dict) and (
                (isinstance(v.get("reference"), str) and re.search(rf"(^|/){target}/[^/]+(/_history/[^/]+)?$", v["reference"]))
                or v.get("type") == target)]
        out.extend(found)
    return out


# --- strings -------------------------------------------------------------------------------------
_STRING_PARTS = ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state",
                 "postalCode", "country")


def string_parts(value) -> list[str]:  # noqa: ANN001
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        out = []
        for key in _STRING_PARTS:
            v = value.get(key)
            out += [v] if isinstance(v, str) else [x for x in v if isinstance(x, str)] if isinstance(v, list) else []
        return out
    return []


def string_matches(value, query: str, modifier: str | None) -> bool:  # noqa: ANN001
    for part in string_parts(value):
        if modifier == "exact" and part == query:
            return True
        if modifier == "contains" and fold(query) in fold(part):
            return True
        if modifier is None and fold(part).startswith(fold(query)):
            return True
    return False


# --- tokens --------------------------------------------------------------------------------------
_CONTACT_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}


def token_pairs(value) -> list[tuple[str | None, str | None]]:  # noqa: ANN001
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, (str, int)):
        return [(None, str(value))]
    if not isinstance(value, dict):
        return []
    if "coding" in value:
        return [(c.get("system"), c.get("code")) for c in value["coding"] if isinstance(c, dict)]
    if "code" in value:                              # Coding
        return [(value.get("system"), value.get("code"))]
    if "value" in value:                             # Identifier or ContactPoint
        system = value.get("system")
        return [(None if system in _CONTACT_SYSTEMS else system, str(value["value"]))]
    return []


def token_matches(value, query: str) -> bool:  # noqa: ANN001
    if "|" not in query:
        return any(code == query for _, code in token_pairs(value))
    system, code = query.split("|", 1)
    for s, c in token_pairs(value):
        if system == "" and s is None and c == code:
            return True
        if system and code == "" and s == system:
            return True
        if system and code and s == system and c == code:
            return True
    return False


# --- references ----------------------------------------------------------------------------------
_REF = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def reference_matches(value, query: str) -> bool:  # noqa: ANN001
    text = value.get("reference") if isinstance(value, dict) else value if isinstance(value, str) else None
    if not isinstance(text, str):
        return False
    if text.startswith(("http://", "https://", "urn:")):
        return text == query          # another server's resource: only its whole URL matches
    m = _REF.search(text)
    if "/" in query:
        qt, qid = query.split("/", 1)
        return bool(m) and m.group(1) == qt and m.group(2) == qid
    return bool(m) and m.group(2) == query


# --- dates ---------------------------------------------------------------------------------------
_D = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")


# Values without a zone are in the server's zone: +07:00 unless configured otherwise.
SERVER_ZONE = timezone(timedelta(hours=7))


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """[start, end) of a FHIR date value at its precision, in SERVER_ZONE when it has no zone."""
    m = _D.match(text) if isinstance(text, str) else None
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    zone = timezone.utc if tz == "Z" else SERVER_ZONE
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    if mo is None:
        return datetime(int(y), 1, 1, tzinfo=zone), datetime(int(y) + 1, 1, 1, tzinfo=zone)
    if d is None:
        start = datetime(int(y), int(mo), 1, tzinfo=zone)
        return start, start + timedelta(days=calendar.monthrange(int(y), int(mo))[1])
    if hh is None:
        start = datetime(int(y), int(mo), int(d), tzinfo=zone)
        return start, start + timedelta(days=1)
    start = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), tzinfo=zone)
    if frac:
        digits = frac[:6]
        start += timedelta(microseconds=int(digits.ljust(6, "0")))
        return start, start + timedelta(microseconds=10 ** (6 - len(digits)))
    return start, start + (timedelta(seconds=1) if ss else timedelta(minutes=1))


_FAR_PAST = datetime(1, 1, 2, tzinfo=timezone.utc)
_FAR_FUTURE = datetime(9999, 12, 30, tzinfo=timezone.utc)


def value_range(value) -> tuple[datetime, datetime] | None:  # noqa: ANN001
    if isinstance(value, str):
        return date_range(value)
    if isinstance(value, dict) and ("start" in value or "end" in value):
        lo = date_range(value["start"]) if isinstance(value.get("start"), str) else None
        hi = date_range(value["end"]) if isinstance(value.get("end"), str) else None
        return (lo[0] if lo else _FAR_PAST, hi[1] if hi else _FAR_FUTURE)
    return None


def date_matches(value, prefix: str, query: str) -> bool:  # noqa: ANN001
    if isinstance(value, dict) and "event" in value:
        return any(date_matches(e, prefix, query) for e in value["event"])
    target, q = value_range(value), date_range(query)
    if target is None or q is None:
        return False
    (tlo, thi), (qlo, qhi) = target, q
    inside = tlo >= qlo and thi <= qhi
    return {"eq": inside, "ne": not inside, "gt": thi > qhi, "lt": tlo < qlo,
            "ge": thi > qhi or inside, "le": tlo < qlo or inside,
            "sa": tlo >= qhi, "eb": thi <= qlo}[prefix]


# --- numbers and quantities ----------------------------------------------------------------------
def _decimal(x) -> Decimal | None:  # noqa: ANN001
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        return None
    try:
        return Decimal(str(x))
    except InvalidOperation:
        return None


def number_matches(number, prefix: str, query: str) -> bool:  # noqa: ANN001
    v, q = _decimal(number), Decimal(query)
    if v is None:
        return False
    exponent = q.as_tuple().exponent
    half = Decimal(5).scaleb(exponent - 1)
    return {"eq": q - half <= v < q + half, "ne": not (q - half <= v < q + half), "gt": v > q, "lt": v < q,
            "ge": v >= q, "le": v <= q}[prefix]


def quantity_matches(value, prefix: str, query: str) -> bool:  # noqa: ANN001
    if not isinstance(value, dict):
        return False
    number, *unit = query.split("|")
    if unit:
        system, code = unit[0], "|".join(unit[1:])
        if system and value.get("system") != system:
            return False
        if code and code not in (value.get("code"), value.get("unit") if not system else None):
            return False
    return number_matches(value.get("value"), prefix, number)
