"""Applying versions made elsewhere: the hub applying a node's push, a node applying the hub's pull
(docs/sync.md "Applying a version"). Both run inside one transaction their caller holds, so a
page is applied whole or not at all, together with its cursor.

The rule at both ends: a version is applied as it was made (same number, same bytes) when it was
edited from the version this end holds. When it was not, this end's slot is kept; if the two edits
changed different elements (sync/merge.py, three-way against the version both were made from) the
merge is written on top as a new version, and only the same element changed differently is set
aside into the review queue (sync_conflict, one row per version, never replaced) — never silently
overwritten. Append-only data (Observation, a closed Encounter) needs no review: the set-aside edit
is written again on top, as a new version (a merge), and that is all.

At a node, the hub numbers the versions: a local version the hub has not taken (it holds another
one at that number) is tentative, and is moved aside when the hub's arrives.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import orjson

from benhan.fhir.datetimes import format_instant, from_us
from benhan.fhir.indexing import extract
from benhan.fhir.resource_json import content_hash, dumps, loads, stamp
from benhan.store import sync_tables as st
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store
from benhan.store.sync_tables import RemoteWrite, Slot
from benhan.sync import merge, signed
from benhan.sync.wire import Version
from benhan.vn.identifiers import CCCD_SYSTEM

log = logging.getLogger(__name__)
APPEND_ONLY = frozenset({"Observation", "AuditEvent", "Provenance", "Media"})
CLOSED_ENCOUNTER = frozenset({"finished", "cancelled", "entered-in-error"})


class Invalid(Exception):
    """A version that cannot be stored (malformed or invalid FHIR)."""


def append_only(res_type: str, body: bytes | None) -> bool:
    if res_type in APPEND_ONLY:
        return True
    if res_type == "Encounter" and body:
        return orjson.loads(body).get("status") in CLOSED_ENCOUNTER
    return False


def prepare(store: Store, v: Version, origin: str, *, validate: bool) -> RemoteWrite:
    """Check, hash and index a version before the transaction (CPU work, no database)."""
    if v.deleted:
        return RemoteWrite(v.res_type, v.res_id, v.version, v.base, True, "DELETE", v.last_updated, None, b"",
                           None, origin, v.resolves)
    try:
        body = loads(v.body or b"")
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"{v.res_type}/{v.res_id}: not JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("resourceType") != v.res_type or body.get("id") != v.res_id:
        raise Invalid(f"{v.res_type}/{v.res_id}: the body is another resource")
    if v.res_type not in store.resource_types:
        raise Invalid(f"{v.res_type} is not a FHIR R4 resource type")
    if validate:
        issues = store.validate(body)
        if issues:
            raise Invalid(f"{v.res_type}/{v.res_id}: {issues[0].message}")
    return RemoteWrite(v.res_type, v.res_id, v.version, v.base, False, v.method, v.last_updated, v.body,
                       content_hash(body), extract(body), origin, v.resolves)


def restamped(w: RemoteWrite, version: int, base: int, now_us: int, origin: str) -> RemoteWrite:
    """The same content as a new version on top (a merge)."""
    if w.deleted or w.body is None:
        return RemoteWrite(w.res_type, w.res_id, version, base, True, "DELETE", now_us, None, b"", None, origin)
    body = dumps(stamp(loads(w.body), version, format_instant(from_us(now_us))))
    return RemoteWrite(w.res_type, w.res_id, version, base, False, "PUT", now_us, body, w.content_hash,
                       w.index, origin)


@dataclass
class Applied:
    applied: int = 0
    skipped: int = 0
    merged: int = 0
    conflicts: list[dict] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    patients: set[str] = field(default_factory=set)      # Patients written (hub: scope, duplicates)
    events: list[AuditRecord] = field(default_factory=list)   # per-resource merges and conflicts


class _Writer:
    """Buffers writes so that many go in one statement per table; flushed before a key repeats or
    before anything reads or changes rows of a buffered resource."""

    def __init__(self, conn, slots: dict[tuple[str, str], Slot], now_us: int):  # noqa: ANN001
        self.conn, self.slots, self.now_us = conn, slots, now_us
        self.pending: list[RemoteWrite] = []
        self.keys: set[tuple[str, str]] = set()

    def add(self, w: RemoteWrite) -> None:
        key = (w.res_type, w.res_id)
        if key in self.keys:
            self.flush()
        self.pending.append(w)
        self.keys.add(key)

    def flush(self) -> None:
        if self.pending:
            st.write_remote(self.conn, self.pending, self.slots, self.now_us)
            self.pending, self.keys = [], set()


# --- the hub applies a node's push ------------------------------------------------------------------

def apply_push(conn, store: Store, node_id: str, writes: list[tuple[Version, RemoteWrite | Invalid]],  # noqa: ANN001
               now_us: int) -> Applied:
    """Apply a node's versions (already filtered to those not applied before), in its order."""
    out = Applied()
    slots = st.current(conn, list({(v.res_type, v.res_id) for v, _ in writes}), lock=not store.db.is_sqlite)
    # This node's open rows only, found by the database (not every node's, cut at a limit).
    frozen = {(r.res_type, r.res_id): r for r in st.conflicts(conn, "open", limit=10**9, origin=node_id)}
    writer = _Writer(conn, slots, now_us)
    # The node's versions its signatures in this push cover (by the node's own numbering).
    node_signed = signed.arriving([w.body for v, w in writes if v.res_type == "Provenance" and not isinstance(w, Invalid)])
    for v, w in writes:
        key = (v.res_type, v.res_id)
        if isinstance(w, Invalid):
            writer.flush()
            held = slots.get(key)
            st.add_conflict(conn, res_type=v.res_type, res_id=v.res_id, kind="invalid", origin_node=node_id,
                            base_version=v.base, kept_version=held.version if held else 0,
                            their_versions=str(v.version), their_deleted=v.deleted, their_body=v.body,
                            their_agent=v.agent, their_seq=v.seq, detected_at=now_us)
            out.invalid.append({"seq": v.seq, "type": v.res_type, "id": v.res_id, "problem": str(w)})
            continue
        if key in writer.keys:      # its earlier version is still buffered: store it first
            writer.flush()
        slot = slots.get(key)
        held = slot.version if slot else 0
        base = v.base or 0
        if key in frozen:
            # This node's edits of the resource are under review: only a resolution, made from the
            # version the hub holds, goes through; anything else joins the set-aside edit.
            if v.resolves and held == base:
                writer.add(w)
                writer.flush()
                st.close_conflicts(conn, v.res_type, v.res_id, version=v.version, by=v.agent or node_id,
                                   now_us=now_us)
                del frozen[key]
                out.applied += 1
            else:
                # A further edit joins the queue as a row of its own, with the version it was made
                # from: no set-aside version is ever replaced (docs/sync.md "Conflicts") — unless it
                # is signed and the hub's is not: then it is kept, and the hub's is set aside.
                writer.flush()
                if _signed_side(conn, v, w, slot, node_signed) == "node":
                    _signed_kept(conn, store, node_id, v, w, slot, out, writer, now_us)
                else:
                    _edited_elsewhere(conn, store, node_id, v, w, slot, out, frozen, writer, now_us)
            continue
        if held == base:
            writer.add(w)
            out.applied += 1
            if v.res_type == "Patient" and not v.deleted:
                out.patients.add(v.res_id)
            if v.resolves:
                writer.flush()
                st.close_conflicts(conn, v.res_type, v.res_id, version=v.version, by=v.agent or node_id,
                                   now_us=now_us)
            continue
        writer.flush()
        side = _signed_side(conn, v, w, slot, node_signed)
        if side == "node":
            _signed_kept(conn, store, node_id, v, w, slot, out, writer, now_us)
            continue
        if side is None and append_only(v.res_type, v.body):
            merged = restamped(w, held + 1, held, now_us, store.node_id)
            writer.add(merged)
            writer.flush()
            st.add_conflict(conn, res_type=v.res_type, res_id=v.res_id, kind="merged", status="merged",
                            origin_node=node_id, base_version=v.base, kept_version=held,
                            their_versions=str(v.version), their_deleted=v.deleted, their_body=v.body,
                            their_agent=v.agent, their_seq=v.seq, detected_at=now_us, resolved_version=held + 1)
            out.merged += 1
            continue
        _edited_elsewhere(conn, store, node_id, v, w, slot, out, frozen, writer, now_us, merge_ok=side is None)
    writer.flush()
    return out


