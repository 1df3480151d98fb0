"""The nursing care plan of an inpatient stay (kế hoạch chăm sóc điều dưỡng, FHIR CarePlan): the nurse's
assessment (nhận định) in `description`, the planned activities each with its frequency
(`activity.detail.description`, `activity.detail.scheduledString`), and each time an activity is done an
annotation in `activity.progress` (time, the nurse, "Đã thực hiện") — one resource per stay, so the
nursing sheet (phiếu chăm sóc, documents/forms/nursing_sheet.py) prints the plan and its done marks
from it. A new assessment replaces the description (the old one stays in the resource's history); new
activities are added to the ones planned."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from benhan.auth.actor import Actor
from benhan.clinical import visits
from benhan.clinical.common import Problems, author, ref, ref_id, stamp, who
from benhan.store.repository import Repository

KIND_SYSTEM = "https://benhan.vn/fhir/CodeSystem/care-plan-kind"
NURSING = "nursing"
ROWS = 3                    # activity fields on the form at once
MAX_TEXT = 500
DONE_TEXT = "Đã thực hiện"


@dataclass(frozen=True)
class Activity:
    index: int
    text: str
    frequency: str
    done: list[tuple[str, str]]       # (time ISO, nurse) of each done mark, oldest first


def of_visit(repo: Repository, encounter_id: str) -> dict | None:
    """The stay's nursing care plan (the newest when several were written elsewhere), or None."""
    return (_found(repo, encounter_id) or (None, 0))[0]


def _found(repo: Repository, encounter_id: str) -> tuple[dict, int] | None:
    """The plan and the version read: the update names it, so two nurses saving at once cannot lose a
    mark (the second gets a conflict and saves again)."""
    found = repo.search_type("CarePlan", [("encounter", f"Encounter/{encounter_id}"), ("_count", "50")])
    plans = [(m.json(), m.version) for m in found.matches
             if _is_nursing(m.json()) and m.json().get("status") != "entered-in-error"]
    return max(plans, key=lambda p: p[0].get("created", ""), default=None)


def _is_nursing(plan: dict) -> bool:
    return any(c.get("system") == KIND_SYSTEM and c.get("code") == NURSING
               for cat in plan.get("category", []) for c in cat.get("coding", []))


def activities(plan: dict | None) -> list[Activity]:
    out = []
    for i, a in enumerate((plan or {}).get("activity", [])):
        detail = a.get("detail") or {}
        out.append(Activity(i, detail.get("description", ""), detail.get("scheduledString", ""),
                            sorted((p.get("time", ""), p.get("authorString", "")) for p in a.get("progress", []))))
    return out


def save(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], clock: datetime) -> str:
    """The nurse's assessment (field cp_assessment) and new activities (cp_activity_N with cp_frequency_N,
    N = 1..ROWS) on the stay's plan, created at the first save; its id. FormInvalid field by field: not an
    inpatient stay, nothing written, a frequency without its activity, a text too long."""
    p = Problems()
    if not visits.is_inpatient(encounter):
        p.add("form", "ui.careplan.err.inpatient")
    assessment = (values.get("cp_assessment") or "").strip()
    if len(assessment) > MAX_TEXT * 4:
        p.add("cp_assessment", "ui.err.too_long")
    new = []
    for n in range(1, ROWS + 1):
        text = (values.get(f"cp_activity_{n}") or "").strip()
        freq = (values.get(f"cp_frequency_{n}") or "").strip()
        if freq and not text:
            p.add(f"cp_activity_{n}", "ui.err.required")
        elif len(text) > MAX_TEXT or len(freq) > MAX_TEXT:
            p.add(f"cp_activity_{n}", "ui.err.too_long")
        elif text:
            new.append((text, freq))
    plan, version = _found(repo, encounter["id"]) or (None, 0)
    if not assessment and not new:
        p.add("cp_assessment", "ui.err.required")
    if plan is None and not assessment:
        p.add("cp_assessment", "ui.err.required")      # a plan starts from the nurse's assessment
    p.raise_if_any()
    body = plan or {
        "resourceType": "CarePlan", "id": str(uuid.uuid4()), "status": "active", "intent": "plan",
        "category": [{"coding": [{"system": KIND_SYSTEM, "code": NURSING,
                                  "display": "Kế hoạch chăm sóc điều dưỡng"}],
                      "text": "Kế hoạch chăm sóc điều dưỡng"}],
        "subject": ref("Patient", ref_id(encounter.get("subject")) or ""),
        "encounter": ref("Encounter", encounter["id"]), "created": clock.isoformat(timespec="seconds"),
        "author": author(actor)}
    if assessment:
        body["description"] = assessment
    body.setdefault("activity", []).extend(
        {"detail": {"status": "scheduled", "description": text,
                    **({"scheduledString": freq} if freq else {})}} for text, freq in new)
    if plan is None:
        repo.commit([repo.prepare("POST", "CarePlan", body["id"], stamp(body, actor), create_only=True)], "create")
    else:
        repo.update("CarePlan", body["id"], stamp(body, actor), if_match=version)
    return body["id"]


def mark_done(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], clock: datetime) -> None:
    """A done mark on activity `cp_index` of the stay's plan, at `clock`, by the nurse. FormInvalid when
    the stay has no plan or the index names no activity."""
    p = Problems()
    plan, version = _found(repo, encounter["id"]) or (None, 0)
    try:
        index = int(values.get("cp_index", ""))
    except ValueError:
        index = -1
    if plan is None or not 0 <= index < len(plan.get("activity", [])):
        p.add("form", "ui.careplan.err.activity")
    p.raise_if_any()
    activity = plan["activity"][index]
    activity.setdefault("progress", []).append(
        {"time": clock.isoformat(timespec="seconds"), "authorString": who(actor), "text": DONE_TEXT})
    activity["detail"]["status"] = "in-progress"
    repo.update("CarePlan", plan["id"], stamp(plan, actor), if_match=version)
