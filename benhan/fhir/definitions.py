"""The FHIR R4 definitions benhan validates against, loaded from the compiled artifact.

``benhan/fhir/data/structure-r4.json.gz`` is built from the spec's own StructureDefinitions, ValueSets
and CodeSystems by ``tools/build_structure_definitions.py``; this module only reads it (once) and offers
lookups by element path. Paths are the spec's: ``Patient.contact.name``, ``Observation.value[x]``.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Mapping

ARTIFACT = "structure-r4.json.gz"


@dataclass(frozen=True)
class ElementDefinition:
    path: str
    min: int
    max: str  # "0", "1", "*" (R4 base definitions use no other upper bounds)
    types: tuple[str, ...] = ()
    content_reference: str | None = None  # e.g. Questionnaire.item for Questionnaire.item.item
    binding: str | None = None  # URL of a *required* value set; weaker bindings are not kept
    attribute: bool = False  # an XML attribute (Element.id, Extension.url): plain JSON, no "_name"
    summary: bool = False  # isSummary: kept by _summary=true

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def is_array(self) -> bool:
        # FHIR JSON: an element is an array exactly when its upper bound is above one.
        return self.max not in ("0", "1")

    @property
    def max_count(self) -> int | None:
        return None if self.max == "*" else int(self.max)

    @property
    def is_choice(self) -> bool:
        return self.path.endswith("[x]")


@dataclass(frozen=True)
class TypeDefinition:
    name: str
    kind: str  # "resource" | "complex-type" | "primitive-type"
    abstract: bool
    base: str | None
    elements: Mapping[str, ElementDefinition]


@dataclass(frozen=True)
class PrimitiveType:
    name: str
    json: str  # JSON representation: "string" | "boolean" | "integer" | "decimal"
    regex: str | None  # from the spec's regex extension on <type>.value
    max_length: int | None = None


@dataclass(frozen=True)
class ValueSet:
    url: str
    codes: Mapping[str, frozenset[str]] = field(default_factory=dict)  # system -> codes
    not_checkable: str | None = None  # why the package cannot expand it

    @property
    def checkable(self) -> bool:
        return self.not_checkable is None

    @cached_property
    def all_codes(self) -> frozenset[str]:
        """Codes of every system: what a ``code`` element (whose system is implicit) is checked against."""
        return frozenset().union(*self.codes.values())

    def contains(self, system: str | None, code: str) -> bool:
        """A code with its system, or (system None) a bare code as in a ``code`` element."""
        if system is None:
            return code in self.all_codes
        return code in self.codes.get(system, ())


class StructureDefinitions:
    """Read-only view over the compiled definitions."""

    def __init__(self, raw: dict) -> None:
        self.fhir_version: str = raw["fhirVersion"]
        self.resource_types: frozenset[str] = frozenset(raw["resourceTypes"])
        self.types: Mapping[str, TypeDefinition] = MappingProxyType(
            {name: _type(name, t) for name, t in raw["types"].items()}
        )
        self.primitives: Mapping[str, PrimitiveType] = MappingProxyType(
            {
                name: PrimitiveType(name, p["json"], p.get("regex"), p.get("maxLength"))
                for name, p in raw["primitives"].items()
            }
        )
        self.value_sets: Mapping[str, ValueSet] = MappingProxyType(
            {url: _value_set(url, v) for url, v in raw["valueSets"].items()}
        )
        rules = raw["rules"]
        self.max_string_length: int = rules["maxStringLength"]
        self.id_regex: str = rules["idRegex"]
        self.integer_range: tuple[int, int] = (rules["integerMin"], rules["integerMax"])
        # parent path -> {child name -> definition}, across all types: the tree the validator walks.
        children: dict[str, dict[str, ElementDefinition]] = {}
        for t in self.types.values():
            children.setdefault(t.name, {})
            for e in t.elements.values():
                parent = e.path.rsplit(".", 1)[0]
                children.setdefault(parent, {})[e.name] = e
        self._children = {p: MappingProxyType(c) for p, c in children.items()}

    def element(self, path: str) -> ElementDefinition | None:
        t = self.types.get(path.split(".", 1)[0])
        return t.elements.get(path) if t else None

    def children(self, path: str) -> Mapping[str, ElementDefinition]:
        """Child elements of a type name or an element path, following its type or contentReference."""
        own = self._children.get(path)
        if own:
            return own
        e = self.element(path)
        if e is None:
            return MappingProxyType({})
        if e.content_reference:
            return self.children(e.content_reference)
        if len(e.types) == 1:
            return self._children.get(e.types[0], MappingProxyType({}))
        return MappingProxyType({})

    def value_set(self, url: str) -> ValueSet | None:
        return self.value_sets.get(url.split("|")[0])

    def is_primitive(self, type_code: str) -> bool:
        return type_code in self.primitives


def _type(name: str, raw: dict) -> TypeDefinition:
    elements = {
        path: ElementDefinition(
            path=path,
            min=e["min"],
            max=e["max"],
            types=tuple(e.get("types", ())),
            content_reference=e.get("ref"),
            binding=e.get("binding"),
            attribute=e.get("attr", False),
            summary=e.get("summary", False),
        )
        for path, e in raw["elements"].items()
    }
    return TypeDefinition(name, raw["kind"], raw["abstract"], raw.get("base"), MappingProxyType(elements))


def _value_set(url: str, raw: dict) -> ValueSet:
    if "notCheckable" in raw:
        return ValueSet(url, MappingProxyType({}), raw["notCheckable"])
    codes = {system: frozenset(c) for system, c in raw["codes"].items()}
    return ValueSet(url, MappingProxyType(codes))


@lru_cache(maxsize=1)
def load_structure() -> StructureDefinitions:
    data = resources.files("benhan.fhir").joinpath("data").joinpath(ARTIFACT).read_bytes()
    return StructureDefinitions(json.loads(gzip.decompress(data)))
