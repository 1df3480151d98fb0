"""The two patch formats of PATCH (http://hl7.org/fhir/R4/http.html#patch): JSON Patch (RFC 6902,
`application/json-patch+json`) and JSON Merge Patch (RFC 7386, `application/merge-patch+json`),
which several clients send. Both give the whole patched resource, which then goes through the same
validation, versioning, If-Match and audit as any update (store.repository.patch). FHIRPath Patch
(a Parameters body) is not supported."""
from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from benhan import errors

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
FORMATS = (JSON_PATCH, MERGE_PATCH)


def apply(resource: dict, patch: Any, kind: str = JSON_PATCH) -> dict:
    """The patched copy of `resource`; InvalidPatch when the patch cannot be applied or would change
    resourceType or id."""
    if kind == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise errors.InvalidPatch("a JSON Merge Patch of a resource is a JSON object")
        try:
            patched = merge(resource, patch)
        except RecursionError:
            raise errors.InvalidPatch("the merge patch is nested too deeply") from None
    else:
        if not isinstance(patch, list):
            raise errors.InvalidPatch("a JSON Patch is an array of operations")
        try:
            patched = jsonpatch.JsonPatch(patch).apply(resource)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError,
                ValueError, AttributeError) as exc:
            raise errors.InvalidPatch(f"the patch cannot be applied: {exc}") from None
    if (not isinstance(patched, dict) or patched.get("resourceType") != resource.get("resourceType")
            or patched.get("id") != resource.get("id")):
        raise errors.InvalidPatch("a patch may not change resourceType or id")
    return patched


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386 §2 MergePatch: objects merge member by member, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge(out.get(name), value)
    return out
