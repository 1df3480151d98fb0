"""Which versions a digital signature covers, as the sync sees them (docs/sync.md "Signed versions").

A signed version must never be replaced by a conflicting edit made elsewhere (TT 13/2025: what
was signed stays as signed). A version is *signed* when it carries the signed tag (the
DocumentReference holding the signed PDF and Bundle) or a signing `Provenance` — one with a
`signature` — names it by its versioned reference (`Encounter/…/_history/3`) among its targets:
the resources the document Bundle was made from, each at the version signed.

A versioned reference is read in the numbering of the end that wrote it: a node's tentative
version 3 is not the hub's version 3. So each end asks separately about versions made here (by
Provenances made here) and versions arriving (by the Provenances arriving with them, or held here
from elsewhere).
"""
from __future__ import annotations

from benhan.fhir.resource_json import loads
from benhan.store import sync_tables as st
from benhan.store.signed_versions import is_signed

Key = tuple[str, str, int]       # (type, id, version)


KEPT_SYSTEM = "https://benhan.vn/fhir/CodeSystem/sync-activity"
KEPT_CODE = "signed-version-kept"       # the hub wrote a node's signed version on top (sync/merge.py)


def _covers(provenance: dict) -> bool:
    if provenance.get("signature"):
        return True
    return any(c.get("system") == KEPT_SYSTEM and c.get("code") == KEPT_CODE
               for c in (provenance.get("activity") or {}).get("coding") or [])


def targets(provenance: dict) -> set[Key]:
    """The versions a signing Provenance covers — or the hub's record that it kept a node's signed
    version under its own number; none for any other Provenance (a correction's, a sync merge's)."""
    if provenance.get("resourceType") != "Provenance" or not _covers(provenance):
        return set()
    out: set[Key] = set()
    for target in provenance.get("target") or []:
        parts = str(target.get("reference", "")).split("/")
        if len(parts) == 4 and parts[2] == "_history" and parts[3].isdigit():
            out.add((parts[0], parts[1], int(parts[3])))
    return out


def arriving(bodies: list[bytes | None]) -> set[Key]:
    """The versions covered by the signing Provenances among versions being applied."""
    out: set[Key] = set()
    for body in bodies:
        if body and (b'"signature"' in body or KEPT_CODE.encode() in body):
            try:
                out |= targets(loads(body))
            except ValueError:
                continue
    return out


def tagged(body: bytes | None) -> bool:
    if not body or b'"meta"' not in body:
        return False
    try:
        return is_signed(loads(body))
    except ValueError:
        return False


def stored(conn, res_type: str, res_id: str, version: int, *, origin: str | None = None,  # noqa: ANN001
           not_origin: str | None = None) -> bool:
    """Whether a signing Provenance held here covers res_type/res_id at `version`; `origin` /
    `not_origin`: only Provenances made (or not made) at that end, whose numbering they use."""
    pks = st.referrers(conn, "Provenance", "target", res_type, res_id)
    if not pks:
        return False
    if origin is not None or not_origin is not None:
        made = st.first_origins(conn, pks)
        pks = [pk for pk in pks if (origin is None or made.get(pk) == origin)
               and (not_origin is None or made.get(pk) != not_origin)]
    current = st.current_versions(conn, pks)
    for pk in pks:
        body = st.version_body(conn, pk, current[pk]) if pk in current else None     # None: deleted
        if body and (res_type, res_id, version) in arriving([body]):
            return True
    return False