def _signed_side(conn, v: Version, w: RemoteWrite, slot: Slot | None, node_signed: set) -> str | None:  # noqa: ANN001
    """Which side of a conflicting edit is signed (docs/sync.md "Signed versions"): "hub" when the
    version the hub holds is (it keeps its place whatever the node's is), "node" when only the node's
    is, None when neither."""
    held_body = st.version_body(conn, slot.pk, slot.version) if slot is not None and not slot.deleted else None
    if held_body is not None and (signed.tagged(held_body) or signed.stored(conn, v.res_type, v.res_id, slot.version)):
        return "hub"
    if not v.deleted and ((v.res_type, v.res_id, v.version) in node_signed or signed.tagged(v.body)):
        return "node"
    return None


def _signed_kept(conn, store: Store, node_id: str, v: Version, w: RemoteWrite, slot: Slot | None,  # noqa: ANN001
                 out: Applied, writer: _Writer, now_us: int) -> None:
    """The node's version is signed and conflicts with the hub's unsigned one: the signed content is
    written on top as version held + 1 (with a Provenance naming the node's version), and the hub's
    version is set aside for review — a row of the hub's own, which resolving can bring back on top."""
    held = slot.version if slot else 0
    held_body = st.version_body(conn, slot.pk, held) if slot is not None and not slot.deleted else None
    base_body, sure = _push_base(conn, node_id, v, slot)
    writer.add(restamped(w, held + 1, held, now_us, store.node_id))
    writer.flush()
    pk = st.add_conflict(conn, res_type=v.res_type, res_id=v.res_id, kind="conflict", origin_node=store.node_id,
                         base_version=v.base, kept_version=held + 1, their_versions=str(held),
                         their_deleted=held_body is None, their_body=held_body, their_agent=None, their_seq=None,
                         detected_at=now_us, base_body=base_body if sure else None)
    writer.add(_new_resource(merge.signed_kept_provenance(
        v.res_type, v.res_id, held + 1, held=held, node=node_id, node_version=v.version, conflict=pk,
        recorded=format_instant(from_us(now_us))), now_us, store.node_id))
    writer.flush()
    out.conflicts.append({"seq": v.seq, "type": v.res_type, "id": v.res_id, "kept": held + 1, "signed": "node"})
    out.events.append(_event(v, held + 1, "sync-conflict", "4", node_id, v.agent or "", loads(v.body or b"{}"),
                             now_us, {"conflict": pk, "kept": held + 1, "signed": node_id, "base": v.base,
                                      "set_aside": held, "set_aside_origin": store.node_id}))


