"""The hub's side of sync: answering a node's push, pull and on-demand fetch (docs/sync.md).

Each function takes the enrolled node (its sync_node row, found from the OAuth client of the
request) and plain data; the web layer only moves bytes.
"""
from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timezone

from benhan import errors
from benhan.store import assess_tables, audit_log
from benhan.store import sync_tables as st
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store
from benhan.sync import apply, scope
from benhan.sync.wire import Message, Version, content_digest
from benhan.vn.identifiers import CCCD_SYSTEM

PULL_LIMIT = 500
# Change-log rows a pull page looks through (in the database) before it answers with what it found.
PULL_WINDOW = 20_000
# On PostgreSQL a sequence number is taken at insert and becomes visible at commit, so a higher seq
# can be visible before a lower one. A pull stops before a gap until the rows after it are this old;
# a gap still there by then is a rolled-back transaction's, and is skipped.
GAP_GRACE_US = 30_000_000


def now_us() -> int:
    return time.time_ns() // 1000


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def node_for_client(store: Store, client_id: str | None):  # noqa: ANN201
    """The enrolled, unrevoked node behind an OAuth client, or 403."""
    if client_id:
        with store.db.read() as conn:
            row = st.node_row(conn, client_id=client_id)
        if row is not None and row.revoked_at is None and row.node_id:
            return row
    raise errors.Forbidden("only an enrolled facility node may use the sync endpoints")


# --- push -------------------------------------------------------------------------------------------

