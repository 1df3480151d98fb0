"""Three-way merge of two edits of one FHIR resource against the version both were made from
(docs/sync.md "Applying a version"). Pure: JSON in, JSON out, no database.

Two facilities that change *different* elements of a patient offline (one the address, the other
the phone number) have not disagreed; the hub keeps both changes. Only the same element changed
differently on both sides is a true conflict, set aside for a person to decide.

An *element* is a JSON path: objects are merged key by key, recursively; an array is one element
(a whole `telecom`, `address`, `identifier` list). Arrays are compared whole on purpose: FHIR
array items have no stable identity (a changed phone and a reordered list look alike), so an
array changed on both sides is a conflict unless both made it identical. The server-owned
`meta.versionId` and `meta.lastUpdated` are stamps, not content, and are ignored.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from benhan.fhir.resource_json import JsonDecimal, dumps

Path = tuple[str, ...]
SERVER_META = ("versionId", "lastUpdated")


class _Missing:
    """An element absent on one side (distinct from JSON null, which FHIR forbids anyway)."""
    _instance = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass
class Merge:
    """The outcome of a three-way merge. `result` holds every change of both sides; on the paths
    in `conflicts` it holds the preferred side's value (ours unless told otherwise)."""
    result: dict | None
    ours: list[Path] = field(default_factory=list)        # paths only ours changed (or both, alike)
    theirs: list[Path] = field(default_factory=list)      # paths only theirs changed
    conflicts: list[Path] = field(default_factory=list)   # changed on both sides, differently

    @property
    def clean(self) -> bool:
        return not self.conflicts


def content(resource: dict | None) -> dict | None:
    """The resource without its server-owned meta stamps (what an edit can change)."""
    if resource is None:
        return None
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return resource
    out = dict(resource)
    rest = {k: v for k, v in meta.items() if k not in SERVER_META}
    if rest:
        out["meta"] = rest
    else:
        out.pop("meta")
    return out


def three_way(base: dict | None, ours: dict, theirs: dict, *, prefer: str = "ours") -> Merge:
    """Merge `theirs` into `ours`, both edited from `base` (None: both made from nothing, as when
    the same id was created at two ends — every element both set differently is a conflict)."""
    if prefer not in ("ours", "theirs"):
        raise ValueError("prefer 'ours' or 'theirs'")
    out = Merge(None)
    merged = _merge((), content(base) if base is not None else {}, content(ours), content(theirs), prefer, out)
    out.result = merged if isinstance(merged, dict) else {}
    return out


def _merge(path: Path, b: Any, o: Any, t: Any, prefer: str, out: Merge) -> Any:
    if _equal(o, t):
        if not _equal(o, b):
            out.ours.append(path)            # both made the same change
        return o
    if _equal(o, b):
        out.theirs.append(path)
        return t
    if _equal(t, b):
        out.ours.append(path)
        return o
    # Changed on both sides, differently: look inside objects, nowhere else. An object removed on
    # one side is the removal of each of its members (so a member the other side added survives).
    if all(isinstance(x, dict) or x is MISSING for x in (b, o, t)):
        base, mine, other = (x if isinstance(x, dict) else {} for x in (b, o, t))
        merged = {}
        for key in _keys(base, mine, other):
            value = _merge(path + (key,), base.get(key, MISSING), mine.get(key, MISSING), other.get(key, MISSING),
                           prefer, out)
            if value is not MISSING:
                merged[key] = value
        return merged if merged or not path else MISSING     # FHIR has no empty objects
    out.conflicts.append(path)
    return o if prefer == "ours" else t


def _keys(*dicts: dict) -> list[str]:
    """Keys in the order ours, then theirs, then base: the merged JSON reads like the edits."""
    seen: dict[str, None] = {}
    for d in (dicts[1], dicts[2], dicts[0]):
        for k in d:
            seen.setdefault(k, None)
    return list(seen)


_NUMBERS = (float, JsonDecimal)


