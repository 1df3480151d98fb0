"""Break-the-glass: a clinician opens a patient outside their departments and care relationships,
with a reason, for a limited time (break_glass_minutes). Every access it allows is audited with
purpose BTG, and each grant waits in a review list for the director or auditor."""
from __future__ import annotations

import json
from dataclasses import dataclass

from benhan import errors
from benhan.auth.users import User, now_us
from benhan.fhir.references import ID_RE
from benhan.store import access, audit_log, user_tables
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store

MIN_REASON = 10


@dataclass(frozen=True)
class Grant:
    pk: int
    username: str
    display_name: str
    patient_id: str
    reason: str
    started: int
    expires: int
    reviewed_at: int | None
    reviewed_by: int | None
    review_note: str | None


def open_grant(store: Store, user: User, patient_id: str, reason: str, *, source: str | None = None) -> int:
    if "break-glass" not in user.privileges:
        raise errors.Forbidden("your role may not use break-the-glass")
    if not ID_RE.match(patient_id or ""):
        raise errors.InvalidId(f"{patient_id!r} is not a patient id")
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        raise errors.InvalidUserSetting(f"give the reason for the emergency access (at least {MIN_REASON} characters)")
    now = now_us()
    expires = now + store.config.break_glass_minutes * 60_000_000
    with store.db.write() as conn:
        # A grant for an id no record has would be an open door for whoever is registered under it
        # later, and tells the clinician nothing: refused (404) so a mistyped id is caught at once.
        if not access.patient_on_record(conn, patient_id):
            raise errors.NotFound(f"no patient with the id {patient_id!r} (Patient/{patient_id} is not known)")
        pk = user_tables.insert_break_glass(conn, {"user_pk": user.pk, "patient_id": patient_id, "reason": reason,
                                                   "started": now, "expires": expires})
        audit_log.write(conn, [AuditRecord(
            recorded=now, interaction="break-glass", subtype="break-glass", agent=user.username,
            source_address=source, res_type="Patient", res_id=patient_id, patients=(patient_id,),
            role=" ".join(user.roles), purpose="BTG",
            detail=json.dumps({"reason": reason, "expires": expires, "grant": pk}, ensure_ascii=False))])
    return pk


def active(store: Store, user: User) -> list[Grant]:
    with store.db.read() as conn:
        rows = user_tables.active_break_glass(conn, user.pk, now_us())
    return [Grant(r.pk, user.username, user.display_name, r.patient_id, r.reason, r.started, r.expires,
                  r.reviewed_at, r.reviewed_by, r.review_note) for r in rows]


def active_patients(store: Store, user: User) -> frozenset[str]:
    return frozenset(g.patient_id for g in active(store, user))


def review_list(store: Store, reviewer: User, *, unreviewed_only: bool = False) -> list[Grant]:
    if "review-break-glass" not in reviewer.privileges:
        raise errors.Forbidden("your role may not review break-the-glass accesses")
    with store.db.read() as conn:
        rows = user_tables.break_glass_rows(conn, unreviewed_only=unreviewed_only)
    return [Grant(r.pk, r.username, r.display_name, r.patient_id, r.reason, r.started, r.expires,
                  r.reviewed_at, r.reviewed_by, r.review_note) for r in rows]


def review(store: Store, reviewer: User, grant_pk: int, note: str) -> None:
    if "review-break-glass" not in reviewer.privileges:
        raise errors.Forbidden("your role may not review break-the-glass accesses")
    now = now_us()
    with store.db.write() as conn:
        if not user_tables.review_break_glass(conn, grant_pk, reviewer.pk, now, note.strip()[:2000]):
            raise errors.NotFound("no such break-the-glass access waiting for review")
        audit_log.write(conn, [AuditRecord(
            recorded=now, interaction="break-glass-review", subtype="break-glass-review", agent=reviewer.username,
            role=" ".join(reviewer.roles), detail=json.dumps({"grant": grant_pk, "note": note}, ensure_ascii=False))])
