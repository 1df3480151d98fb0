"""What a chart page shows, read through the repository (so the access rules and the audit trail
see the page as the API would): the patient and their banner facts (age, sex, CCCD, BHYT and its
validity, allergies, alerts), their visits, and for one visit everything recorded in it.

Types the actor may not read are left out rather than refused (a registrar sees the patient and
the visits, not the clinical entries); the page says what it cannot show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from benhan.clinical import allergies as allergy_rules
from benhan.clinical.common import age_on, identifier, name_of, ref_id
from benhan.clinical.discharge import SUMMARY_TYPE
from benhan.clinical.record import RECORD_TYPE
from benhan.store.repository import Repository
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM

PER_VISIT = ("Observation", "Condition", "ClinicalImpression", "Composition", "MedicationRequest",
             "ServiceRequest", "DiagnosticReport", "AllergyIntolerance")


def may_read(repo: Repository, res_type: str) -> bool:
    access = repo.actor.access
    return access is None or access.mode("s", res_type) is not None


def _search(repo: Repository, res_type: str, items: list[tuple[str, str]]) -> list[dict]:
    if not may_read(repo, res_type):
        return []
    return [m.json() for m in repo.search_type(res_type, items + [("_count", "500")]).matches]


@dataclass
class Banner:
    patient: dict
    name: str
    age: int | None
    gender: str
    birth_date: str
    cccd: str | None
    bhyt: str | None
    bhyt_until: str | None
    bhyt_valid: bool | None
    allergies: list[str]
    alerts: list[str]
    no_id_reason: str | None = None


def banner(repo: Repository, patient: dict, today: date) -> Banner:
    pid = patient["id"]
    coverages = _search(repo, "Coverage", [("beneficiary", f"Patient/{pid}"), ("status", "active")])
    bhyt = identifier(patient, BHYT_SYSTEM)
    until = None
    if coverages:
        c = coverages[0]
        bhyt = c.get("subscriberId") or bhyt
        until = c.get("period", {}).get("end")
    valid = None if until is None else until >= today.isoformat()
    allergies = [allergy_rules.substance(a) for a in allergy_rules.active(
        _search(repo, "AllergyIntolerance", [("patient", f"Patient/{pid}")]))]
    alerts = [f.get("code", {}).get("text", "") for f in _search(repo, "Flag", [("patient", f"Patient/{pid}")])
              if f.get("status") == "active"]
    no_id = next((e.get("valueCodeableConcept", {}).get("text") for e in patient.get("extension", [])
                  if e.get("url", "").endswith("/no-identifier-reason")), None)
    return Banner(patient, name_of(patient), age_on(patient.get("birthDate"), today), patient.get("gender", ""),
                  patient.get("birthDate", ""), identifier(patient, CCCD_SYSTEM), bhyt, until, valid, allergies,
                  alerts, no_id)


def visits(repo: Repository, patient_id: str) -> list[dict]:
    return _search(repo, "Encounter", [("subject", f"Patient/{patient_id}"), ("_sort", "-date")])


@dataclass
class VisitRecord:
    encounter: dict
    patient: dict
    observations: list[dict] = field(default_factory=list)
    conditions: dict[str, dict] = field(default_factory=dict)
    notes: list[dict] = field(default_factory=list)
    record: dict | None = None
    summary: dict | None = None
    prescriptions: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    allergies: list[dict] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)     # types the actor may not read

    @property
    def vital_signs(self) -> list[dict]:
        return [o for o in self.observations if _category(o) == "vital-signs"]

    @property
    def lab_results(self) -> dict[str, dict]:
        return {o["id"]: o for o in self.observations if _category(o) == "laboratory"}


def _category(o: dict) -> str:
    return ((o.get("category") or [{}])[0].get("coding") or [{}])[0].get("code", "")


def _type_code(c: dict) -> str:
    return (c.get("type", {}).get("coding") or [{}])[0].get("code", "")


def visit(repo: Repository, encounter: dict, patient: dict) -> VisitRecord:
    eid = encounter["id"]
    by_enc = [("encounter", f"Encounter/{eid}")]
    out = VisitRecord(encounter, patient)
    out.hidden = [t for t in PER_VISIT if not may_read(repo, t)]
    out.observations = sorted(_search(repo, "Observation", by_enc), key=lambda o: o.get("effectiveDateTime", ""))
    out.conditions = {c["id"]: c for c in _search(repo, "Condition", by_enc)}
    out.notes = sorted(_search(repo, "ClinicalImpression", by_enc), key=lambda n: n.get("date", ""))
    for c in _search(repo, "Composition", by_enc):
        if _type_code(c) == RECORD_TYPE["coding"][0]["code"]:
            out.record = c
        elif _type_code(c) == SUMMARY_TYPE["coding"][0]["code"] and c.get("status") != "entered-in-error":
            out.summary = c
    out.prescriptions = sorted(_search(repo, "MedicationRequest", by_enc), key=lambda r: r.get("authoredOn", ""))
    out.orders = sorted(_search(repo, "ServiceRequest", by_enc), key=lambda r: r.get("authoredOn", ""))
    out.reports = _search(repo, "DiagnosticReport", by_enc)
    out.allergies = _search(repo, "AllergyIntolerance", [("patient", f"Patient/{patient['id']}")])
    return out


def patient_vitals(repo: Repository, patient_id: str, limit: int = 200) -> list[dict]:
    """The patient's vital signs over all visits (for the trend chart), oldest first."""
    found = _search(repo, "Observation", [("subject", f"Patient/{patient_id}"), ("category", "vital-signs"),
                                           ("_sort", "-date")])
    return sorted(found[:limit], key=lambda o: o.get("effectiveDateTime", ""))


def report_for(order_id: str, reports: list[dict]) -> dict | None:
    return next((r for r in reports if any(ref_id(b) == order_id for b in r.get("basedOn", []))), None)


def appointment_after(repo: Repository, patient_id: str, since: str) -> dict | None:
    found = _search(repo, "Appointment", [("actor", f"Patient/{patient_id}"), ("status", "booked")])
    later = sorted((a for a in found if a.get("created", "") >= since[:10]), key=lambda a: a.get("start", ""))
    return later[0] if later else None
