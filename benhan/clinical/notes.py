"""Inpatient daily progress notes (tờ điều trị: the course of the day and the orders) and nursing
notes (phiếu chăm sóc: what was observed and done), as ClinicalImpressions — the record of a
clinical judgement at a point in time, the same shape as the synthetic data's daily notes: the
course in `summary`, the orders or care given in `note`, the author and time on the entry."""
from __future__ import annotations

import uuid

from benhan.auth.actor import Actor
from benhan.clinical.common import BENHAN, Problems, author, entered_at, ref, stamp
from benhan.store.repository import Repository

NOTE_SYSTEM = f"{BENHAN}/CodeSystem/note-kind"
KINDS = {"progress": "Tờ điều trị", "nursing": "Phiếu chăm sóc"}
MAX_TEXT = 20_000


def kind_of(impression: dict) -> str:
    """progress, nursing, or "other" for a note of no known kind (another system's, an API client's):
    a note is never taken for the doctor's treatment sheet by default (issue 12.6)."""
    concept = impression.get("code") or {}
    for c in concept.get("coding") or []:
        if c.get("system") == NOTE_SYSTEM and c.get("code") in KINDS:
            return c["code"]
    text = (concept.get("text") or "").strip().lower()
    return next((kind for kind, name in KINDS.items() if text == name.lower()), "other")


def add(repo: Repository, actor: Actor, encounter: dict, kind: str, course: str, orders: str,
        tz: str = "+07:00") -> str:
    p = Problems()
    if kind not in KINDS:
        p.add("note_kind", "ui.err.choose")
    if len(course.strip()) < 2:
        p.add("note_course", "ui.err.required")
    for name, text in (("note_course", course), ("note_orders", orders)):
        if len(text) > MAX_TEXT:
            p.add(name, "ui.err.too_long", n=MAX_TEXT)
    p.raise_if_any()
    when = entered_at(tz)
    body = {"resourceType": "ClinicalImpression", "status": "completed",
            "code": {"coding": [{"system": NOTE_SYSTEM, "code": kind, "display": KINDS[kind]}], "text": KINDS[kind]},
            "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
            "effectiveDateTime": when, "date": when, "assessor": author(actor), "summary": course.strip()}
    if orders.strip():
        body["note"] = [{"text": orders.strip()}]
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "ClinicalImpression", rid, stamp(body, actor), create_only=True)], "create")
    return rid
