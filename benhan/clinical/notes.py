"""Inpatient daily progress notes (tờ điều trị: the course of the day and the orders) and nursing
notes (phiếu chăm sóc: what was observed and done), as ClinicalImpressions — the record of a
clinical judgement at a point in time, the same shape as the synthetic data's daily notes: the
course in `summary`, the orders or care given in `note`, the author and time on the entry.

With a progress note the doctor orders the day's care level (chế độ chăm sóc cấp I/II/III, TT 31/2021/TT-BYT
Đ9: the treating doctor decides it) and diet (chế độ ăn, as the doctor writes it, e.g. "Cơm thường" or a
hospital diet code): two extensions of the same ClinicalImpression, so they carry its author, time, version
and audit. The treatment sheet prints them in the day's Y LỆNH."""
from __future__ import annotations

import uuid

from benhan.auth.actor import Actor
from benhan.clinical.common import BENHAN, Problems, author, entered_at, ref, stamp
from benhan.store.repository import Repository

NOTE_SYSTEM = f"{BENHAN}/CodeSystem/note-kind"
KINDS = {"progress": "Tờ điều trị", "nursing": "Phiếu chăm sóc"}
MAX_TEXT = 20_000
CARE_LEVEL_EXT = f"{BENHAN}/StructureDefinition/care-level"
CARE_LEVEL_SYSTEM = f"{BENHAN}/CodeSystem/care-level"
CARE_LEVELS = {"1": "Chăm sóc cấp I", "2": "Chăm sóc cấp II", "3": "Chăm sóc cấp III"}
DIET_EXT = f"{BENHAN}/StructureDefinition/diet"
MAX_DIET = 500


def kind_of(impression: dict) -> str:
    """progress, nursing, or "other" for a note of no known kind (another system's, an API client's):
    a note is never taken for the doctor's treatment sheet by default (issue 12.6)."""
    concept = impression.get("code") or {}
    for c in concept.get("coding") or []:
        if c.get("system") == NOTE_SYSTEM and c.get("code") in KINDS:
            return c["code"]
    text = (concept.get("text") or "").strip().lower()
    return next((kind for kind, name in KINDS.items() if text == name.lower()), "other")


def care_level(impression: dict) -> str:
    """The care level ordered with a progress note, in words ("Chăm sóc cấp II"); "" when none."""
    for x in impression.get("extension") or []:
        if x.get("url") == CARE_LEVEL_EXT:
            coding = x.get("valueCoding") or {}
            return CARE_LEVELS.get(coding.get("code", ""), coding.get("display", ""))
    return ""


def diet(impression: dict) -> str:
    return next((str(x.get("valueString", "")).strip() for x in impression.get("extension") or []
                 if x.get("url") == DIET_EXT), "")


def add(repo: Repository, actor: Actor, encounter: dict, kind: str, course: str, orders: str,
        tz: str = "+07:00", care: str = "", diet_text: str = "") -> str:
    """`care`: the care level ordered ("1", "2", "3" or ""); `diet_text`: the diet ordered — both
    the doctor's orders, on a progress note only."""
    p = Problems()
    care, diet_text = (care or "").strip(), (diet_text or "").strip()
    if kind not in KINDS:
        p.add("note_kind", "ui.err.choose")
    if care and care not in CARE_LEVELS:
        p.add("note_care_level", "ui.err.choose")
    if len(diet_text) > MAX_DIET:
        p.add("note_diet", "ui.err.too_long", n=MAX_DIET)
    if kind == "nursing":
        # TT 31/2021 Đ9: the care level is the doctor's order, as is the diet; the care sheet records care given.
        for name, value in (("note_care_level", care), ("note_diet", diet_text)):
            if value:
                p.add(name, "ui.err.doctor_order")
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
    extensions = []
    if care:
        extensions.append({"url": CARE_LEVEL_EXT, "valueCoding": {"system": CARE_LEVEL_SYSTEM, "code": care,
                                                                  "display": CARE_LEVELS[care]}})
    if diet_text:
        extensions.append({"url": DIET_EXT, "valueString": diet_text})
    if extensions:
        body["extension"] = extensions
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "ClinicalImpression", rid, stamp(body, actor), create_only=True)], "create")
    return rid
