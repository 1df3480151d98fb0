"""Compile the R4 core package's StructureDefinitions into benhan/fhir/data/structure-r4.json.gz.

The validator needs only a sliver of each StructureDefinition: the element tree (name, types, min, max,
contentReference), the required bindings, the expanded codes of those bindings' value sets and the
primitive types' regexes. Keeping just that makes an artifact of a few hundred kB that loads in
milliseconds, instead of shipping and parsing the whole 60 MB package at start-up.

Sources: StructureDefinition-*.json with derivation "specialization" (every resource and datatype of the
base spec) plus the roots Element and Resource; profiles ("constraint") and logical models are left out.
ValueSet-*.json / CodeSystem-*.json expand the required bindings.

A required value set is recorded as not checkable (and the validator skips it) when the package cannot
expand it: it is missing, draws on a code system the package does not hold in full (BCP-13 mime types,
ISO 4217 currencies, UCUM, LOINC…) or uses a filter. The list is printed by ``--report``.

Output is deterministic (sorted keys, gzip mtime 0), so a rebuild from the same package is byte-identical.

Usage: python tools/build_structure_definitions.py [--report]
"""
from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.fhir_packages import core_dir  # noqa: E402

OUTPUT = ROOT / "benhan" / "fhir" / "data" / "structure-r4.json.gz"

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"

# The JSON representation of a primitive follows from the FHIRPath system type at the root of its
# derivation chain (positiveInt → integer, …); everything else is a JSON string.
JSON_KIND_ROOTS = {"boolean": "boolean", "integer": "integer", "decimal": "decimal"}

# FHIR R4 §2.6.1 (datatypes.html#string): "strings SHALL NOT exceed 1MB (1024*1024 characters)".
# The package also records it as maxLength on string.value; the constant is the fallback.
MAX_STRING_LENGTH = 1024 * 1024


def _load(folder: Path, prefix: str) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob(f"{prefix}-*.json"))]


