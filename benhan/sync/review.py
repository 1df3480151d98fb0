"""Resolving the review queues (docs/sync.md "Conflicts"): a conflict becomes a new version — the
kept content or the set-aside one — written with a "resolves" mark that travels with it, so the
other end closes its side of the conflict too; a duplicate-patient pair is marked as the same
person or different people (linking records is a clinical decision made elsewhere, never a merge)."""
from __future__ import annotations

import json
import time

import orjson

from benhan import errors
from benhan.fhir.datetimes import format_instant, from_us
from benhan.fhir.indexing import extract
from benhan.fhir.resource_json import content_hash, dumps, stamp
from benhan.store import audit_log
from benhan.store import sync_tables as st
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store
from benhan.store.sync_tables import RemoteWrite

CHOICES = ("kept", "theirs")


def now_us() -> int:
    return time.time_ns() // 1000


def resolve_conflict(store: Store, pk: int, choice: str, *, by: str) -> int:
    """Write the chosen content as the resource's next version; the version number."""
    if choice not in CHOICES:
        raise errors.InvalidUserSetting(f"choose one of {', '.join(CHOICES)}")
    now = now_us()
    with store.db.write() as conn:
        row = st.conflict(conn, pk)
        if row is None or row.status != "open":
            raise errors.NotFound("no open conflict with this number")
        slots = st.current(conn, [(row.res_type, row.res_id)], lock=not store.db.is_sqlite)
        slot = slots.get((row.res_type, row.res_id))
        held = slot.version if slot else 0
        if choice == "theirs":
            deleted, body = bool(row.their_deleted), row.their_body
        else:
            deleted = slot is None or slot.deleted
            body = None if deleted else st.version_body(conn, slot.pk, held)
        version = held + 1
        if deleted or body is None:
            write = RemoteWrite(row.res_type, row.res_id, version, held, True, "DELETE", now, None, b"", None,
                                store.node_id, resolves=True)
        else:
            data = orjson.loads(body)
            stamped = stamp(data, version, format_instant(from_us(now)))
            write = RemoteWrite(row.res_type, row.res_id, version, held, False, "PUT", now, dumps(stamped),
                                content_hash(stamped), extract(stamped), store.node_id, resolves=True)
        st.write_remote(conn, [write], slots, now)
        st.close_conflicts(conn, row.res_type, row.res_id, version=version, by=by, now_us=now)
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="update", agent=by, res_type=row.res_type,
                                           res_id=row.res_id, version=version, subtype="sync-resolve",
                                           detail=json.dumps({"conflict": pk, "choice": choice}))])
    return version


def review_duplicate(store: Store, pk: int, decision: str, *, by: str) -> None:
    if decision not in ("same", "different"):
        raise errors.InvalidUserSetting("decide 'same' (one person) or 'different'")
    now = now_us()
    with store.db.write() as conn:
        if not st.review_duplicate(conn, pk, decision, by, now):
            raise errors.NotFound("no open duplicate candidate with this number")
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="update", agent=by, subtype="sync-duplicate",
                                           detail=json.dumps({"duplicate": pk, "decision": decision}))])