def _edited_elsewhere(conn, store: Store, node_id: str, v: Version, w: RemoteWrite, slot: Slot | None,  # noqa: ANN001
                      out: Applied, frozen: dict, writer: _Writer, now_us: int, *, merge_ok: bool = True) -> None:
    """A node's edit that was not made from the version the hub holds, or that arrives while an
    earlier edit of the node waits for review. Different elements changed on the two sides: merged
    at once (a new version on top, a Provenance, a "merged" row keeping the node's version, an
    audit event). The same element changed differently, or a base that cannot be known for sure:
    set aside as a row of its own — audited, never replacing another."""
    key = (v.res_type, v.res_id)
    held = slot.version if slot else 0
    held_body = st.version_body(conn, slot.pk, held) if slot is not None and not slot.deleted else None
    base_body, sure = _push_base(conn, node_id, v, slot)
    agent = v.agent or ""
    # A signed version is never merged into: the other edit waits for review (merge_ok False).
    if merge_ok and key not in frozen and sure and base_body is not None and held_body is not None and not v.deleted:
        result = merge.three_way(loads(base_body), loads(held_body), loads(v.body or b"{}"))
        merged = _merged_write(store, v, result, held, now_us) if result.clean else None
        if merged is not None:
            writer.add(merged)
            writer.flush()
            pk = st.add_conflict(conn, res_type=v.res_type, res_id=v.res_id, kind="merged", status="merged",
                                 origin_node=node_id, base_version=v.base, kept_version=held,
                                 their_versions=str(v.version), their_deleted=False, their_body=v.body,
                                 their_agent=v.agent, their_seq=v.seq, detected_at=now_us, resolved_at=now_us,
                                 resolved_by="auto-merge", resolved_version=held + 1, base_body=base_body)
            provenance = merge.provenance(v.res_type, v.res_id, held + 1, held=held, base=v.base or 0,
                                          node=node_id, node_version=v.version, conflict=pk,
                                          recorded=format_instant(from_us(now_us)))
            writer.add(_new_resource(provenance, now_us, store.node_id))
            writer.flush()
            out.merged += 1
            if v.res_type == "Patient":
                out.patients.add(v.res_id)
            out.events.append(_event(v, held + 1, "sync-merge", "0", node_id, agent, loads(merged.body), now_us, {
                "conflict": pk, "merged": {"hub": held, node_id: v.version, "base": v.base},
                "ours": _paths(result.ours), "theirs": _paths(result.theirs)}))
            return
    pk = st.add_conflict(conn, res_type=v.res_type, res_id=v.res_id, kind="conflict", origin_node=node_id,
                         base_version=v.base, kept_version=held, their_versions=str(v.version),
                         their_deleted=v.deleted, their_body=v.body, their_agent=v.agent, their_seq=v.seq,
                         detected_at=now_us, base_body=base_body if sure else None)
    frozen[key] = st.conflict(conn, pk)
    out.conflicts.append({"seq": v.seq, "type": v.res_type, "id": v.res_id, "kept": held})
    body = loads(v.body) if v.body else (loads(held_body) if held_body else {})
    out.events.append(_event(v, v.version, "sync-conflict", "4", node_id, agent, body, now_us,
                             {"conflict": pk, "kept": held, "base": v.base, "set_aside": v.version}))