def _type_code(element: dict, type_: dict) -> str:
    code = type_["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        # Elements such as Element.id and Extension.url carry a FHIRPath system type in the snapshot;
        # the extension says which FHIR primitive they are.
        for ext in type_.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                code = ext["valueUrl"]
                break
        else:
            code = "string"
    if element.get("base", {}).get("path") == "Resource.id":
        # R4 types Resource.id as a System.String, yet the spec's id rule (resource.html#id) applies.
        code = "id"
    return code


def _element(element: dict) -> dict:
    out: dict = {"min": element.get("min", 0), "max": element.get("max", "*")}
    if "contentReference" in element:
        out["ref"] = element["contentReference"].lstrip("#")
    else:
        out["types"] = sorted({_type_code(element, t) for t in element.get("type", [])})
    if element.get("isSummary"):
        out["summary"] = True  # part of _summary=true (search.html#summary)
    if "xmlAttr" in element.get("representation", []):
        out["attr"] = True  # a plain JSON value: no "_name" sibling for id/extension
    binding = element.get("binding") or {}
    if binding.get("strength") == "required" and binding.get("valueSet"):
        out["binding"] = binding["valueSet"].split("|")[0]
    return out


def _primitive(definition: dict, by_name: dict[str, dict]) -> dict:
    value = next(e for e in definition["snapshot"]["element"] if e["path"] == definition["type"] + ".value")
    out: dict = {}
    for ext in value.get("type", [{}])[0].get("extension", []):
        if ext.get("url") == REGEX_EXT:
            out["regex"] = ext["valueString"]
    if "maxLength" in value:
        out["maxLength"] = value["maxLength"]
    name = definition["type"]
    while name not in JSON_KIND_ROOTS and name in by_name:
        base = by_name[name].get("baseDefinition", "").rsplit("/", 1)[-1]
        if base == "Element" or not base:
            break
        name = base
    out["json"] = JSON_KIND_ROOTS.get(name, "string")
    return out


def _structure(definitions: list[dict]) -> tuple[dict, dict, list[str]]:
    by_name = {d["type"]: d for d in definitions}
    types: dict = {}
    primitives: dict = {}
    resource_types: list[str] = []
    for d in definitions:
        name = d["type"]
        entry: dict = {
            "kind": d["kind"],
            "abstract": bool(d.get("abstract")),
            "elements": {e["path"]: _element(e) for e in d["snapshot"]["element"][1:]},
        }
        base = d.get("baseDefinition", "").rsplit("/", 1)[-1]
        if base:
            entry["base"] = base
        types[name] = entry
        if d["kind"] == "primitive-type":
            primitives[name] = _primitive(d, by_name)
        if d["kind"] == "resource" and not d.get("abstract"):
            resource_types.append(name)
    return types, primitives, sorted(resource_types)


def _flatten(concepts: list[dict]) -> list[str]:
    codes: list[str] = []
    for c in concepts:
        codes.append(c["code"])
        codes.extend(_flatten(c.get("concept", [])))
    return codes


def _expand(url: str, value_sets: dict, code_systems: dict, seen: frozenset = frozenset()) -> dict | str:
    """{system: sorted codes} for ``url``, or the reason it cannot be expanded from the package."""
    vs = value_sets.get(url)
    if vs is None:
        return "value set not in the core package"
    if url in seen:
        return "value set includes itself"
    compose = vs.get("compose") or {}
    if compose.get("exclude"):
        return "uses exclude"
    result: dict[str, set[str]] = {}
    for include in compose.get("include", []):
        if include.get("filter"):
            return f"uses a filter on {include.get('system')}"
        if include.get("valueSet"):
            if include.get("system"):
                return "intersects a code system with value sets"
            for sub_url in include["valueSet"]:
                sub = _expand(sub_url.split("|")[0], value_sets, code_systems, seen | {url})
                if isinstance(sub, str):
                    return f"includes {sub_url}: {sub}"
                for system, codes in sub.items():
                    result.setdefault(system, set()).update(codes)
            continue
        system = include.get("system")
        if not system:
            return "include without a system"
        if include.get("concept"):
            codes = [c["code"] for c in include["concept"]]
        else:
            cs = code_systems.get(system)
            if cs is None or cs.get("content") != "complete":
                return f"draws on the external code system {system}"
            codes = _flatten(cs.get("concept", []))
        result.setdefault(system, set()).update(codes)
    if not result:
        return "expands to nothing"
    return {system: sorted(codes) for system, codes in result.items()}


def build(core: Path) -> dict:
    definitions = [
        d
        for d in _load(core, "StructureDefinition")
        if d.get("kind") != "logical"
        and (d.get("derivation") == "specialization" or d.get("type") in ("Element", "Resource"))
    ]
    types, primitives, resource_types = _structure(definitions)
    value_sets = {vs["url"]: vs for vs in _load(core, "ValueSet")}
    code_systems = {cs["url"]: cs for cs in _load(core, "CodeSystem")}
    bound = sorted(
        {e["binding"] for t in types.values() for e in t["elements"].values() if "binding" in e}
    )
    expanded: dict = {}
    for url in bound:
        result = _expand(url, value_sets, code_systems)
        expanded[url] = {"notCheckable": result} if isinstance(result, str) else {"codes": result}
    return {
        "fhirVersion": "4.0.1",
        "resourceTypes": resource_types,
        "types": types,
        "primitives": primitives,
        "valueSets": expanded,
        "rules": {
            "maxStringLength": primitives.get("string", {}).get("maxLength", MAX_STRING_LENGTH),
            "idRegex": primitives["id"]["regex"],
            "integerMin": -(2**31),
            "integerMax": 2**31 - 1,
        },
    }


def serialise(artifact: dict) -> bytes:
    text = json.dumps(artifact, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    buffer = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of anything that changes between builds.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


def write(artifact: dict, path: Path = OUTPUT) -> bytes:
    data = serialise(artifact)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def main(argv: list[str]) -> int:
    artifact = build(core_dir())
    data = write(artifact)
    print(f"{OUTPUT.relative_to(ROOT)}: {len(data):,} bytes, {len(artifact['resourceTypes'])} resource types")
    if "--report" in argv:
        for url, vs in sorted(artifact["valueSets"].items()):
            if "notCheckable" in vs:
                print(f"not checkable: {url} — {vs['notCheckable']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
