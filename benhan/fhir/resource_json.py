"""Resource JSON helpers: canonical bytes, content hash, meta stamping."""
from __future__ import annotations

import hashlib
from typing import Any

import orjson

# meta elements the server owns: they change on every version and must not make a no-op update
# look like a change.
SERVER_META = ("versionId", "lastUpdated")


def dumps(resource: Any) -> bytes:
    return orjson.dumps(resource)


def content_hash(resource: dict) -> bytes:
    """SHA-256 of the resource's canonical JSON without the server-owned meta elements."""
    meta = resource.get("meta")
    if isinstance(meta, dict) and any(k in meta for k in SERVER_META):
        stripped = {k: v for k, v in meta.items() if k not in SERVER_META}
        resource = dict(resource)
        if stripped:
            resource["meta"] = stripped
        else:
            resource.pop("meta")
    return hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).digest()


def stamp(resource: dict, version: int, last_updated: str) -> dict:
    """A copy of the resource with meta.versionId and meta.lastUpdated set, meta first after id."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = last_updated
    out = {"resourceType": resource["resourceType"]}
    if "id" in resource:
        out["id"] = resource["id"]
    out["meta"] = meta
    for k, v in resource.items():
        if k not in out:
            out[k] = v
    return out
