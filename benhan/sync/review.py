"""Resolving the review queues (docs/sync.md "Conflicts"): a conflict becomes a new version — the
kept content or the set-aside one — written with a "resolves" mark that travels with it, so the
other end closes its side of the conflict too; a duplicate-patient pair is marked as the same
person or different people. "Same person" links the two records with the clinician app's linking
code (clinical/patient_link.py, handed in by the caller: sync sits below clinical): the newer
registration is replaced by the older, or the one the reviewer keeps; its record is re-pointed
with a Provenance each, through the Repository, so the links and re-pointed versions
reach the nodes by the normal pull; each node holding one of the pair gets the other in its scope.
Never silently: only this reviewed decision links."""
from __future__ import annotations

import json
import time
from collections.abc import Callable

from benhan import errors
from benhan.auth.actor import Actor
from benhan.fhir.datetimes import format_instant, from_us
from benhan.fhir.indexing import extract
from benhan.fhir.references import replaced_by
from benhan.fhir.resource_json import content_hash, dumps, loads, stamp
from benhan.store import audit_log
from benhan.store import sync_tables as st
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.store.sync_tables import RemoteWrite
from benhan.sync import merge

CHOICES = ("kept", "theirs")


def now_us() -> int:
    return time.time_ns() // 1000


def resolve_conflict(store: Store, pk: int, choice: str, *, by: str) -> int:
    """Write the chosen content as the resource's next version; the version number.

    "kept": the version this end holds stays as it is. "theirs": every open set-aside edit of the
    same node for this resource, oldest first, is applied to the current version as the changes it
    made to the version it was edited from (its base), its values winning where both sides changed
    an element — so a second edit set aside after the first adds to it instead of erasing it. A row
    kept from before the base was stored (or a creation) is taken whole."""
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
        current = None if slot is None or slot.deleted else st.version_body(conn, slot.pk, held)
        taken: list[int] = []
        if choice == "theirs":
            if row.kind == "invalid":
                raise errors.InvalidUserSetting("the set-aside version is not valid FHIR: keep the current version")
            chain = [r for r in st.open_conflicts(conn, row.res_type, row.res_id, row.origin_node)
                     if r.kind != "invalid"]
            taken = [r.pk for r in chain]
            data = theirs_applied(store, loads(current) if current else None, chain)
        else:
            data = loads(current) if current else None
        version = held + 1
        if data is None:
            write = RemoteWrite(row.res_type, row.res_id, version, held, True, "DELETE", now, None, b"", None,
                                store.node_id, resolves=True)
        else:
            stamped = stamp(data, version, format_instant(from_us(now)))
            write = RemoteWrite(row.res_type, row.res_id, version, held, False, "PUT", now, dumps(stamped),
                                content_hash(stamped), extract(stamped), store.node_id, resolves=True)
        st.write_remote(conn, [write], slots, now)
        st.close_conflicts(conn, row.res_type, row.res_id, version=version, by=by, now_us=now)
        patients = (row.res_id,) if row.res_type == "Patient" else ()
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="update", agent=by, res_type=row.res_type,
                                           res_id=row.res_id, version=version, subtype="sync-resolve",
                                           patients=patients,
                                           detail=json.dumps({"conflict": pk, "choice": choice, "applied": taken}))])
    return version


def theirs_applied(store: Store, current: dict | None, chain: list) -> dict | None:
    """The current content with each set-aside edit of `chain` applied in order (None: deleted)."""
    out = current
    for r in chain:
        if r.their_deleted or r.their_body is None:
            out = None
            continue
        theirs = loads(r.their_body)
        if out is None or r.base_body is None:
            out = theirs
            continue
        out = merge.three_way(loads(r.base_body), out, theirs, prefer="theirs").result
    if out is not None and chain and store.validate(stamp(out, 1, "2000-01-01T00:00:00Z")):
        # Two choices of one element set on the two sides (valid apart, not together): the last
        # set-aside version whole — the earlier ones stay readable in their resolved rows.
        last = chain[-1]
        out = None if last.their_deleted or last.their_body is None else loads(last.their_body)
        if out is not None and store.validate(stamp(out, 1, "2000-01-01T00:00:00Z")):
            raise errors.InvalidUserSetting("the set-aside version is not valid FHIR: keep the current version")
    return out


LINK_SCOPE = "link"      # sync_scope.reason: the other record of a linked pair
# (repository, source id, target id, reason, time zone): clinical.patient_link.link
Linker = Callable[[Repository, str, str, str, str], object]


def _kept(repo: Repository, a: str, b: str, keep: str | None) -> tuple[str, str]:
    """(source, target): the patient `keep` is the target; by default the older registration
    (its first version's time as its facility recorded it)."""
    if keep is not None:
        if keep not in (a, b):
            raise errors.InvalidUserSetting("keep one of the two patients of the pair")
        return (b, a) if keep == a else (a, b)
    first = {p: repo.vread("Patient", p, "1").last_updated for p in (a, b)}
    return (b, a) if (first[a], a) <= (first[b], b) else (a, b)


def review_duplicate(store: Store, pk: int, decision: str, *, by: str, link: Linker | None = None,
                     keep: str | None = None, reason: str = "", actor: Actor | None = None) -> str | None:
    """Decide a duplicate candidate; for "same", link the pair (`link`) and return the kept patient's id.
    `actor`: the reviewer with their access rules (the web page passes it: linking re-points a whole
    record, so it needs the whole-record write a doctor has); None for the command line and tests."""
    if decision not in ("same", "different"):
        raise errors.InvalidUserSetting("decide 'same' (one person) or 'different'")
    if decision == "same" and link is None:
        raise errors.InvalidUserSetting("'same' links the two records: the linking code must be given")
    with store.db.read() as conn:
        row = st.open_duplicate(conn, pk)
    if row is None:
        raise errors.NotFound("no open duplicate candidate with this number")
    target = None
    if decision == "same":
        repo = Repository(store, actor or Actor(name=by))
        source, target = _kept(repo, row.patient_a, row.patient_b, keep)
        if replaced_by(repo.read("Patient", source).json()) != target:   # not linked already
            why = reason.strip() or f"sync review: same CCCD {row.value}"
            link(repo, source, target, why, store.config.timezone)
    now = now_us()
    with store.db.write() as conn:
        if not st.review_duplicate(conn, pk, decision, by, now):
            raise errors.NotFound("no open duplicate candidate with this number")
        if target is not None:
            pair = {row.patient_a, row.patient_b}
            for node_name, held in st.holders(conn, pair).items():
                st.add_scope(conn, node_name, pair - held, LINK_SCOPE, now)
        detail = {"duplicate": pk, "decision": decision}
        if target is not None:
            detail["kept"] = target
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="update", agent=by, subtype="sync-duplicate",
                                           detail=json.dumps(detail))])
    return target