def _push_base(conn, node_id: str, v: Version, slot: Slot | None) -> tuple[bytes | None, bool]:  # noqa: ANN001
    """The JSON the node edited from, and whether it is known for sure. The hub's version of that
    number, unless the node says the base was its own version and the hub set that one aside: then
    the set-aside body. A creation (no base) has none and is never merged."""
    if not v.base or slot is None:
        return None, False
    if (slot.pk, v.base) in st.own_based(conn, node_id, [(slot.pk, v.base)]) or not v.base_own:
        return st.version_body(conn, slot.pk, v.base), True
    row = st.set_aside_version(conn, node_id, v.res_type, v.res_id, v.base)
    if row is None or row.their_deleted or row.their_body is None:
        return None, False
    return bytes(row.their_body), True


def _merged_write(store: Store, v: Version, result: merge.Merge, held: int, now_us: int) -> RemoteWrite | None:
    """The merge as version held + 1; None if the result is not valid FHIR (two choices of one
    element, e.g. deceasedBoolean and deceasedDateTime: a conflict then). Not marked as resolving:
    the node that made the edit closes its row by content (_absorbed), other nodes keep theirs."""
    body = stamp(result.result, held + 1, format_instant(from_us(now_us)))
    if store.validate(body):
        return None
    return RemoteWrite(v.res_type, v.res_id, held + 1, held, False, "PUT", now_us, dumps(body), content_hash(body),
                       extract(body), store.node_id)


def _new_resource(body: dict, now_us: int, origin: str) -> RemoteWrite:
    stamped = stamp(body, 1, format_instant(from_us(now_us)))
    return RemoteWrite(stamped["resourceType"], stamped["id"], 1, None, False, "POST", now_us, dumps(stamped),
                       content_hash(stamped), extract(stamped), origin)


def _paths(paths: list) -> list[str]:
    return [".".join(p) for p in paths]


def _event(v: Version, version: int, subtype: str, outcome: str, node_id: str, agent: str, body: dict,
           now_us: int, detail: dict) -> AuditRecord:
    """A per-resource sync event naming the patient whose record it is (the node's own "update"
    event says only that the edit was made there)."""
    detail = {"node": node_id, "seq": v.seq, **detail}      # seq: the sender's
    return AuditRecord(recorded=now_us, interaction="update", outcome=outcome, agent=agent, res_type=v.res_type,
                       res_id=v.res_id, version=version, subtype=subtype, patients=_patients_in(v.res_type, v.res_id, body),
                       detail=json.dumps(detail, ensure_ascii=False))


