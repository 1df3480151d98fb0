"""Resource JSON: parsing and writing that keep a decimal exactly as sent, canonical bytes,
content hash, meta stamping.

R4 requires a decimal's precision to be kept (datatypes.html#decimal: 0.40 is not 0.4, 1e2 is not
100.0). orjson, used for speed, reads every number with a fraction or exponent into a binary float
and writes back its shortest repr, so a body holding one is read a second time with the standard
library, whose number hooks give a `JsonDecimal`: a float (arithmetic, validation and the numeric
index work as before) that remembers its exact text, which `dumps` writes back byte for byte.
Bodies with no such number (most: integers, strings) take only the fast path.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

# meta elements the server owns: they change on every version and must not make a no-op update
# look like a change.
SERVER_META = ("versionId", "lastUpdated")

# What may be a number a float would change (after a colon, an array's [ or a comma, and ended by a
# comma, ] or }): one with a fraction or exponent, an integer past 64 bits, or -0. A cheap first
# look: the milliseconds of a time in a string (":00.123+07:00", every stored meta.lastUpdated) do
# not match, since a string goes on after them; text inside a string can still match ("a: 1.5,"),
# and then the parsed tree says whether a float is really there (orjson gives a float for exactly
# these numbers) — -0 alone it cannot see (it reads 0).
_MAYBE_INEXACT = re.compile(
    rb'[:\[,]\s*(?:-?[0-9]+(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)|-?[0-9]{19,}|-0)\s*[,\]}]')
_NEGATIVE_ZERO = re.compile(rb'[:\[,]\s*-0\s*[,\]}]')
_INT64 = (-2**63, 2**64 - 1)       # what orjson reads and writes as an integer


class JsonDecimal(float):
    """A JSON number kept as sent: its float value for arithmetic, its text for output."""
    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> "JsonDecimal":
        value = float.__new__(cls, text)
        value.text = text
        return value

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        return (type(self), (self.text,))

    def __copy__(self) -> "JsonDecimal":
        return self          # immutable, like float

    def __deepcopy__(self, memo: dict) -> "JsonDecimal":
        return self


def _has_float(node: Any) -> bool:
    stack = [node.values() if type(node) is dict else node]
    while stack:
        for v in stack.pop():
            kind = type(v)
            if kind is float:
                return True
            if kind is dict:
                stack.append(v.values())
            elif kind is list:
                stack.append(v)
    return False


def _integer(text: str) -> int | JsonDecimal:
    value = int(text)
    if text == "-0" or not _INT64[0] <= value <= _INT64[1]:
        return JsonDecimal(text)
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads(raw: bytes | str) -> Any:
    """Parse JSON keeping every decimal's exact text; raises orjson.JSONDecodeError (a ValueError)."""
    data = orjson.loads(raw)            # validates: what orjson refuses stays refused
    probe = raw.encode() if isinstance(raw, str) else raw
    if isinstance(data, (dict, list)):
        # What the store reads back is what `dumps` wrote: when writing the parsed tree gives the
        # same bytes, no number changed its text (0.7 µs; the regex and tree walk below cost ~20 µs).
        if orjson.dumps(data) == probe:
            return data
        if not _MAYBE_INEXACT.search(probe) or not (_has_float(data) or _NEGATIVE_ZERO.search(probe)):
            return data
    elif not isinstance(data, float) and probe.strip() != b"-0":
        return data
    try:
        return json.loads(raw, parse_float=JsonDecimal, parse_int=_integer, parse_constant=_no_constant)
    except RecursionError:
        # orjson allows 1024 levels; the standard parser stops at Python's recursion limit.
        raise orjson.JSONDecodeError("the JSON is nested too deeply", "", 0) from None


def _exact(value: Any) -> orjson.Fragment:
    if isinstance(value, JsonDecimal):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(resource: Any, option: int = 0) -> bytes:
    """JSON bytes, each JsonDecimal written exactly as it was read."""
    return orjson.dumps(resource, default=_exact, option=option)


def content_hash(resource: dict) -> bytes:
    """SHA-256 of the resource's canonical JSON without the server-owned meta elements."""
    meta = resource.get("meta")
    if isinstance(meta, dict) and any(k in meta for k in SERVER_META):
        stripped = {k: v for k, v in meta.items() if k not in SERVER_META}
        resource = dict(resource)
        if stripped:
            resource["meta"] = stripped
        else:
            resource.pop("meta")
    return hashlib.sha256(dumps(resource, orjson.OPT_SORT_KEYS)).digest()


def stamp(resource: dict, version: int, last_updated: str) -> dict:
    """A copy of the resource with meta.versionId and meta.lastUpdated set, meta first after id."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = last_updated
    out = {"resourceType": resource["resourceType"]}
    if "id" in resource:
        out["id"] = resource["id"]
    out["meta"] = meta
    for k, v in resource.items():
        if k not in out:
            out[k] = v
    return out
