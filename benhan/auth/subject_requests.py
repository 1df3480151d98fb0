"""The register of data-subject requests (NĐ 356/2025 Đ5; Luật 91/2025; ../shared/vietnam.md §1.6).

Each request is a FHIR Task (code: the kind of request; `for`: the patient when known; requester:
who asked; authoredOn: when it was received; restriction.period.end: the legal deadline; status;
output: the answer and its evidence). Deadlines, from the day received:
- an answer to the person within 2 working days (Đ5) — working days are Monday to Friday; public
  holidays are not modelled (INFERRED: count them yourself around Tết);
- carrying it out: access and correction 10 days, objection / restriction / withdrawal 15 days,
  deletion 20 days — read as calendar days (INFERRED: the decree's "ngày"; one extension allowed,
  longer when third parties are involved, not modelled). A deletion may be refused while the
  record's retention period (TT 33/2025, benhan.clinical.retention) runs.
Read and written through the caller's Repository (access-checked and audited).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from benhan import errors
from benhan.store.repository import Repository

SYSTEM = "https://benhan.vn/fhir/CodeSystem/data-subject-request"
ACK_EXT = "https://benhan.vn/fhir/StructureDefinition/dsr-answer-due"
KINDS = {  # code: (days to carry out, Vietnamese, English)
    "access": (10, "Xem, cung cấp dữ liệu", "Access / copy"),
    "correction": (10, "Chỉnh sửa dữ liệu", "Correction"),
    "objection": (15, "Phản đối xử lý", "Objection"),
    "restriction": (15, "Hạn chế xử lý", "Restriction"),
    "withdrawal": (15, "Rút lại đồng ý", "Withdrawal of consent"),
    "deletion": (20, "Xóa dữ liệu", "Deletion"),
}
OPEN = ("requested", "in-progress")
STATUSES = ("requested", "in-progress", "completed", "rejected")
ACK_WORKING_DAYS = 2


def working_days_after(start: date, n: int) -> date:
    day = start
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def deadlines(kind: str, received: date) -> tuple[date, date]:
    """(answer due, carry-out due) for a request of this kind received on this day."""
    return working_days_after(received, ACK_WORKING_DAYS), received + timedelta(days=KINDS[kind][0])


@dataclass
class Request:
    id: str
    kind: str
    requester: str
    patient_id: str | None
    received: date
    answer_due: date
    due: date
    status: str
    description: str
    answer: str
    evidence: str

    def overdue(self, today: date) -> bool:
        return self.status in OPEN and today > self.due

    def answer_late(self, today: date) -> bool:
        return self.status == "requested" and today > self.answer_due

    def json(self, today: date) -> dict:
        return {"id": self.id, "kind": self.kind, "requester": self.requester, "patient": self.patient_id,
                "received": self.received.isoformat(), "answer_due": self.answer_due.isoformat(),
                "due": self.due.isoformat(), "status": self.status, "overdue": self.overdue(today),
                "answer": self.answer, "evidence": self.evidence}


def _output(task: dict, name: str) -> str:
    return next((o.get("valueString", "") for o in task.get("output", [])
                 if (o.get("type") or {}).get("text") == name), "")


def from_task(task: dict) -> Request:
    kind = next((c["code"] for c in (task.get("code") or {}).get("coding", []) if c.get("system") == SYSTEM), "access")
    received = date.fromisoformat(task["authoredOn"][:10])
    answer_due = next((date.fromisoformat(e["valueDate"]) for e in task.get("extension", []) if e.get("url") == ACK_EXT),
                      deadlines(kind, received)[0])
    due = date.fromisoformat(((task.get("restriction") or {}).get("period") or {}).get("end", received.isoformat())[:10])
    patient = ((task.get("for") or {}).get("reference") or "").removeprefix("Patient/") or None
    return Request(task.get("id", ""), kind, (task.get("requester") or {}).get("display", ""), patient, received,
                   answer_due, due, task.get("status", ""), task.get("description", ""),
                   _output(task, "answer"), _output(task, "evidence"))


def receive(repo: Repository, *, kind: str, requester: str, received: date, description: str = "",
            patient_id: str | None = None) -> str:
    """Register a request; its id. Refuses an unknown kind, a missing requester or a future date."""
    if kind not in KINDS:
        raise errors.InvalidUserSetting(f"request kind {kind!r}: one of {', '.join(KINDS)}")
    if not requester.strip():
        raise errors.InvalidUserSetting("who made the request (requester) is required")
    if received > date.today() + timedelta(days=1):
        raise errors.InvalidUserSetting("the day received is in the future")
    answer_due, due = deadlines(kind, received)
    task: dict[str, Any] = {
        "resourceType": "Task", "status": "requested", "intent": "order",
        "code": {"coding": [{"system": SYSTEM, "code": kind, "display": KINDS[kind][1]}], "text": KINDS[kind][1]},
        "authoredOn": received.isoformat() + "T00:00:00+07:00",
        "requester": {"display": requester.strip()},
        "restriction": {"period": {"end": due.isoformat() + "T23:59:59+07:00"}},
        "extension": [{"url": ACK_EXT, "valueDate": answer_due.isoformat()}],
    }
    if description.strip():
        task["description"] = description.strip()
    if patient_id:
        repo.read("Patient", patient_id)        # a known patient, or 404
        task["for"] = {"reference": f"Patient/{patient_id}"}
    return repo.create("Task", task).res_id


def answer(repo: Repository, task_id: str, *, status: str, answer_text: str = "", evidence: str = "") -> None:
    if status not in STATUSES:
        raise errors.InvalidUserSetting(f"status {status!r}: one of {', '.join(STATUSES)}")
    if status in ("completed", "rejected") and not answer_text.strip():
        raise errors.InvalidUserSetting("a completed or refused request needs its answer")
    task = repo.read("Task", task_id).json()
    if not any(c.get("system") == SYSTEM for c in (task.get("code") or {}).get("coding", [])):
        raise errors.NotFound(f"Task/{task_id} is not a data-subject request")
    outputs = [o for o in task.get("output", []) if (o.get("type") or {}).get("text") not in ("answer", "evidence")]
    outputs += [{"type": {"text": name}, "valueString": value.strip()}
                for name, value in (("answer", answer_text), ("evidence", evidence)) if value.strip()]
    task = dict(task, status=status, lastModified=datetime.now().astimezone().isoformat(timespec="seconds"))
    if outputs:
        task["output"] = outputs
    repo.update("Task", task_id, task)


def register(repo: Repository) -> list[Request]:
    """Every request, open ones first, soonest deadline first."""
    out = [from_task(v.json()) for v in repo.search_all("Task", [("code", f"{SYSTEM}|")])]
    return sorted(out, key=lambda r: (r.status not in OPEN, r.due, r.id))