def receive_push(store: Store, node, message: Message, size: int) -> dict:  # noqa: ANN001
    """Apply a node's batch exactly once; a replayed batch gets the answer it got the first time.

    A batch is known by its id and its content digest, so a reused id with other content (a node
    restored from a backup numbers its changes again) is a new batch, never an old answer. Each
    version the hub already holds from this node is skipped; every other one is checked against
    what the node may write (scope.Authorship) and applied or refused — never dropped unseen.
    """
    header = message.header
    batch = str(header.get("batch", ""))
    if not batch.startswith(node.node_id + ":"):
        raise errors.InvalidHeader(f"batch {batch!r} is not one of node {node.node_id}")
    first, last = int(header.get("first", 0)), int(header.get("last", 0))
    epoch = str(header.get("epoch") or "")[:64]
    key = f"{batch}~{content_digest(message)}"
    # Validation, hashing and indexing are CPU work: before the transaction.
    prepared: list = []
    for v in message.versions:
        try:
            prepared.append((v, apply.prepare(store, v, node.node_id, validate=True)))
        except apply.Invalid as exc:
            prepared.append((v, exc))
    now = now_us()
    with store.db.write() as conn:
        row = st.node_row(conn, name=node.name, lock=True)      # one push per node at a time
        answered = st.batch_response(conn, key)
        if answered is not None:
            st.update_node(conn, node.name, last_contact=now)
            st.add_traffic(conn, node.name, today(), size, 0)
            return answered
        known = st.pushed_before(conn, node.node_id, [(v.seq, v.res_type, v.res_id, v.version, v.body, v.deleted)
                                                      for v in message.versions])
        todo = [(v, w) for v, w in prepared if v.seq not in known]
        refused = scope.Authorship(store, conn, node).refusals([(v, w) for v, w in todo
                                                                 if not isinstance(w, apply.Invalid)])
        same = _already_here(conn, todo, refused)
        known |= same
        refused = {seq: why for seq, why in refused.items() if seq not in same}
        # A node restored from a backup (a new epoch), or whose change log no longer matches what
        # the hub acknowledged (a copy put back by hand: numbers below the cursor with other
        # content), starts its numbering again: its cursors are the batch's, not the old ones.
        stored_epoch = st.node_epoch(conn, node.name)
        restored = bool(epoch and stored_epoch and epoch != stored_epoch) or any(
            v.seq <= row.push_seq and v.seq not in known and v.seq not in refused for v in message.versions)
        if epoch and epoch != stored_epoch:
            st.set_node_epoch(conn, node.name, epoch)
        audit_cursor = row.audit_seq
        if restored:
            audit_cursor = int(header.get("audit_first", 1)) - 1 if message.audit else int(header.get("audit_seq", 0))
        todo = [(v, w) for v, w in todo if v.seq not in refused and v.seq not in same]
        result = apply.apply_push(conn, store, node.node_id, todo, now)
        if result.patients:
            st.add_scope(conn, node.name, result.patients, "home", now)
            apply.find_duplicates(conn, [w for _, w in todo if not isinstance(w, apply.Invalid)],
                                  result.patients, now)
        events = [e for e in message.audit if int(e["e"]) > audit_cursor]
        audit_acked = int(header["audit_last"]) if message.audit else (
            int(header.get("audit_seq", row.audit_seq)) if restored else row.audit_seq)
        refusals = [{"seq": v.seq, "type": v.res_type, "id": v.res_id, "version": v.version,
                     "reason": refused[v.seq][0]} for v in message.versions if v.seq in refused]
        response = {"batch": batch, "acked": last if message.versions or restored else max(row.push_seq, last),
                    "audit_acked": audit_acked, "applied": result.applied, "merged": result.merged,
                    "skipped": len(known), "conflicts": result.conflicts, "invalid": result.invalid,
                    "refused": refusals}
        if restored:
            response["restored"] = True
        st.update_node(conn, node.name, push_seq=response["acked"], audit_seq=audit_acked,
                       last_contact=now, backlog=int(header.get("backlog", 0)))
        st.remember_batch(conn, key, node.name, response, now)
        st.add_traffic(conn, node.name, today(), size, 0)
        assess_tables.add_records(conn, node.name, today(), result.applied)   # the provincial dashboard
        records = [_copy_event(node, e, epoch) for e in events]
        # Per-resource merges and conflicts, attributed to node/user like the node's own events.
        records += [dataclasses.replace(e, agent=f"{node.name}/{e.agent}"[:128], client_id=node.client_id)
                    for e in result.events]
        records += [_refusal_event(node, v, *refused[v.seq], now) for v in message.versions if v.seq in refused]
        if restored:
            records.append(AuditRecord(recorded=now, interaction="batch", agent=node.name, subtype="sync-restore",
                                       client_id=node.client_id, outcome="4", detail=json.dumps({
                                           "batch": batch, "epoch": epoch, "previous_epoch": stored_epoch,
                                           "hub_push_seq": row.push_seq, "first": first})))
        records.append(AuditRecord(recorded=now, interaction="batch", agent=node.name, subtype="sync-push",
                                   client_id=node.client_id,
                                   outcome="0" if not (result.invalid or refusals) else "4",
                                   detail=json.dumps({"batch": batch, "applied": result.applied,
                                                      "conflicts": len(result.conflicts),
                                                      "refused": len(refusals), "skipped": len(known),
                                                      "audit_head": header.get("audit_head")})))
        audit_log.write(conn, records)      # last: it takes the audit chain's lock
    return response


def _already_here(conn, todo: list, refused: dict) -> set[int]:  # noqa: ANN001
    """Of the versions the node may not write, those whose content is what the hub already holds
    (a code list every node loads itself): they change nothing, so they are skipped, not refused."""
    if not refused:
        return set()
    slots = st.current(conn, list({(v.res_type, v.res_id) for v, _ in todo if v.seq in refused}), lock=False)
    hashes = st.current_hashes(conn, [s.pk for s in slots.values()])
    same = set()
    for v, w in todo:
        slot = slots.get((v.res_type, v.res_id))
        if v.seq in refused and slot is not None and not v.deleted and not slot.deleted \
                and not isinstance(w, apply.Invalid) and hashes.get(slot.pk) == w.content_hash:
            same.add(v.seq)
    return same


