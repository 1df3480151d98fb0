"""The official R4 examples are valid, and broken copies of them are not.

Every resource in the hl7.fhir.r4.examples package must validate without an error, except the few the
spec itself got wrong (KNOWN_DEFECTS, each checked to still be wrong, so the list cannot go stale).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator

import orjson
import pytest

from benhan.fhir.definitions import ElementDefinition, load_structure
from benhan.fhir.validation import default_validator

SEARCH_PARAMETER_BASE = "Minimum cardinality of 'SearchParameter.base' is 1"
IG_NAME = "Minimum cardinality of 'ImplementationGuide.name' is 1"
IG_STATUS = "Minimum cardinality of 'ImplementationGuide.status' is 1"

# file -> (why it is invalid against R4's own definitions, the error messages it may produce)
KNOWN_DEFECTS: dict[str, tuple[str, frozenset[str]]] = {
    # The display items nested in the questionnaire have no linkId, which R4 requires (1..1).
    "Questionnaire-qs1.json": (
        "nested items lack linkId",
        frozenset({"Minimum cardinality of 'Questionnaire.item.linkId' is 1"}),
    ),
    # The package's manifest-style ImplementationGuide has neither name nor status, both 1..1.
    "ig-r4.json": ("no name, no status", frozenset({IG_NAME, IG_STATUS})),
    "ImplementationGuide-fhir.json": ("same content as ig-r4.json", frozenset({IG_NAME, IG_STATUS})),
    # The id is 66 characters long; an id is at most 64 (datatypes.html#id).
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": (
        "id longer than 64 characters",
        frozenset({"Invalid id 'questionnaireresponse-extensions-QuestionnaireResponse-item…'"}),
    ),
    # Search parameters generated for the CodeSystem/ValueSet extensions have no base (1..*).
    **{
        f"SearchParameter-{name}.json": ("generated extension search parameter without base", frozenset({SEARCH_PARAMETER_BASE}))
        for resource in ("codesystem-extensions-CodeSystem", "valueset-extensions-ValueSet")
        for name in (f"{resource}-{code}" for code in ("author", "effective", "end", "keyword", "workflow"))
    },
}


def test_the_committed_artifact_is_what_the_builder_makes_from_the_core_package():
    from tools.build_structure_definitions import OUTPUT, build, serialise
    from tools.fhir_packages import core_dir

    assert serialise(build(core_dir())) == OUTPUT.read_bytes()


def resource_files(folder: Path) -> Iterator[tuple[Path, dict]]:
    for path in sorted(folder.glob("*.json")):
        if path.name == "package.json" or path.name.endswith(".index.json"):
            continue  # npm package metadata, not FHIR
        content = orjson.loads(path.read_bytes())
        if isinstance(content, dict) and "resourceType" in content:
            yield path, content


def error_messages(resource: dict) -> list[str]:
    return [f"{i.expression}: {i.message}" for i in default_validator().validate(resource) if i.severity == "error"]


def test_every_official_example_validates_without_errors(r4_examples_dir):
    checked, unexpected = 0, []
    for path, resource in resource_files(r4_examples_dir):
        checked += 1
        allowed = KNOWN_DEFECTS.get(path.name, ("", frozenset()))[1]
        for issue in default_validator().validate(resource):
            if issue.severity == "error" and issue.message not in allowed:
                unexpected.append(f"{path.name}: {issue.expression}: {issue.message}")
    assert checked > 5000
    assert unexpected == []


def test_each_known_defect_is_still_reported(r4_examples_dir):
    for name, (reason, messages) in KNOWN_DEFECTS.items():
        resource = orjson.loads((r4_examples_dir / name).read_bytes())
        found = {i.message for i in default_validator().validate(resource)}
        assert found == set(messages), (name, reason)


# -- broken copies ------------------------------------------------------------------------------


def sample(folder: Path) -> list[tuple[str, dict]]:
    """The first example of every third resource type: a few dozen, spread across the spec."""
    first: dict[str, tuple[str, dict]] = {}
    for path, resource in resource_files(folder):
        if path.name not in KNOWN_DEFECTS and not path.name.startswith("Bundle-"):
            first.setdefault(resource["resourceType"], (path.name, resource))
    return [first[t] for t in sorted(first)[::3]]


def element_for(children, key: str) -> tuple[ElementDefinition | None, str, str]:
    """The definition behind a JSON key, its FHIRPath step and its type code."""
    e = children.get(key)
    if e is not None and not e.is_choice:
        return e, key, e.types[0] if len(e.types) == 1 else ""
    for name, e in children.items():
        if e.is_choice and key.startswith(name[:-3]):
            suffix = key[len(name) - 3:]
            for code in e.types:
                if suffix == code[0].upper() + code[1:]:
                    return e, f"{name[:-3]}.ofType({code})", code
    return None, "", ""


def dates(obj: dict, parent: str, expression: str) -> Iterator[tuple[list, str]]:
    """(container, key-or-index, expression) of every date/dateTime/instant, in document order."""
    structure = load_structure()
    children = structure.children(parent)
    for key in obj:
        e, step, code = element_for(children, key)
        if e is None or code in ("Resource", "xhtml") or code in structure.resource_types:
            continue
        value = obj[key]
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            where = f"{expression}.{step}" + ("" if index is None else f"[{index}]")
            if code in ("date", "dateTime", "instant") and isinstance(item, str):
                yield (value if index is not None else obj, key if index is None else index), where
            elif isinstance(item, dict) and not structure.is_primitive(code):
                yield from dates(item, e.path if not e.is_choice else code, where)


def broken(resource: dict, break_it) -> tuple[dict, tuple[str, str]] | None:
    copy_ = copy.deepcopy(resource)
    expected = break_it(copy_)
    return (copy_, expected) if expected else None


def add_unknown_element(r: dict):
    r["notAnElement"] = True
    return "structure", f"{r['resourceType']}.notAnElement"


def make_a_string_a_number(r: dict):
    structure = load_structure()
    for key in sorted(r):
        e, step, code = element_for(structure.children(r["resourceType"]), key)
        if e and not e.is_array and code in structure.primitives and structure.primitives[code].json == "string":
            r[key] = 12345
            return "structure", f"{r['resourceType']}.{step}"
    return None


def delete_a_required_element(r: dict):
    structure = load_structure()
    for key in sorted(r):
        e, step, code = element_for(structure.children(r["resourceType"]), key)
        if e and e.min >= 1:
            r.pop(key)
            r.pop("_" + key, None)
            return "required", f"{r['resourceType']}.{e.name.replace('[x]', '')}"
    return None


def break_a_date(r: dict):
    for (container, key), expression in dates(r, r["resourceType"], r["resourceType"]):
        container[key] = "2020-13-01"
        return "value", expression
    return None


@pytest.mark.parametrize(
    "break_it", [add_unknown_element, make_a_string_a_number, delete_a_required_element, break_a_date]
)
def test_a_broken_copy_of_an_example_is_rejected_at_the_broken_element(r4_examples_dir, break_it):
    cases, wrong = 0, []
    for name, resource in sample(r4_examples_dir):
        made = broken(resource, break_it)
        if made is None:
            continue
        cases += 1
        bad, expected = made
        found = [(i.code, i.expression) for i in default_validator().validate(bad) if i.severity == "error"]
        if found != [expected]:
            wrong.append((name, expected, found))
    assert cases >= 20
    assert wrong == []
