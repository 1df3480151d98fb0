"""Compile R4's official search parameters and CompartmentDefinition resources into
benhan/fhir/data/search-r4.json.gz.

The parameters come from the spec's search-parameters.json only (the Bundle `searchParams`, 1,375
SearchParameters; hl7.fhir.r4.examples ships it as Bundle-searchParams.json). The core package also
holds example SearchParameters (`example-reference` is a *Condition.subject* that points to
Organization, `example` an `_id`, `example-extension` a Patient `part-agree`) and profiles'
extension parameters; globbing its SearchParameter-*.json let those replace the official ones.

For each resource type: its search parameters (code, type, the part of the FHIRPath expression
that applies to that type, targets, composite components) and its membership in each compartment.
Deterministic output, so a rebuild from the same package is byte-identical.

Usage: python tools/build_search_parameters.py
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benhan.fhir.paths import split_union  # noqa: E402
from tools.fhir_packages import ROOT, core_dir, examples_dir  # noqa: E402

OUT = ROOT / "benhan" / "fhir" / "data" / "search-r4.json.gz"


def expression_for(base: str, expression: str, bases: list[str]) -> str:
    if len(bases) == 1:
        return expression
    mine = [p for p in split_union(expression)
            if p.lstrip("(").startswith(base + ".") or p.lstrip("(") == base]
    return " | ".join(mine)


def official_search_parameters(bundle_file: Path) -> dict[str, dict]:
    """The spec's search-parameters.json: url → SearchParameter. Each code is unique per base."""
    bundle = json.loads(bundle_file.read_text(encoding="utf-8"))
    if bundle.get("id") != "searchParams" or bundle.get("resourceType") != "Bundle":
        raise SystemExit(f"{bundle_file}: not the R4 search-parameters.json bundle")
    by_url: dict[str, dict] = {}
    for entry in bundle["entry"]:
        sp = entry["resource"]
        if sp.get("resourceType") == "SearchParameter":
            by_url[sp["url"]] = sp
    seen: dict[tuple[str, str], str] = {}
    for sp in by_url.values():
        for base in sp.get("base", []):
            other = seen.setdefault((base, sp["code"]), sp["url"])
            if other != sp["url"]:
                raise SystemExit(f"{base}.{sp['code']} is defined twice: {other} and {sp['url']}")
    return by_url


def search_parameters_bundle() -> Path:
    return examples_dir() / "Bundle-searchParams.json"


def build(package: Path, bundle_file: Path) -> dict:
    params: dict[str, dict[str, dict]] = {}
    by_url = official_search_parameters(bundle_file)
    for sp in by_url.values():
        # A few SearchParameters in the package describe extensions and carry neither base nor
        # expression (XPath only); nothing can index them, so they are left out.
        for base in sp.get("base", []):
            entry = {"type": sp["type"], "url": sp["url"]}
            if sp.get("expression"):
                entry["expression"] = expression_for(base, sp["expression"], sp["base"])
            if sp.get("target"):
                entry["target"] = sorted(sp["target"])
            if sp.get("component"):
                entry["component"] = [
                    {"code": by_url[c["definition"]]["code"], "expression": c["expression"]}
                    for c in sp["component"] if c["definition"] in by_url
                ]
            params.setdefault(base, {})[sp["code"]] = entry
    compartments: dict[str, dict[str, list[str]]] = {}
    for file in sorted(package.glob("CompartmentDefinition-*.json")):
        cd = json.loads(file.read_text(encoding="utf-8"))
        compartments[cd["code"]] = {r["code"]: r["param"] for r in cd["resource"] if r.get("param")}
    return {"fhirVersion": "4.0.1", "source": "hl7.fhir.r4.core 4.0.1",
            "parameters": params, "compartments": compartments}


def main() -> None:
    data = build(core_dir(), search_parameters_bundle())
    raw = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