def _refusal_event(node, v: Version, reason: str, patients: set[str], now: int) -> AuditRecord:  # noqa: ANN001
    """A refused version, attributed to the node and its user, naming the patients it touched."""
    return AuditRecord(recorded=now, interaction="update" if v.base else "create", outcome="8",
                       agent=f"{node.name}/{v.agent or ''}"[:128], res_type=v.res_type, res_id=v.res_id,
                       version=v.version, subtype="sync-refused", patients=tuple(sorted(patients)),
                       client_id=node.client_id,
                       detail=json.dumps({"node": node.name, "node_seq": v.seq, "reason": reason}))


_EVENT_FIELDS = ("recorded", "interaction", "outcome", "source_address", "res_type", "res_id", "version",
                 "query", "subtype", "role", "purpose")


def _copy_event(node, e: dict, epoch: str = "") -> AuditRecord:  # noqa: ANN001
    """The node's audit event in the hub's trail: its agent is node/user, its node seq in detail
    (with the node's epoch: after a restore the node numbers its events again)."""
    detail = {"node": node.name, "node_seq": e["e"], "node_chain_pos": e.get("chain_pos")}
    if epoch:
        detail["node_epoch"] = epoch
    if e.get("detail"):
        detail["node_detail"] = e["detail"]
    if e.get("client_id"):
        detail["node_client"] = e["client_id"]
    kw = {k: e.get(k) for k in _EVENT_FIELDS}
    kw["outcome"] = kw["outcome"] or "0"
    kw["interaction"] = kw["interaction"] or "unknown"
    return AuditRecord(agent=f"{node.name}/{e.get('agent', '')}"[:128], patients=tuple((e.get("patients") or "").split()),
                       client_id=node.client_id, detail=json.dumps(detail, ensure_ascii=False), **kw)


# --- pull -------------------------------------------------------------------------------------------

def serve_pull(store: Store, node, since: int, limit: int = PULL_LIMIT, *, own: bool = False) -> Message:  # noqa: ANN001
    """The hub's changes after `since` in the node's scope, in sequence order; header.next is the
    cursor to ask from next (past out-of-scope rows too), header.more whether to ask at once.
    `own`: the node's own changes too (a node restored from a backup pulls back what it lost).

    The change log is classified once by scope key (sync_tables.build_feed: shared data, each
    patient, rows judged by their body) and a page reads the keys of the node's scope within a
    window of PULL_WINDOW change-log rows (sync_tables.changes_in_scope), so a page costs what it
    sends, not the whole province's traffic since the node's cursor; Scope.filter then judges
    each of those exactly."""
    limit = max(1, min(limit, 2000))
    versions: list[Version] = []
    cursor = since
    now = now_us()
    fresh = None if store.db.is_sqlite else now - GAP_GRACE_US
    with store.db.read() as conn:
        upper = st.pull_upper(conn, since, PULL_WINDOW, fresh)
        built = st.feed_built(conn)
    if built < upper:
        # Classified once for every node (sync_tables.build_feed), by whichever pull gets there first.
        with store.db.write() as conn:
            built = st.build_feed(conn, upper, fresh, _compartment_types(store))
    upper = max(since, min(upper, built))
    with store.db.read() as conn:
        allowed = scope.Scope(store, conn, node, own=own)
        patients = sorted(allowed.patients)
        while len(versions) < limit and cursor < upper:
            want = limit - len(versions)
            rows = st.changes_in_scope(conn, cursor, upper, want, exclude_origin=allowed.node_id,
                                       patients=patients)
            for r in allowed.filter(rows):
                versions.append(Version(r.seq, r.res_type, r.res_id, r.version, r.base, r.deleted, r.method,
                                        r.last_updated, r.body, origin=r.origin, resolves=r.resolves))
            cursor = rows[-1].seq if len(rows) == want else upper
        more = st.last_seq(conn) > cursor
    return Message({"kind": "pull", "since": since, "next": cursor, "more": more}, versions)


_COMPARTMENT: list[frozenset[str]] = []


