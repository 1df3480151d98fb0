"""Shared pieces of the CodeSystem/ValueSet builders (http://hl7.org/fhir/R4/codesystem.html).

Builders are pure and deterministic: the same source files give byte-identical resources (no
timestamps, fixed order), which is what lets `terminology load` be a no-op when nothing changed.
"""
from __future__ import annotations

from typing import Any

from benhan.terminology.sources import Source

VN_CORE = "http://fhir.hl7.org.vn/core"        # vietnam.md §2: canonical base of the VN Core IG
BENHAN = "https://benhan.vn/fhir"
CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties"

# Standard concept properties (http://hl7.org/fhir/R4/codesystem-concept-properties.html).
PARENT = {"code": "parent", "uri": f"{CONCEPT_PROPERTIES}#parent", "type": "code",
          "description": "The concept one level up in the hierarchy (is-a)"}
NOT_SELECTABLE = {"code": "notSelectable", "uri": f"{CONCEPT_PROPERTIES}#notSelectable", "type": "boolean",
                  "description": "A grouping concept: not to be used to code a record"}
DEPRECATED = {"code": "deprecated", "uri": f"{CONCEPT_PROPERTIES}#deprecated", "type": "dateTime",
              "description": "The date the concept stopped being used for new data"}


def prop_def(code: str, type_: str, description: str) -> dict:
    return {"code": code, "type": type_, "description": description}


def prop(code: str, value: Any, type_: str = "string") -> dict:
    key = {"string": "valueString", "code": "valueCode", "boolean": "valueBoolean",
           "dateTime": "valueDateTime", "integer": "valueInteger"}[type_]
    return {"code": code, key: value}


def concept(code: str, display: str | None = None, *, en: str | None = None,
            alt_vi: str | None = None, properties: list[dict] | None = None) -> dict:
    c: dict[str, Any] = {"code": code}
    if display:
        c["display"] = display
    designations = []
    if en:
        designations.append({"language": "en", "value": en})
    if alt_vi and alt_vi != display:
        designations.append({"language": "vi", "value": alt_vi})
    if designations:
        c["designation"] = designations
    if properties:
        c["property"] = properties
    return c


def describe(summary: str, *sources: Source) -> str:
    parts = [summary, ""]
    for s in sources:
        parts.append(f"Source: {s.title}. Rows from {s.origin} (benhan/terminology/data/{s.file}.gz).")
        if s.defects:
            parts.append(f"Known defects: {s.defects}")
    return "\n\n".join(p for p in parts if p) + "\n"


def code_system(*, id: str, url: str, version: str, name: str, title: str, publisher: str,
                description: str, concepts: list[dict], properties: list[dict] = (),  # type: ignore[assignment]
                date: str | None = None, status: str = "active", content: str = "complete",
                hierarchy: str | None = None, language: str = "vi", value_set: str | None = None) -> dict:
    cs: dict[str, Any] = {"resourceType": "CodeSystem", "id": id, "language": language, "url": url,
                          "version": version, "name": name, "title": title, "status": status,
                          "experimental": False}
    if date:
        cs["date"] = date
    cs["publisher"] = publisher
    cs["description"] = description
    cs["caseSensitive"] = True
    if value_set:
        cs["valueSet"] = value_set
    if hierarchy:
        cs["hierarchyMeaning"] = hierarchy
    cs["content"] = content
    cs["count"] = len(concepts)
    if properties:
        cs["property"] = list(properties)
    cs["concept"] = concepts
    return cs


def value_set_for(cs: dict, *, id: str, url: str, exclude: list[str] = ()) -> dict:  # type: ignore[assignment]
    """The value set of every code of `cs` (that version), less `exclude` (grouping concepts)."""
    include = {"system": cs["url"], "version": cs["version"]}
    compose: dict[str, Any] = {"include": [include]}
    if exclude:
        compose["exclude"] = [{**include, "concept": [{"code": c} for c in exclude]}]
    vs = {"resourceType": "ValueSet", "id": id, "language": cs["language"], "url": url,
          "version": cs["version"], "name": cs["name"] + "VS", "title": cs["title"],
          "status": cs["status"], "experimental": False}
    if "date" in cs:
        vs["date"] = cs["date"]
    vs.update({"publisher": cs["publisher"],
               "description": f"All codes of {cs['title']} ({cs['url']}|{cs['version']})"
                              + (", less the grouping concepts" if exclude else "") + ".",
               "compose": compose})
    return vs
