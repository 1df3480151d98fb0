"""Operation input, from a GET query or a POSTed Parameters resource
(http://hl7.org/fhir/R4/operations.html#request), read the same way whichever way it came."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benhan import errors

_IGNORED_ALWAYS = {"_format", "_pretty"}
_PRIMITIVES = ("valueCode", "valueUri", "valueString", "valueCanonical", "valueUrl", "valueId",
               "valueBoolean", "valueInteger", "valueDateTime", "valueDate", "valueUnsignedInt",
               "valuePositiveInt")
_COMPLEX = ("valueCoding", "valueCodeableConcept")


@dataclass(frozen=True)
class Param:
    name: str
    value: Any              # str from a query; str/bool/int/dict from Parameters
    kind: str = "primitive"  # primitive | valueCoding | valueCodeableConcept | resource


def from_query(items: list[tuple[str, str]]) -> list[Param]:
    return [Param(k, v) for k, v in items if k not in _IGNORED_ALWAYS]


def from_parameters(body: Any) -> list[Param]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise errors.InvalidOperationParameter("POST a Parameters resource (or use GET with query parameters)")
    out = []
    for i, p in enumerate(body.get("parameter") or []):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise errors.InvalidOperationParameter(f"parameter[{i}] has no name", expression=f"Parameters.parameter[{i}]")
        name = p["name"]
        key = next((k for k in (*_PRIMITIVES, *_COMPLEX) if k in p), None)
        if key in _COMPLEX:
            if not isinstance(p[key], dict):
                raise errors.InvalidOperationParameter(f"{name}: {key} must be an object", expression=name)
            out.append(Param(name, p[key], key))
        elif key:
            out.append(Param(name, p[key]))
        elif isinstance(p.get("resource"), dict):
            out.append(Param(name, p["resource"], "resource"))
        else:
            raise errors.InvalidOperationParameter(f"{name}: no value (value[x] or resource)", expression=name)
    return out


class Inputs:
    """The parameters of one call, checked against the names the operation knows. `ignored` are
    names the spec defines that we accept and do not act on (so a conformant client is not refused)."""

    def __init__(self, params: list[Param], operation: str, known: set[str], ignored: set[str] = frozenset()):
        unknown = sorted({p.name for p in params} - known - ignored)
        if unknown:
            raise errors.UnknownOperationParameter(
                f"{operation} does not take {', '.join(unknown)} (it takes {', '.join(sorted(known))})",
                expression=unknown[0])
        self.operation = operation
        self._params = params

    def _one(self, name: str) -> Param | None:
        found = [p for p in self._params if p.name == name]
        if len(found) > 1:
            raise errors.InvalidOperationParameter(f"{self.operation}: {name} is given {len(found)} times", expression=name)
        return found[0] if found else None

    def text(self, name: str) -> str | None:
        p = self._one(name)
        if p is None:
            return None
        if p.kind != "primitive" or isinstance(p.value, (bool, dict, list)):
            raise errors.InvalidOperationParameter(f"{name} must be a simple value", expression=name)
        return str(p.value)

    def texts(self, name: str) -> list[str]:
        return [str(p.value) for p in self._params if p.name == name and p.kind == "primitive"]

    def integer(self, name: str, *, minimum: int = 0, maximum: int = 10**9) -> int | None:
        p = self._one(name)
        if p is None:
            return None
        value = p.value
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise errors.InvalidOperationParameter(
                f"{name} must be a whole number from {minimum} to {maximum}, not {p.value!r}", expression=name)
        return value

    def boolean(self, name: str) -> bool | None:
        p = self._one(name)
        if p is None:
            return None
        if isinstance(p.value, bool):
            return p.value
        if p.value in ("true", "false"):
            return p.value == "true"
        raise errors.InvalidOperationParameter(f"{name} must be true or false, not {p.value!r}", expression=name)

    def complex(self, name: str, kind: str) -> dict | None:
        p = self._one(name)
        if p is None:
            return None
        if p.kind != kind:
            raise errors.InvalidOperationParameter(
                f"{name} must be a {kind[5:] if kind.startswith('value') else kind} (POST a Parameters resource)",
                expression=name)
        codings = p.value.get("coding") if kind == "valueCodeableConcept" else [p.value]
        if not isinstance(codings, list) or not all(_is_coding(c) for c in codings):
            raise errors.InvalidOperationParameter(
                f"{name}: a Coding is an object whose system, version, code and display are strings", expression=name)
        return p.value


def _is_coding(c: Any) -> bool:
    return isinstance(c, dict) and all(isinstance(c[k], str) for k in ("system", "version", "code", "display") if k in c)


def canonical(value: str | None) -> tuple[str | None, str | None]:
    """'url|version' -> (url, version)."""
    if value is None:
        return None, None
    url, _, version = value.partition("|")
    return url, version or None