def _patients_in(res_type: str, res_id: str, body: dict) -> tuple[str, ...]:
    if res_type == "Patient":
        return (res_id,)
    found = set()
    for key in ("subject", "patient", "beneficiary"):
        ref = body.get(key)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            found.add(ref["reference"].split("/")[1])
    return tuple(sorted(found))


def find_duplicates(conn, writes: list[RemoteWrite], patients: set[str], now_us: int) -> int:  # noqa: ANN001
    """Link Patients sharing a CCCD with another Patient as duplicate candidates (never merged)."""
    found = 0
    for w in writes:
        if w.res_type != "Patient" or w.res_id not in patients or w.body is None:
            continue
        for ident in orjson.loads(w.body).get("identifier") or []:
            if ident.get("system") != CCCD_SYSTEM or not ident.get("value"):
                continue
            for other in st.patients_with_identifier(conn, CCCD_SYSTEM, ident["value"]):
                if other != w.res_id and st.add_duplicate(conn, w.res_id, other, CCCD_SYSTEM, ident["value"], now_us):
                    found += 1
    return found


# --- a node applies the hub's pull ------------------------------------------------------------------

def apply_pull(conn, store: Store, writes: list[tuple[Version, RemoteWrite]], *, own: str,  # noqa: ANN001
               pushed_up_to: int, now_us: int) -> Applied:
    out = Applied()
    slots = st.current(conn, list({(v.res_type, v.res_id) for v, _ in writes}), lock=False)
    writer = _Writer(conn, slots, now_us)
    waiting = {(r.res_type, r.res_id) for r in st.conflicts(conn, "open", limit=100000)}   # rows to close
    # The versions the signatures arriving in this page cover (by the hub's numbering).
    hub_signed = signed.arriving([w.body for v, w in writes if v.res_type == "Provenance"])
    for v, w in writes:
        key = (v.res_type, v.res_id)
        if key in writer.keys:
            writer.flush()
        slot = slots.get(key)
        if slot is None:
            writer.add(w)
            out.applied += 1
            continue
        writer.flush()
        held, base = slot.version, v.base or 0
        requeue: RemoteWrite | None = None
        if held >= v.version:
            local = st.local_versions(conn, slot.pk, v.version - 1)
            same_slot = local[0] if local and local[0].version == v.version else None
            if same_slot is None or _same(same_slot, w) or same_slot.origin != own:
                out.skipped += 1
                if v.resolves:       # a resolution this node holds already (its own content): close
                    st.close_conflicts(conn, v.res_type, v.res_id, version=v.version, by=v.agent or v.origin,
                                       now_us=now_us, seq_up_to=pushed_up_to)
                elif key in waiting:
                    _absorbed(conn, out, v, w, pushed_up_to=pushed_up_to, now_us=now_us, own=own)
                continue
            requeue = _set_aside(conn, out, v, w, slot, local, own=own, pushed_up_to=pushed_up_to,
                                 now_us=now_us, hub_signed=hub_signed)
            waiting.add(key)
        elif held > base:
            local = st.local_versions(conn, slot.pk, base)
            requeue = _set_aside(conn, out, v, w, slot, local, own=own, pushed_up_to=pushed_up_to,
                                 now_us=now_us, hub_signed=hub_signed)
            waiting.add(key)
        writer.add(w)
        writer.flush()
        out.applied += 1
        if v.resolves:
            # Rows holding an edit never pushed stay open: the hub's decision did not see it.
            if st.close_conflicts(conn, v.res_type, v.res_id, version=v.version, by=v.agent or v.origin,
                                  now_us=now_us, seq_up_to=pushed_up_to):
                _settled(out, key)
        elif key in waiting:
            _absorbed(conn, out, v, w, pushed_up_to=pushed_up_to, now_us=now_us, own=own)
        if requeue is not None:
            writer.add(requeue)
            writer.flush()
    writer.flush()
    # A pulled Patient holding a CCCD a local Patient holds is kept, and the pair goes to the
    # "same person" review, as the hub does for pushes (never dropped, never merged unasked).
    find_duplicates(conn, [w for _, w in writes], {w.res_id for _, w in writes if w.res_type == "Patient"}, now_us)
    return out