def _text(number: float) -> bytes:
    return number.text.encode() if type(number) is JsonDecimal else dumps(number)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality that keeps what FHIR keeps: true is not 1, and a decimal is its text (0.40 is
    not 0.4, docs/fhir_api.md)."""
    if type(a) in _NUMBERS and type(b) in _NUMBERS:
        # A decimal read back from the store can be a plain float (when its text is the float's
        # own: resource_json's fast path) and the same decimal sent by a client a JsonDecimal.
        return _text(a) == _text(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, JsonDecimal):
        return a.text == b.text
    return a is b if a is MISSING else a == b


def same(a: dict | None, b: dict | None) -> bool:
    """Whether two versions hold the same content (stamps aside)."""
    return _equal(content(a), content(b))


def value_at(resource: dict | None, path: Path) -> Any:
    """The value at a path, or MISSING."""
    node: Any = resource if resource is not None else MISSING
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
    return node


def differences(a: dict | None, b: dict | None) -> list[Path]:
    """The element paths at which two versions differ (objects by key, arrays whole): what a
    reviewer needs to see side by side."""
    out: list[Path] = []
    _diff((), content(a) if a is not None else {}, content(b) if b is not None else {}, out)
    return out


def _diff(path: Path, a: Any, b: Any, out: list[Path]) -> None:
    if _equal(a, b):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in _keys({}, a, b):
            _diff(path + (key,), a.get(key, MISSING), b.get(key, MISSING), out)
        return
    out.append(path)


DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
NODE_VERSION_SYSTEM = "urn:benhan:sync:node-version"     # a node's version the hub holds in its queue


def provenance(res_type: str, res_id: str, version: int, *, held: int, base: int, node: str, node_version: int,
               conflict: int, recorded: str, hub: str = "hub") -> dict:
    """The record of an automatic merge: version `version` of the resource was made by the hub from
    its version `held` and the node's version `node_version`, both edited from version `base`. The
    node's version is kept in the hub's review queue as row `conflict` (it never held that number)."""
    target = f"{res_type}/{res_id}"
    return {
        "resourceType": "Provenance", "id": str(uuid.uuid4()),
        "target": [{"reference": f"{target}/_history/{version}"}],
        "recorded": recorded,
        "activity": {"coding": [{"system": DATA_OPERATION, "code": "UPDATE", "display": "revise"}],
                     "text": "Tự động gộp hai chỉnh sửa khác trường khi đồng bộ / automatic sync merge of two edits "
                             "of different elements"},
        "agent": [{"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler"}]},
                   "who": {"display": f"benhan sync ({hub})"}}],
        "entity": [
            {"role": "source", "what": {"reference": f"{target}/_history/{held}"}},
            {"role": "source", "what": {"identifier": {"system": NODE_VERSION_SYSTEM,
                                                       "value": f"{node}/{target}/{node_version}"},
                                        "display": f"{node} v{node_version} (sync conflict #{conflict})"}},
            {"role": "derivation", "what": {"reference": f"{target}/_history/{base}"}},
        ],
    }


def signed_kept_provenance(res_type: str, res_id: str, version: int, *, held: int, node: str, node_version: int,
                           conflict: int, recorded: str, hub: str = "hub") -> dict:
    """The record that version `version` is a node's signed version `node_version`, written on top
    of the hub's `held` (set aside as row `conflict`): a signed version is never replaced by a
    conflicting edit (docs/sync.md "Signed versions"). Its activity marks `version` as signed for
    the next conflict at this end (sync/signed.py)."""
    from benhan.sync.signed import KEPT_CODE, KEPT_SYSTEM
    target = f"{res_type}/{res_id}"
    return {
        "resourceType": "Provenance", "id": str(uuid.uuid4()),
        "target": [{"reference": f"{target}/_history/{version}"}],
        "recorded": recorded,
        "activity": {"coding": [{"system": KEPT_SYSTEM, "code": KEPT_CODE, "display": "signed version kept"}],
                     "text": "Giữ phiên bản đã ký số khi đồng bộ; chỉnh sửa xung đột được để riêng chờ xem xét / "
                             "the signed version kept at sync; the conflicting edit set aside for review"},
        "agent": [{"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler"}]},
                   "who": {"display": f"benhan sync ({hub})"}}],
        "entity": [
            {"role": "source", "what": {"identifier": {"system": NODE_VERSION_SYSTEM,
                                                       "value": f"{node}/{target}/{node_version}"},
                                        "display": f"{node} v{node_version} (đã ký | signed)"}},
            {"role": "removal", "what": {"reference": f"{target}/_history/{held}",
                                         "display": f"để riêng chờ xem xét | set aside (sync conflict #{conflict})"}},
        ],
    }
