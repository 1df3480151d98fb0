"""_summary and _elements (http://hl7.org/fhir/R4/search.html#summary): trimming a resource for the
response. Trimmed resources are tagged SUBSETTED as the spec asks."""
from __future__ import annotations

from functools import cache

from benhan import errors
from benhan.fhir.definitions import load_structure

_SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
_ALWAYS = ("resourceType", "id", "meta")


def _tagged(resource: dict) -> dict:
    meta = dict(resource.get("meta") or {})
    meta["tag"] = list(meta.get("tag") or []) + [_SUBSETTED]
    resource["meta"] = meta
    return resource


@cache
def _summary_elements(resource_type: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """Top-level elements marked isSummary in the base definition: (plain names, choice stems)."""
    t = load_structure().types.get(resource_type)
    names, stems = set(), []
    for path, e in (t.elements.items() if t else ()):
        if path.count(".") == 1 and e.summary:
            if e.is_choice:
                stems.append(e.name[:-3])
            else:
                names.add(e.name)
    return frozenset(names), tuple(stems)


def _is_summary(resource_type: str, key: str) -> bool:
    names, stems = _summary_elements(resource_type)
    name = key[1:] if key.startswith("_") else key     # _birthDate carries birthDate's extensions
    return name in names or any(name.startswith(s) and name[len(s):len(s) + 1].isupper() for s in stems)


def shape(resource: dict, summary: str | None, elements: str | None) -> dict:
    if summary in (None, "false") and not elements:
        return resource
    if summary == "text":
        return _tagged({k: resource[k] for k in (*_ALWAYS, "text") if k in resource})
    if summary == "data":
        return _tagged({k: v for k, v in resource.items() if k != "text"})
    if summary == "true":
        rtype = resource.get("resourceType", "")
        return _tagged({k: v for k, v in resource.items() if k in _ALWAYS or _is_summary(rtype, k)})
    if summary not in (None, "false"):
        raise errors.InvalidSearchParameter(f"_summary={summary} is not one of true, text, data, count, false",
                                            expression="_summary")
    wanted = {e.strip() for e in (elements or "").split(",") if e.strip()}
    # _elements names top-level elements; a choice element is named without its type (value).
    return _tagged({k: v for k, v in resource.items() if k in _ALWAYS or k.lstrip("_") in wanted or any(
        k.startswith(w) and k[len(w):len(w) + 1].isupper() for w in wanted)})
