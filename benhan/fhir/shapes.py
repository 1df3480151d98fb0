"""The element tree compiled into per-object lookup tables for the validator.

A *shape* is what one JSON object may hold: a datatype (``HumanName``), a resource (``Patient``) or a
backbone element (``Patient.contact``). It maps every legal JSON key to a *slot* saying how to check the
value found there. Choice elements are expanded here (``value[x]`` → ``valueString``, ``valueQuantity``…)
so the hot path is one dict lookup per key, with no string surgery.
"""
from __future__ import annotations

from benhan.fhir.definitions import ElementDefinition, StructureDefinitions, ValueSet
from benhan.fhir.primitives import Checker, compile_checkers

PRIMITIVE, COMPLEX, RESOURCE = 0, 1, 2

# Types whose children are declared inline at the element's own path, not by a datatype of their own.
_INLINE = ("BackboneElement", "Element")


class Slot:
    __slots__ = ("key", "segment", "element", "group", "kind", "type_code", "array", "max", "check",
                 "shape", "binding", "extensible", "contained")

    def __init__(self, key: str, segment: str, e: ElementDefinition, group: str | None, kind: int,
                 type_code: str) -> None:
        self.key = key  # JSON property name
        self.segment = segment  # its FHIRPath step: "name", "value.ofType(Quantity)"
        self.element = e.path  # the spec's path, for messages: "Observation.value[x]"
        self.group = group  # choice element name ("value") or None
        self.kind = kind
        self.type_code = type_code
        self.array = e.is_array
        self.max = e.max_count
        self.check: Checker | None = None  # primitive checker
        self.shape: Shape | None = None  # complex: the shape of the object
        self.binding: ValueSet | None = None  # a checkable required binding
        # Primitives carry id/extension in a "_key" sibling, except XML attributes and xhtml.
        self.extensible = kind == PRIMITIVE and not e.attribute and type_code != "xhtml"
        self.contained = False  # DomainResource.contained: resources that may not contain others


class Shape:
    __slots__ = ("name", "slots", "required", "groups", "is_resource", "is_extension")

    def __init__(self, name: str) -> None:
        self.name = name
        self.slots: dict[str, Slot] = {}
        # (spec path, JSON keys any of which satisfies min >= 1): "_key" counts, as a primitive may
        # be present with only an extension (e.g. data-absent-reason).
        self.required: list[tuple[str, tuple[str, ...]]] = []
        self.groups: dict[str, str] = {}  # choice name -> spec path, for the "only one" rule
        self.is_resource = False
        self.is_extension = name == "Extension"


class Shapes:
    """All shapes, built once: ``shapes.resource("Patient")``, ``shapes.element_shape``."""

    def __init__(self, structure: StructureDefinitions) -> None:
        self.structure = structure
        self.checkers = compile_checkers(structure)
        self._shapes: dict[str, Shape] = {}
        self.resources = {name: self._shape(name) for name in sorted(structure.resource_types)}
        for shape in self.resources.values():
            shape.is_resource = True
        # What a "_birthDate" object may hold: the id and extension every primitive inherits.
        self.primitive_element = self._shape("string", skip=("value",), key="#primitive")

    def _shape(self, path: str, skip: tuple[str, ...] = (), key: str | None = None) -> Shape:
        key = key or path
        found = self._shapes.get(key)
        if found is not None:
            return found
        shape = Shape(path)
        self._shapes[key] = shape  # registered before filling: element trees are recursive
        for name, e in sorted(self.structure.children(path).items()):
            if name in skip or e.max == "0":
                continue
            self._add(shape, name, e)
        return shape

    def _add(self, shape: Shape, name: str, e: ElementDefinition) -> None:
        keys: list[str] = []
        if e.is_choice:
            base = name[:-3]
            for code in e.types:
                key = base + code[0].upper() + code[1:]
                keys.append(key)
                shape.slots[key] = self._slot(key, f"{base}.ofType({code})", e, base, code)
            shape.groups[base] = e.path
        else:
            code = e.types[0] if len(e.types) == 1 else ""
            keys.append(name)
            shape.slots[name] = slot = self._slot(name, name, e, None, code)
            slot.contained = e.path.endswith(".contained") and code == "Resource"
        if e.min >= 1:
            keys += ["_" + k for k in keys if shape.slots[k].extensible]
            shape.required.append((e.path, tuple(keys)))

    def _slot(self, key: str, segment: str, e: ElementDefinition, group: str | None, code: str) -> Slot:
        structure = self.structure
        if code == "Resource" or code in structure.resource_types:
            slot = Slot(key, segment, e, group, RESOURCE, code)
        elif structure.is_primitive(code):
            slot = Slot(key, segment, e, group, PRIMITIVE, code)
            slot.check = self.checkers[code]
        else:
            slot = Slot(key, segment, e, group, COMPLEX, code)
            if e.content_reference:
                slot.shape = self._shape(e.content_reference)
            elif code in _INLINE or not code:
                slot.shape = self._shape(e.path)
            else:
                slot.shape = self._shape(code)
        if e.binding and code in ("code", "Coding", "CodeableConcept"):
            vs = structure.value_set(e.binding)
            if vs is not None and vs.checkable:
                slot.binding = vs
        return slot
