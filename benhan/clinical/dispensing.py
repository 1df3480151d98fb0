"""The pharmacy's dispensing list: prescriptions (MedicationRequest lines grouped by their
prescription number) not yet handed over, with the patient's recorded allergies beside them; handing
one over writes a MedicationDispense per line (quantity as prescribed, who, when), in one transaction.

Stock, lots and expiry come with the pharmacy module (issue 18); this is the list a pharmacist works
from and the record that the medicines left the pharmacy.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from benhan.auth.actor import Actor
from benhan.clinical.common import Problems, age_on, entered_at, name_of, now, ref, ref_id, stamp
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


def dispense(repo: Repository, actor: Actor, number: str, tz: str = "+07:00") -> list[str]:
    """Hand over every undispensed line of prescription `number`; the MedicationDispense ids.
    FormInvalid when there is nothing left to hand over (dispensed already, or cancelled)."""
    pending = [p for p in to_dispense(repo, tz) if p.number == number]
    problems = Problems()
    if not pending:
        problems.add("number", "ui.pharmacy.nothing")
    problems.raise_if_any()
    when = entered_at(tz)
    prepared, ids = [], []
    for line in pending[0].lines:
        body = {"resourceType": "MedicationDispense", "status": "completed",
                "medicationReference": line.get("medicationReference"),
                "medicationCodeableConcept": line.get("medicationCodeableConcept"),
                "subject": line.get("subject"), "context": line.get("encounter"),
                "authorizingPrescription": [ref("MedicationRequest", line["id"])],
                "performer": [{"actor": {"display": actor.display or actor.name}}],
                "quantity": (line.get("dispenseRequest") or {}).get("quantity"),
                "daysSupply": (line.get("dispenseRequest") or {}).get("expectedSupplyDuration"),
                "whenHandedOver": when, "dosageInstruction": line.get("dosageInstruction")}
        body = {k: v for k, v in body.items() if v}
        rid = str(uuid.uuid4())
        ids.append(rid)
        prepared.append(repo.prepare("POST", "MedicationDispense", rid, stamp(body, actor), create_only=True))
    repo.commit(prepared, "transaction")
    return ids