def _compartment_types(store: Store) -> frozenset[str]:
    """The resource types in the Patient compartment (the Patient included)."""
    if not _COMPARTMENT:
        from benhan.store.access import in_patient_compartment
        _COMPARTMENT.append(frozenset(t for t in store.resource_types if in_patient_compartment(t)))
    return _COMPARTMENT[0]


def record_contact(store: Store, node, *, pulled_to: int | None = None, bytes_in: int = 0,  # noqa: ANN001
                   bytes_out: int = 0) -> None:
    with store.db.write() as conn:
        values = {"last_contact": now_us()}
        if pulled_to is not None:
            values["pull_seq"] = pulled_to
        st.update_node(conn, node.name, **values)
        st.add_traffic(conn, node.name, today(), bytes_in, bytes_out)


# --- on demand ----------------------------------------------------------------------------------------

def serve_fetch(store: Store, node, cccd: str, user: str) -> Message:  # noqa: ANN001
    """A patient's current record by CCCD for a referral or an emergency, if their Consent lets it
    leave the facility that holds it; audited here (and at the node). The patient is in the node's
    scope from then on, so later changes follow by pull."""
    from benhan.auth.consent import may_leave_facility
    from benhan.auth.purposes import SHARE_PROVIDERS, decide, refusal_text
    from benhan.store.access import member_params
    from benhan.fhir.searchparams import compartment_types
    agent = f"{node.name}/{user}"[:128]
    with store.db.read() as conn:
        patients = st.patients_with_identifier(conn, CCCD_SYSTEM, cccd)
    if not patients:
        audit_log.append(store.db, [AuditRecord(recorded=now_us(), interaction="search-type", agent=agent,
                                                res_type="Patient", outcome="4", subtype="sync-fetch",
                                                client_id=node.client_id, query=f"identifier={CCCD_SYSTEM}|***")])
        raise errors.NotFound("no patient with this CCCD at the hub")
    # Sharing with another care provider is opt-in (Luật 91/2025 Đ26 k2, benhan.auth.purposes):
    # a "do not share" refusal, a withdrawal or no consent at all keeps the record at the hub.
    decisions = {p: decide(store, p, SHARE_PROVIDERS) for p in patients}
    refused = [p for p in patients if not decisions[p].allowed or not may_leave_facility(store, p)]
    if refused:
        audit_log.append(store.db, [AuditRecord(recorded=now_us(), interaction="read", agent=agent,
                                                res_type="Patient", res_id=refused[0], outcome="4",
                                                subtype="sync-fetch", patients=tuple(refused),
                                                client_id=node.client_id,
                                                detail=json.dumps({"refused": "consent",
                                                                   "reason": decisions[refused[0]].reason}))])
        raise errors.Forbidden("hồ sơ không được chia sẻ: " + refusal_text(decisions[refused[0]]))
    members = {t: member_params(t) for t in compartment_types("Patient")}
    with store.db.read() as conn:
        pks: list[int] = []
        for p in patients:
            pks += st.patient_compartment_rows(conn, p, members)
            found = st.current(conn, [("Patient", p)], lock=False).get(("Patient", p))
            if found:
                pks.append(found.pk)
        changes = sorted(st.current_changes(conn, sorted(set(pks))), key=lambda c: c.seq)
        hub_seq = st.last_seq(conn)
    now = now_us()
    with store.db.write() as conn:
        st.add_scope(conn, node.name, patients, "fetch", now)
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="read", agent=agent, res_type="Patient",
                                           res_id=patients[0], subtype="sync-fetch", patients=tuple(patients),
                                           client_id=node.client_id,
                                           detail=json.dumps({"node": node.name, "resources": len(changes)}))])
    versions = [Version(c.seq, c.res_type, c.res_id, c.version, c.base, c.deleted, c.method, c.last_updated,
                        c.body, origin=c.origin) for c in changes]
    return Message({"kind": "fetch", "patients": patients, "hub_seq": hub_seq}, versions)