def _absorbed(conn, out: Applied, v: Version, w: RemoteWrite, *, pushed_up_to: int, now_us: int,  # noqa: ANN001
              own: str | None = None) -> None:
    """Close this node's open rows of the resource whose edit the hub's version already holds: the
    hub merged it (sync/merge.py: applying the row's changes to its base onto this version changes
    nothing). Only edits that reached the hub; the merge is not marked as a resolution, so other
    nodes' rows on the same resource stay as they are."""
    if w.deleted or w.body is None:
        return
    incoming = loads(w.body)
    closed = left = 0
    for r in st.open_conflicts(conn, v.res_type, v.res_id):
        pushed = r.their_seq is None or r.their_seq <= pushed_up_to
        # A row of another end's edit (the hub's, set aside here because this node's signed version
        # was kept) is closed only by a resolution.
        foreign = own is not None and r.origin_node != own
        if foreign or not pushed or r.kind != "conflict" or r.base_body is None or r.their_body is None or r.their_deleted:
            left += 1
            continue
        result = merge.three_way(loads(r.base_body), incoming, loads(r.their_body))
        if result.clean and merge.same(result.result, incoming):
            st.update_conflict(conn, r.pk, status="merged", resolved_at=now_us, resolved_by=v.origin or "hub",
                               resolved_version=v.version)
            closed += 1
        else:
            left += 1
    if closed and not left:
        _settled(out, (v.res_type, v.res_id))


def _settled(out: Applied, key: tuple[str, str]) -> None:
    """A row opened earlier in this page was closed by the hub's merge or resolution that came
    with it (the node's edit had reached the hub): not a conflict to report. The row stays, resolved."""
    out.conflicts = [c for c in out.conflicts if (c["type"], c["id"]) != key]
    out.events = [e for e in out.events if not (e.subtype == "sync-conflict" and (e.res_type, e.res_id) == key)]


def _same(local: st.Change, w: RemoteWrite) -> bool:
    if local.deleted or w.deleted:
        return local.deleted == w.deleted
    return local.body == w.body or content_hash(loads(local.body or b"{}")) == w.content_hash


