"""_summary and _elements (http://hl7.org/fhir/R4/search.html#summary): trimming a resource for the
response. Trimmed resources are tagged SUBSETTED as the spec asks."""
from __future__ import annotations

from benhan import errors

_SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
_ALWAYS = ("resourceType", "id", "meta")


def _tagged(resource: dict) -> dict:
    meta = dict(resource.get("meta") or {})
    meta["tag"] = list(meta.get("tag") or []) + [_SUBSETTED]
    resource["meta"] = meta
    return resource


def shape(resource: dict, summary: str | None, elements: str | None):  # noqa: ANN201
    if summary in (None, "false") and not elements:
        return resource
    if summary == "text":
        out = {k: resource[k] for k in (*_ALWAYS, "text") if k in resource}
        return _tagged(out)
    if summary == "data":
        return _tagged({k: v for k, v in resource.items() if k != "text"})
    if summary == "true":
        # Without per-element isSummary flags this keeps the identifying and status elements.
        keep = {"identifier", "status", "code", "subject", "patient", "name", "active", "gender",
                "birthDate", "effectiveDateTime", "category", "type", "date", "period", "url", "version",
                "title"}
        return _tagged({k: v for k, v in resource.items() if k in _ALWAYS or k in keep})
    if summary not in (None, "false"):
        raise errors.InvalidSearchParameter(f"_summary={summary} is not one of true, text, data, count, false",
                                            expression="_summary")
    wanted = {e.strip() for e in (elements or "").split(",") if e.strip()}
    return _tagged({k: v for k, v in resource.items() if k in _ALWAYS or k in wanted})
