"""Checks for the values of FHIR R4 primitive types in their JSON form.

Each primitive compiles once into a checker: ``check(value) -> Problem | None``. The lexical rules are
the spec's own regexes (read from the StructureDefinitions, see definitions.py), plus what a regex
cannot say: the JSON type (datatypes.html#primitive: boolean/integer/decimal are JSON booleans and
numbers, everything else a JSON string), the 32-bit range of integers, that a date names a real day,
the 1 MB string limit, and that a string is never empty.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from benhan.fhir.definitions import PrimitiveType, StructureDefinitions
from benhan.fhir.resource_json import JsonDecimal


@dataclass(frozen=True)
class Problem:
    code: str  # OperationOutcome issue type
    message: str
    severity: str = "error"


Checker = Callable[[object], "Problem | None"]

_JSON_NAMES = {str: "a string", bool: "a boolean", int: "a number", float: "a number",
               JsonDecimal: "a number", dict: "an object", list: "an array", type(None): "null"}

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# The spec's base64Binary regex, (\s*([0-9a-zA-Z\+/=]){4}\s*)+, backtracks exponentially on a long
# invalid value with whitespace (each blank may belong to either neighbour group). This pair says the
# same thing in linear time: base64 characters in groups of four once whitespace is dropped.
_BASE64_CHARS = re.compile(r"[0-9a-zA-Z+/=]*")
_WHITESPACE = re.compile(r"\s+")

# XML 1.0 / FHIR strings SHOULD NOT hold control characters other than tab, CR and LF.
_DIV_START = re.compile(r"\s*<div[\s/>]")  # match(), not lstrip(): a div can be megabytes

_INTEGER_TEXT = re.compile(r"-?[0-9]+")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def json_name(value: object) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def shorten(value: object, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _real_day(value: str) -> bool:
    # The regexes allow 2021-02-31; a date SHALL be a valid date (datatypes.html#date).
    if len(value) < 10 or value[4] != "-" or value[7] != "-":
        return True  # year or year-month only: nothing more to check
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    if month == 2 and day == 29:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= _DAYS_IN_MONTH[month - 1]


def _base64(value: str) -> bool:
    compact = _WHITESPACE.sub("", value)
    return len(compact) % 4 == 0 and _BASE64_CHARS.fullmatch(compact) is not None


def _wrong_json(name: str, expected: str, value: object) -> Problem:
    return Problem("structure", f"Invalid {name}: expected {expected}, found {json_name(value)}")


def _string_checker(p: PrimitiveType, max_length: int) -> Checker:
    name = p.name
    # The spec's regexes are XML Schema regexes, where \s is only space, tab, CR and LF and \S is
    # every other character; Python's Unicode \s would also take U+00A0 and reject "Seul\xa0".
    # re.ASCII gives XML's meaning (apart from \f and \v, which XML forbids in any case).
    pattern = re.compile(p.regex, re.ASCII) if p.regex and name != "base64Binary" else None
    calendar = name in ("date", "dateTime", "instant")
    text_like = name in ("string", "markdown")

    def check(value: object) -> Problem | None:
        if type(value) is not str:
            return _wrong_json(name, "a string", value)
        if not value:
            return Problem("value", f"A {name} must not be empty")
        if len(value) > max_length:
            return Problem("too-long", f"A {name} must not be longer than {max_length} characters")
        if pattern is not None:
            if pattern.fullmatch(value) is None:
                if text_like and _CONTROL.search(value):
                    return Problem("value", f"Invalid {name}: it holds a control character")
                return Problem("value", f"Invalid {name} '{shorten(value)}'")
        elif name == "base64Binary" and not _base64(value):
            return Problem("value", f"Invalid base64Binary '{shorten(value)}'")
        if calendar and not _real_day(value):
            return Problem("value", f"Invalid {name} '{shorten(value)}': no such day")
        if text_like and value.isspace():
            # Whitespace-only strings are legal JSON but "trimmed to nothing" they are invalid
            # (datatypes.html#string): a warning, since the spec says SHOULD.
            return Problem("value", f"A {name} should not be only whitespace", "warning")
        return None

    return check


def _integer_checker(name: str, low: int, high: int) -> Checker:
    def check(value: object) -> Problem | None:
        if type(value) is not int:
            if type(value) is JsonDecimal and _INTEGER_TEXT.fullmatch(value.text):
                # -0, or an integer past 64 bits: integer lexical forms kept as text (resource_json)
                value = int(value.text)
                return None if low <= value <= high else \
                    Problem("value", f"Invalid {name} '{shorten(value)}': outside {low}..{high}")
            if isinstance(value, float) and value.is_integer():
                return Problem("value", f"Invalid {name} '{shorten(value)}': no decimal point allowed")
            return _wrong_json(name, "an integer number", value)
        if not low <= value <= high:
            return Problem("value", f"Invalid {name} '{value}': outside {low}..{high}")
        return None

    return check


def _decimal(value: object) -> Problem | None:
    if type(value) is int:
        return None
    if type(value) in (float, JsonDecimal):     # JsonDecimal: a decimal kept exactly as sent
        return None if math.isfinite(value) else Problem("value", f"Invalid decimal '{value}'")
    return _wrong_json("decimal", "a number", value)


def _boolean(value: object) -> Problem | None:
    return None if type(value) is bool else _wrong_json("boolean", "true or false", value)


def _xhtml(value: object) -> Problem | None:
    # Narrative.div: a full XHTML check is out of scope; the spec requires a <div> root (txt-1..3).
    if type(value) is not str:
        return _wrong_json("xhtml", "a string", value)
    if _DIV_START.match(value) is None:
        return Problem("value", "Narrative div must be XHTML starting with '<div'")
    return None


def compile_checkers(structure: StructureDefinitions) -> dict[str, Checker]:
    """One checker per primitive type name (id, date, positiveInt, …)."""
    low, high = structure.integer_range
    checkers: dict[str, Checker] = {}
    for name, p in structure.primitives.items():
        if name == "xhtml":
            checkers[name] = _xhtml
        elif p.json == "boolean":
            checkers[name] = _boolean
        elif p.json == "decimal":
            checkers[name] = _decimal
        elif p.json == "integer":
            floor = {"positiveInt": 1, "unsignedInt": 0}.get(name, low)
            checkers[name] = _integer_checker(name, floor, high)
        else:
            checkers[name] = _string_checker(p, structure.max_string_length)
    return checkers
