"""Parsing and rewriting FHIR references (http://hl7.org/fhir/R4/references.html)."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_REF_RE = re.compile(
    r"^(?:(?P<base>https?://.+?)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?$"
)


@dataclass(frozen=True)
class Ref:
    type: str
    id: str
    version: str | None
    absolute: bool
    base: str | None


def parse_reference(text: str) -> Ref | None:
    """A literal reference 'Type/id[/_history/v]' (or an absolute URL of that shape), else None."""
    m = _REF_RE.match(text)
    if not m:
        return None
    return Ref(m["type"], m["id"], m["version"], m["base"] is not None, m["base"])


def walk_references(node: Any, visit: Callable[[dict], None]) -> None:
    """Call visit(d) for every dict holding a 'reference' string, anywhere in the resource."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            visit(node)
        for value in node.values():
            if isinstance(value, (dict, list)):
                walk_references(value, visit)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                walk_references(item, visit)


def replaced_by(patient: dict) -> str | None:
    """The id of the Patient this one was replaced by (Patient.link type replaced-by), else None
    (http://hl7.org/fhir/R4/patient.html#links)."""
    for link in patient.get("link", []):
        if link.get("type") == "replaced-by":
            ref = (link.get("other") or {}).get("reference", "")
            if ref.startswith("Patient/"):
                return ref.split("/")[1]
    return None
