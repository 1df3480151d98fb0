"""The pharmacy's dispensing list: prescriptions (MedicationRequest lines grouped by their
prescription number) not yet handed over, with the patient's recorded allergies beside them.

Handing one over takes the medicines from stock, lot by lot: benhan.pharmacy.dispense (above this
layer), which writes the MedicationDispense per line and the stock ledger rows in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from benhan.clinical.common import age_on, name_of, now, ref_id
from benhan.store.repository import Repository


@dataclass
class Prescription:
    number: str                     # the prescription's groupIdentifier (one paper prescription)
    patient_id: str
    patient_name: str
    age: int | None
    authored: str
    prescriber: str
    lines: list[dict] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)


def _number(line: dict) -> str:
    return (line.get("groupIdentifier") or {}).get("value") or line["id"]


def to_dispense(repo: Repository, tz: str = "+07:00", limit: int = 300) -> list[Prescription]:
    """Active prescription lines with no dispense yet, grouped per prescription, oldest first."""
    result = repo.search_type("MedicationRequest", [
        ("status", "active"), ("intent", "order"), ("_sort", "authoredon"), ("_count", str(limit)),
        ("_include", "MedicationRequest:subject"), ("_revinclude", "MedicationDispense:prescription")])
    dispensed = {ref_id(p) for v in result.included if v.res_type == "MedicationDispense"
                 for p in v.json().get("authorizingPrescription", [])}
    patients = {v.res_id: v.json() for v in result.included if v.res_type == "Patient"}
    today = now(tz).date()
    groups: dict[str, Prescription] = {}
    for match in result.matches:
        line = match.json()
        if line["id"] in dispensed:
            continue
        pid = ref_id(line.get("subject")) or ""
        patient = patients.get(pid, {})
        number = _number(line)
        if number not in groups:
            groups[number] = Prescription(number, pid, name_of(patient) if patient else "",
                                          age_on(patient.get("birthDate"), today), line.get("authoredOn", ""),
                                          (line.get("requester") or {}).get("display", ""))
        groups[number].lines.append(line)
    _add_allergies(repo, list(groups.values()))
    return list(groups.values())


def _add_allergies(repo: Repository, prescriptions: list[Prescription]) -> None:
    ids = sorted({p.patient_id for p in prescriptions if p.patient_id})
    by_patient: dict[str, list[str]] = {}
    for start in range(0, len(ids), 50):
        found = repo.search_type("AllergyIntolerance", [
            ("patient", ",".join(f"Patient/{i}" for i in ids[start:start + 50])),
            ("clinical-status:not", "resolved"), ("verification-status:not", "entered-in-error"), ("_count", "500")])
        for match in found.matches:
            allergy = match.json()
            text = (allergy.get("code") or {}).get("text") or next(
                (c.get("display") or c.get("code", "") for c in (allergy.get("code") or {}).get("coding", [])), "")
            by_patient.setdefault(ref_id(allergy.get("patient")) or "", []).append(text)
    for p in prescriptions:
        p.allergies = by_patient.get(p.patient_id, [])