def _set_aside(conn, out: Applied, v: Version, w: RemoteWrite, slot: Slot, local: list[st.Change], *,  # noqa: ANN001
               own: str, pushed_up_to: int, now_us: int, hub_signed: frozenset | set = frozenset()) -> RemoteWrite | None:
    """Move this node's tentative versions of the resource out of the hub's slot into the review
    queue (a row of their own, with the version they were made from: never replacing another row).
    What was never pushed and merges with the hub's version (append-only data; different elements
    changed) is returned as a new version to write on top, pushed like any edit. What was pushed
    waits for the hub's merge or resolution, which arrives marked as resolving and closes the row."""
    mine = [c for c in local if c.origin == own]
    if len(mine) != len(local):
        log.warning("%s/%s: versions %s not made here are being replaced by the hub's version %d",
                    v.res_type, v.res_id, [c.version for c in local if c.origin != own], v.version)
    latest = local[-1]
    pushed = all(c.seq <= pushed_up_to for c in mine)
    base_version = local[0].base
    base_body = st.version_body(conn, slot.pk, base_version) if base_version else None
    # Signed versions (docs/sync.md "Signed versions"): the hub's, arriving signed, is never merged
    # into; this node's own signed edit that the hub has not seen yet is kept on top of the hub's.
    incoming_signed = not w.deleted and ((v.res_type, v.res_id, v.version) in hub_signed or signed.tagged(w.body)
                                         or signed.stored(conn, v.res_type, v.res_id, v.version, not_origin=own))
    if not incoming_signed and not pushed and not latest.deleted and latest.origin == own and (
            signed.tagged(latest.body) or signed.stored(conn, v.res_type, v.res_id, latest.version, origin=own)):
        st.remove_versions(conn, slot.pk, v.version - 1 if slot.version >= v.version else (v.base or 0))
        slot.version = v.version - 1 if slot.version >= v.version else (v.base or 0)
        return _keep_signed_here(conn, out, v, w, latest, base_version, base_body, own=own, now_us=now_us)
    st.remove_versions(conn, slot.pk, v.version - 1 if slot.version >= v.version else (v.base or 0))
    versions = " ".join(str(c.version) for c in local)
    requeue = None
    merged_body: dict | None = None
    if incoming_signed:
        kind = "conflict"
    elif append_only(v.res_type, latest.body):
        merged_body = loads(latest.body) if latest.body else None
        kind = "merged"
    else:
        kind = "conflict"
        if not pushed and base_body is not None and latest.body and w.body and not latest.deleted:
            result = merge.three_way(loads(base_body), loads(w.body), loads(latest.body))
            if result.clean:
                merged_body, kind = result.result, "merged"
    if kind == "merged" and not pushed:
        # Never sent: write it again on top of the hub's version so that it is pushed as an edit.
        stamped = stamp(merged_body, v.version + 1, format_instant(from_us(now_us))) if merged_body else None
        requeue = RemoteWrite(v.res_type, v.res_id, v.version + 1, v.version, stamped is None,
                              "PUT" if stamped else "DELETE", now_us, dumps(stamped) if stamped else None,
                              content_hash(stamped) if stamped else b"", extract(stamped) if stamped else None, own)
    # Pushed already: the hub merged it (the merge arrives with this pull) or set it aside too.
    pk = st.add_conflict(conn, res_type=v.res_type, res_id=v.res_id, kind=kind,
                         status="merged" if kind == "merged" and (requeue is not None or append_only(
                             v.res_type, latest.body)) else "open",
                         origin_node=own, base_version=base_version, kept_version=v.version,
                         their_versions=versions, their_deleted=latest.deleted, their_body=latest.body,
                         their_agent=latest.agent, their_seq=latest.seq, detected_at=now_us, base_body=base_body)
    body = loads(latest.body) if latest.body else (loads(w.body) if w.body else {})
    if kind == "merged":
        out.merged += 1
        out.events.append(_event(v, v.version + 1 if requeue is not None else v.version, "sync-merge", "0", own,
                                 latest.agent or "", body, now_us,
                                 {"conflict": pk, "merged": {"hub": v.version, own: versions, "base": base_version},
                                  "author": latest.agent}))
    else:
        out.conflicts.append({"type": v.res_type, "id": v.res_id, "kept": v.version})
        out.events.append(_event(v, v.version, "sync-conflict", "4", own, latest.agent or "", body, now_us,
                                 {"conflict": pk, "kept": v.version, "set_aside": versions, "pushed": pushed,
                                  "author": latest.agent}))
    slot.version = v.version - 1 if slot.version >= v.version else (v.base or 0)
    return requeue


def _keep_signed_here(conn, out: Applied, v: Version, w: RemoteWrite, latest: st.Change, base_version: int | None,  # noqa: ANN001
                      base_body: bytes | None, *, own: str, now_us: int) -> RemoteWrite:
    """This node signed its edit before the hub saw it, and the hub's conflicting version arrives:
    the hub's takes its number (the hub numbers versions), the signed content is written again on
    top and pushed like any edit, and the hub's edit is set aside here for review (a row of the
    hub's; "take the set-aside version" brings it back on top)."""
    stamped = stamp(loads(latest.body or b"{}"), v.version + 1, format_instant(from_us(now_us)))
    requeue = RemoteWrite(v.res_type, v.res_id, v.version + 1, v.version, False, "PUT", now_us, dumps(stamped),
                          content_hash(stamped), extract(stamped), own)
    origin = v.origin or "hub"
    pk = st.add_conflict(conn, res_type=v.res_type, res_id=v.res_id, kind="conflict", origin_node=origin,
                         base_version=base_version, kept_version=v.version + 1, their_versions=str(v.version),
                         their_deleted=w.deleted, their_body=w.body, their_agent=v.agent, their_seq=None,
                         detected_at=now_us, base_body=base_body)
    out.conflicts.append({"type": v.res_type, "id": v.res_id, "kept": v.version + 1, "signed": own})
    out.events.append(_event(v, v.version + 1, "sync-conflict", "4", own, latest.agent or "",
                             loads(latest.body or b"{}"), now_us,
                             {"conflict": pk, "kept": v.version + 1, "signed": own, "set_aside": v.version,
                              "set_aside_origin": origin, "author": latest.agent}))
    return requeue
