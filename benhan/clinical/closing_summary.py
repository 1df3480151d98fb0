"""The discharge summary written or completed after the visit has ended: the 4 parts the VNeID health
book needs (QĐ 2733/QĐ-BYT targets: course, key results, treatment, onward plan; claims/health_book.py
holds the book until they are written) and the status at discharge.

The same Composition the discharge writes (clinical/discharge.py, LOINC 18842-5, one section per
part): created when the doctor wrote none at the close, otherwise a new version of it. Changing a
text already written is a correction and needs a reason, kept on the version (the history keeps
every earlier text), as for the record (clinical/record.py). The doctor's act (auth.roles.DISCHARGE).
"""
from __future__ import annotations

import uuid
from datetime import datetime

from benhan.auth.actor import Actor
from benhan.clinical.common import CORRECTION_REASON, Problems, author, narrative, now, ref, stamp
from benhan.clinical.discharge import SUMMARY, SUMMARY_SYSTEM, SUMMARY_TYPE, field_name, summary_texts
from benhan.store.repository import Repository

# The parts the health book cannot go without (XML8 QT_BENHLY, TOMTAT_KQ, PP_DIEUTRI, the plan).
REQUIRED = ("qua-trinh-benh-ly", "ket-qua-can-lam-sang", "phuong-phap-dieu-tri", "huong-dieu-tri-tiep")
MAX_TEXT = 4000          # XML8's QT_BENHLY / TOMTAT_KQ / PP_DIEUTRI hold 4000 characters


def missing(composition: dict | None) -> list[str]:
    """The required parts a summary (or none) lacks, in order."""
    texts = summary_texts(composition)
    return [code for code in REQUIRED if not (texts.get(code) or "").strip()]


def write(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], current: dict | None,
          tz: str = "+07:00", when: datetime | None = None) -> str:
    """Write the summary of a finished visit (its Composition id). ``current``: the summary on
    record, if any. Raises FormInvalid naming each field to fix."""
    p = Problems()
    if encounter.get("status") != "finished":
        p.add("summary", "ui.summary.err.not_finished")
    before = summary_texts(current)
    typed = {s.code: (values.get(field_name(s.code)) or "").strip() for s in SUMMARY}
    for code in REQUIRED:
        if not typed[code]:
            p.add(field_name(code), "ui.err.required")
    for s in SUMMARY:
        if len(typed[s.code]) > MAX_TEXT:
            p.add(field_name(s.code), "ui.err.too_long", n=MAX_TEXT)
    reason = (values.get("summary_reason") or "").strip()
    changed = any(before.get(code) and typed[code] != before[code] for code in before)
    if changed and len(reason) < 3:
        p.add("summary_reason", "ui.err.correction_reason")
    p.raise_if_any()
    when = when or now(tz)
    body = {"resourceType": "Composition", "status": "final", "type": SUMMARY_TYPE,
            "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
            "date": when.isoformat(), "author": [author(actor)], "title": "Tổng kết bệnh án",
            "section": [{"title": s.vi, "code": {"coding": [{"system": SUMMARY_SYSTEM, "code": s.code}]},
                         "text": narrative(typed[s.code])} for s in SUMMARY if typed[s.code]]}
    stamp(body, actor)
    if current is None:
        rid = str(uuid.uuid4())
        repo.commit([repo.prepare("POST", "Composition", rid, body, create_only=True)], "create")
        return rid
    body["id"] = current["id"]
    if changed:
        body.setdefault("extension", []).append({"url": CORRECTION_REASON, "valueString": reason})
    version = int(current.get("meta", {}).get("versionId", "0")) or None
    repo.commit([repo.prepare("PUT", "Composition", current["id"], body, if_match=version)], "update")
    return current["id"]

