"""The laboratory's worklist: the tests doctors have ordered and whose results are not in yet,
oldest first, with the patient each is for; results are entered through orders.enter_results
(the same Observations, flags against the reference range and DiagnosticReport as from the chart).

The lab technician's role reads ServiceRequest, Patient and Encounter facility-wide and writes
results (auth/roles.py); it does not read diagnoses or notes, so the worklist shows only what the
bench needs: who, which tests, ordered when and by whom, and the doctor's note on the order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from benhan import errors
from benhan.clinical import orders, registration
from benhan.clinical.common import age_on, name_of, now, ref_id
from benhan.store.repository import Repository
from benhan.terminology.labs import LabTest

LAB_CATEGORY = f"{orders.SNOMED}|{orders.KINDS['lab'][0]}"


@dataclass
class WorkItem:
    order: dict
    patient_id: str
    patient_name: str
    sex: str            # male / female / other / unknown (as FHIR)
    age: int | None
    tests: list[LabTest] = field(default_factory=list)

    @property
    def female(self) -> bool:
        return self.sex == "female"


def _patients(result) -> dict[str, dict]:  # noqa: ANN001
    return {v.res_id: v.json() for v in result.included if v.res_type == "Patient"}


@dataclass
class WorkList:
    """One page of the worklist: its orders, how many are waiting in all (with the patient search,
    how many of theirs), and where the next page starts (None on the last)."""
    items: list[WorkItem]
    total: int
    next_cursor: str | None


# Orders shown at once: each is a result form, and the page must stay light on an old PC.
PAGE = 50


def worklist(repo: Repository, tz: str = "+07:00", limit: int = PAGE, *, cursor: str | None = None,
             patient_text: str = "") -> WorkList:
    """Active laboratory orders, oldest first (the one waiting longest is done first), a page at a
    time: orders nobody resulted or cancelled stay active and would otherwise hide today's behind
    them. `cursor`: the next_cursor of the page before; `patient_text`: only the orders of the
    patients found by it (registration.search). A cursor this server did not give starts over."""
    items = [("status", "active"), ("category", LAB_CATEGORY), ("_sort", "authored"), ("_count", str(limit)),
             ("_include", "ServiceRequest:subject"), ("_total", "accurate")]
    if patient_text.strip():
        found = registration.matching_ids(repo, patient_text)
        if not found:
            return WorkList([], 0, None)
        items.append(("subject", ",".join(f"Patient/{p}" for p in found)))
    try:
        result = repo.search_type("ServiceRequest", items + ([("_cursor", cursor)] if cursor else []))
    except errors.InvalidSearchParameter:
        if not cursor:
            raise
        result = repo.search_type("ServiceRequest", items)
    patients = _patients(result)
    today = now(tz).date()
    page = []
    for match in result.matches:
        order = match.json()
        pid = ref_id(order.get("subject")) or ""
        patient = patients.get(pid, {})
        page.append(WorkItem(order, pid, name_of(patient) if patient else "", patient.get("gender", "unknown"),
                             age_on(patient.get("birthDate"), today), orders.tests_of(order)))
    return WorkList(page, result.total or 0, result.next_cursor if result.has_next else None)


def work_item(repo: Repository, order_id: str, tz: str = "+07:00") -> WorkItem:
    """One order of the worklist by its id (a result form sent back with an error shows it again,
    whichever page it was on)."""
    order, patient = order_for_results(repo, order_id)
    return WorkItem(order, ref_id(order.get("subject")) or "", name_of(patient), patient.get("gender", "unknown"),
                    age_on(patient.get("birthDate"), now(tz).date()), orders.tests_of(order))


def order_for_results(repo: Repository, order_id: str) -> tuple[dict, dict]:
    """The order and its patient, for entering results (a read of each: audited, access-checked)."""
    order = repo.read("ServiceRequest", order_id).json()
    patient = repo.read("Patient", ref_id(order.get("subject")) or "").json()
    return order, patient


def results_of(repo: Repository, order_id: str) -> list[orders.ResultRow]:
    """The result rows (value, unit, range, flag) reported for an order, to show after entry."""
    found = repo.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order_id}"),
                                                  ("_include", "DiagnosticReport:result")])
    observations = {v.res_id: v.json() for v in found.included if v.res_type == "Observation"}
    rows: list[orders.ResultRow] = []
    for match in found.matches:
        rows.extend(orders.result_rows(match.json(), observations))
    return rows
