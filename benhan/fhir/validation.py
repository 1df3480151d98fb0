"""Validate a resource (parsed FHIR JSON) against the R4 base definitions, on every write.

What is checked, and what is not, is written up in docs/validation.md. In short: resourceType, unknown
elements, JSON types and the FHIR JSON rules (arrays, nulls, empties, "_x" siblings), cardinality,
primitive formats, choice types, contained/nested resources, Extension and Narrative basics and the
required bindings that the core package can expand. Invariants (FHIRPath constraints), profiles and
reference resolution are not.

Expressions follow OperationOutcome.issue.expression: ``Patient.contact[0].name.family``; repeating
elements always carry their index, a choice is ``Observation.value.ofType(Quantity)`` and a resource
inside another ``Bundle.entry[2].resource.ofType(Observation).status``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from benhan.fhir.definitions import StructureDefinitions, load_structure
from benhan.fhir.primitives import json_name, shorten
from benhan.fhir.shapes import PRIMITIVE, RESOURCE, Shape, Shapes, Slot

# Legitimate trees (Questionnaire.item.item…, nested extensions) are far shallower; the limit keeps
# hostile input from exhausting the interpreter's stack.
MAX_DEPTH = 100

_MISSING = object()
# FHIR strings (every primitive's JSON string, xhtml included) take no control character other than
# tab, CR and LF (datatypes.html#string, XML 1.0). Checked for every primitive type here, before
# its own format: a NUL passed the string regex (\S) and reached PostgreSQL, which refuses it (500).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Short strings found valid, per primitive checker (see Validator._good).
GOOD_MAX_LENGTH = 128
GOOD_MAX_VALUES = 4096


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" | "warning"
    code: str  # OperationOutcome issue type
    expression: str  # FHIRPath of the offending element
    message: str


class Validator:
    def __init__(self, structure: StructureDefinitions | None = None) -> None:
        self._shapes = Shapes(structure or load_structure())
        self._resources = self._shapes.resources
        # Values already found valid, per primitive checker: a write repeats its systems, codes,
        # dates and references (a Synthea Bundle holds a few hundred distinct ones in thousands of
        # places), and a set lookup costs less than the control-character search and the type's
        # regex. Only for slots without a required binding (that is checked each time), only short
        # strings, at most GOOD_MAX_VALUES per type (then it starts again). Keyed by the checker
        # (one per primitive type, held by self._shapes), so no two types share an entry.
        self._good: dict = {check: set() for check in self._shapes.checkers.values()}

    def validate(self, resource: dict) -> list[Issue]:
        """Every problem found in ``resource``; an empty list means valid. Never raises."""
        try:
            if self._fast_resource(resource, 0, False):
                return []
        except RecursionError:
            pass
        issues: list[Issue] = []
        try:
            self._resource(resource, "", issues, 0, False)
        except RecursionError:
            issues.append(Issue("error", "structure", "", "Resource is nested too deeply to validate"))
        # An issue quotes what the client sent (an unknown key, a bad code): shown with its control
        # characters written out, so the outcome (and what is logged of it) holds none.
        return [i if not (_CONTROL.search(i.message) or _CONTROL.search(i.expression))
                else replace(i, message=_visible(i.message), expression=_visible(i.expression)) for i in issues]

    # -- the fast pass ---------------------------------------------------------------------------
    # The same rules as below, answering only "valid or not", with no paths built: most writes are
    # valid, and for them the walk below spent much of its time writing the FHIRPath of every
    # element in case it had to report one. Anything this pass is not sure of (an issue, a warning,
    # a "_x" extension sibling) makes it answer False, and the full walk then finds what to report.
    # So it must never answer True where the full walk would report anything.

    def _fast_resource(self, value: object, depth: int, contained: bool) -> bool:
        if type(value) is not dict:
            return False
        rtype = value.get("resourceType")
        shape = self._resources.get(rtype) if type(rtype) is str else None
        if shape is None or (contained and "contained" in value):
            return False
        return self._fast_object(value, shape, depth + 1)

    def _fast_object(self, obj: dict, shape: Shape, depth: int) -> bool:
        if depth > MAX_DEPTH:
            return False
        slots = shape.slots
        groups = None
        good_sets = self._good
        for key, value in obj.items():
            slot = slots.get(key)
            if slot is None:
                if key == "resourceType" and shape.is_resource:
                    continue
                return False                    # unknown, or a "_x" sibling: the full walk decides
            if slot.group is not None:
                if groups is None:
                    groups = {slot.group}
                elif slot.group in groups:
                    return False                # two of one choice
                else:
                    groups.add(slot.group)
            kind = slot.kind
            if kind == PRIMITIVE:
                if slot.array:
                    if type(value) is not list or not value or (slot.max is not None and len(value) > slot.max):
                        return False
                    for item in value:
                        if not self._fast_primitive(slot, item, good_sets):
                            return False
                elif type(value) is str and slot.binding is None and value in good_sets[slot.check]:
                    continue
                elif type(value) is list or not self._fast_primitive(slot, value, good_sets):
                    return False
            elif slot.array:
                if type(value) is not list or not value or (slot.max is not None and len(value) > slot.max):
                    return False
                for item in value:
                    if not self._fast_complex(slot, item, depth):
                        return False
            elif type(value) is list or not self._fast_complex(slot, value, depth):
                return False
        for _, keys in shape.required:
            for k in keys:
                if k in obj:
                    break
            else:
                return False
        if shape.is_extension:
            has_value = any(type(k) is str and k.startswith(("value", "_value")) for k in obj)
            if has_value == ("extension" in obj):
                return False
        return True

    def _fast_complex(self, slot: Slot, value: object, depth: int) -> bool:
        if slot.kind == RESOURCE:
            return self._fast_resource(value, depth, slot.contained)
        if type(value) is not dict or not value or not self._fast_object(value, slot.shape, depth + 1):
            return False
        if slot.binding is not None:
            found: list[Issue] = []
            _check_coded(slot, value, "", found)
            return not found
        return True

    @staticmethod
    def _fast_primitive(slot: Slot, value: object, good_sets: dict) -> bool:
        """_one_primitive with no "_" sibling: True when it would report nothing."""
        if type(value) is str:
            binding = slot.binding
            if binding is None and value in good_sets[slot.check]:
                return True
            if _CONTROL.search(value) is not None or slot.check(value) is not None:
                return False
            if binding is None:
                if len(value) <= GOOD_MAX_LENGTH:
                    good = good_sets[slot.check]
                    if len(good) >= GOOD_MAX_VALUES:
                        good.clear()
                    good.add(value)
                return True
            return binding.contains(None, value)
        return value is not None and slot.check(value) is None

    # -- resources -----------------------------------------------------------------------------

    def _resource(self, value: object, path: str, issues: list[Issue], depth: int, contained: bool) -> None:
        where = path or "Resource"
        if type(value) is not dict:
            issues.append(Issue("error", "structure", where, f"Expected a resource (a JSON object), found {json_name(value)}"))
            return
        rtype = value.get("resourceType", _MISSING)
        if rtype is _MISSING:
            issues.append(Issue("error", "invalid", where, "A resource must have a resourceType"))
            return
        shape = self._resources.get(rtype) if type(rtype) is str else None
        if shape is None:
            issues.append(Issue("error", "invalid", where, f"Unknown resource type '{shorten(rtype)}'"))
            return
        here = f"{path}.ofType({rtype})" if path else rtype
        if contained and "contained" in value:
            issues.append(Issue("error", "invalid", here + ".contained", "A contained resource must not contain resources (dom-2)"))
        self._object(value, shape, here, issues, depth + 1)

    # -- objects ---------------------------------------------------------------------------------

    def _object(self, obj: dict, shape: Shape, path: str, issues: list[Issue], depth: int) -> None:
        if depth > MAX_DEPTH:
            issues.append(Issue("error", "structure", path, f"Nested deeper than {MAX_DEPTH} levels"))
            return
        slots = shape.slots
        present: dict[str, str] | None = None  # choice group -> first key seen
        for key, value in obj.items():
            slot = slots.get(key)
            if slot is None:
                if type(key) is str and key[:1] == "_":
                    slot = slots.get(key[1:])
                    if slot is not None and slot.extensible:
                        if key[1:] not in obj:  # otherwise handled together with its value
                            self._primitive(slot, _MISSING, value, path, issues, depth)
                        if slot.group is not None:
                            present = self._choice(shape, slot, present, path, issues)
                        continue
                if key == "resourceType" and shape.is_resource:
                    continue
                issues.append(Issue("error", "structure", f"{path}.{key}", f"Unknown element '{shorten(key)}'"))
                continue
            if slot.group is not None and (type(key) is not str or "_" + key not in obj):
                present = self._choice(shape, slot, present, path, issues)
            if slot.kind == PRIMITIVE:
                ext = obj.get("_" + key, _MISSING) if slot.extensible else _MISSING
                if (ext is _MISSING and type(value) is str and not slot.array and slot.binding is None
                        and value in self._good[slot.check]):
                    continue        # this value was found valid for this type before
                self._primitive(slot, value, ext, path, issues, depth)
            elif slot.array:
                if type(value) is not list:
                    issues.append(Issue("error", "structure", f"{path}.{slot.segment}", f"'{slot.element}' must be a JSON array"))
                elif not value:
                    issues.append(Issue("error", "structure", f"{path}.{slot.segment}", "An array must not be empty"))
                else:
                    if slot.max is not None and len(value) > slot.max:
                        issues.append(Issue("error", "structure", f"{path}.{slot.segment}", f"Maximum cardinality of '{slot.element}' is {slot.max}"))
                    for i, item in enumerate(value):
                        self._complex(slot, item, f"{path}.{slot.segment}[{i}]", issues, depth)
            elif type(value) is list:
                issues.append(Issue("error", "structure", f"{path}.{slot.segment}", f"'{slot.element}' must not be an array (maximum cardinality 1)"))
            else:
                self._complex(slot, value, f"{path}.{slot.segment}", issues, depth)
        for element, keys in shape.required:
            for k in keys:
                if k in obj:
                    break
            else:
                issues.append(Issue("error", "required", f"{path}.{element.rsplit('.', 1)[1].replace('[x]', '')}",
                                    f"Minimum cardinality of '{element}' is 1"))
        if shape.is_extension:
            self._extension(obj, path, issues)

    def _choice(self, shape: Shape, slot: Slot, present: dict | None, path: str, issues: list[Issue]) -> dict:
        present = present if present is not None else {}
        first = present.setdefault(slot.group, slot.key)
        if first != slot.key:
            issues.append(Issue("error", "structure", f"{path}.{slot.group}",
                                f"Only one of '{shape.groups[slot.group]}' may be present, found {first} and {slot.key}"))
        return present

    def _complex(self, slot: Slot, value: object, path: str, issues: list[Issue], depth: int) -> None:
        if slot.kind == RESOURCE:
            self._resource(value, path, issues, depth, slot.contained)
            return
        if type(value) is not dict:
            issues.append(Issue("error", "structure", path, f"Expected a {slot.type_code or 'JSON object'} (a JSON object), found {json_name(value)}"))
            return
        if not value:
            issues.append(Issue("error", "structure", path, "An object must not be empty"))
            return
        self._object(value, slot.shape, path, issues, depth + 1)
        if slot.binding is not None:
            _check_coded(slot, value, path, issues)

    def _extension(self, obj: dict, path: str, issues: list[Issue]) -> None:
        has_value = any(type(k) is str and k.startswith(("value", "_value")) for k in obj)
        if has_value == ("extension" in obj):
            message = ("An extension must not have both a value and extensions" if has_value
                       else "An extension must have either a value or extensions")
            issues.append(Issue("error", "invalid", path, message + " (ext-1)"))

    # -- primitives ------------------------------------------------------------------------------

    def _primitive(self, slot: Slot, value: object, ext: object, path: str, issues: list[Issue], depth: int) -> None:
        where = f"{path}.{slot.segment}"
        if not slot.array:
            if type(value) is list or type(ext) is list:
                issues.append(Issue("error", "structure", where, f"'{slot.element}' must not be an array (maximum cardinality 1)"))
                return
            self._one_primitive(slot, value, ext, where, issues, depth)
            return
        values = [] if value is _MISSING else value
        exts = [] if ext is _MISSING else ext
        if type(values) is not list or type(exts) is not list:
            issues.append(Issue("error", "structure", where, f"'{slot.element}' must be a JSON array"))
            return
        if not values and not exts:
            issues.append(Issue("error", "structure", where, "An array must not be empty"))
            return
        if values and exts and len(values) != len(exts):
            issues.append(Issue("error", "structure", where, f"'{slot.key}' and '_{slot.key}' must have the same length"))
            return
        count = max(len(values), len(exts))
        if slot.max is not None and count > slot.max:
            issues.append(Issue("error", "structure", where, f"Maximum cardinality of '{slot.element}' is {slot.max}"))
        for i in range(count):
            self._one_primitive(slot, values[i] if values else _MISSING, exts[i] if exts else _MISSING,
                                f"{where}[{i}]", issues, depth, in_array=True)

    def _one_primitive(self, slot: Slot, value: object, ext: object, where: str, issues: list[Issue],
                       depth: int, in_array: bool = False) -> None:
        # In arrays, null is the placeholder that pairs a value with its "_" sibling's entry.
        if in_array and ext is None:
            ext = _MISSING
        if value is None and (in_array and ext is not _MISSING):
            value = _MISSING
        if value is not _MISSING:
            if value is None:
                issues.append(Issue("error", "structure", where, "null is not allowed here"))
            elif type(value) is str and (control := _CONTROL.search(value)) is not None:
                issues.append(Issue("error", "value", where,
                                    f"'{slot.element}' holds a control character (U+{ord(control.group()):04X}); "
                                    "FHIR strings take none but tab, carriage return and line feed"))
            else:
                problem = slot.check(value)
                if problem is not None:
                    issues.append(Issue(problem.severity, problem.code, where, problem.message))
                elif slot.binding is None and type(value) is str and len(value) <= GOOD_MAX_LENGTH:
                    good = self._good[slot.check]
                    if len(good) >= GOOD_MAX_VALUES:
                        good.clear()
                    good.add(value)
                elif slot.binding is not None and type(value) is str and not slot.binding.contains(None, value):
                    issues.append(Issue("error", "code-invalid", where,
                                        f"Code '{shorten(value)}' is not in the required value set {slot.binding.url}"))
        if ext is not _MISSING:
            if type(ext) is not dict:
                issues.append(Issue("error", "structure", where, f"The '_' sibling of '{slot.element}' must be a JSON object, found {json_name(ext)}"))
            elif not ext:
                issues.append(Issue("error", "structure", where, "An object must not be empty"))
            else:
                self._object(ext, self._shapes.primitive_element, where, issues, depth + 1)
        elif value is _MISSING:
            issues.append(Issue("error", "structure", where, "null is not allowed without a matching '_' extension"))


def _visible(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _check_coded(slot: Slot, value: dict, path: str, issues: list[Issue]) -> None:
    """Required binding on a Coding or CodeableConcept: some coding with a code must be in the set."""
    vs = slot.binding
    codings = [value] if slot.type_code == "Coding" else value.get("coding")
    if type(codings) is not list:
        return  # text only: nothing coded to check
    coded = False
    for coding in codings:
        if type(coding) is not dict or type(coding.get("code")) is not str:
            continue
        coded = True
        system = coding.get("system")
        if vs.contains(system if type(system) is str else None, coding["code"]):
            return
    if coded:
        issues.append(Issue("error", "code-invalid", path, f"No code is in the required value set {vs.url}"))


@lru_cache(maxsize=1)
def default_validator() -> Validator:
    return Validator()
