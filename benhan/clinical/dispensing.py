"""The pharmacy's dispensing list: prescriptions (MedicationRequest lines grouped by their
prescription number) not yet handed over, with the patient's recorded allergies beside them.

Handing one over takes the medicines from stock, lot by lot: benhan.pharmacy.dispense (above this
layer), which writes the MedicationDispense per line and the stock ledger rows in one transaction.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

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


# How far back the queue looks: a prescription may be collected for 5 days after it is written
# (TT 26/2025 Đ12 k9 b), so a week holds every one still to hand over, and the queue does not
# re-read every line ever dispensed (a dispensed line stays active: its order is not over).
QUEUE_DAYS = 7


def to_dispense(repo: Repository, tz: str = "+07:00", limit: int = 300, *, number: str | None = None,
                today: date | None = None, patients: list[str] | None = None) -> list[Prescription]:
    """Active prescription lines of the last QUEUE_DAYS with no dispense yet, grouped per
    prescription, oldest first: the first `limit` prescriptions (`number`: that one only;
    `patients`: those of these Patient ids only). Read page after page until they are found — a
    dispensed line stays active, and taking one page of the oldest active lines had shown an empty
    queue once that page was all dispensed."""
    today = today or now(tz).date()
    if patients is not None and not patients:
        return []
    items = [("status", "active"), ("intent", "order"), ("authoredon", f"ge{(today - timedelta(days=QUEUE_DAYS)).isoformat()}"),
             ("_sort", "authoredon"), ("_include", "MedicationRequest:subject"),
             ("_revinclude", "MedicationDispense:prescription")]
    if patients:
        items.append(("subject", ",".join(f"Patient/{p}" for p in patients)))
    groups: dict[str, Prescription] = {}
    for line, patient in _undispensed(repo, items):
        key = _number(line)
        if number is not None and key != number:
            continue
        if key not in groups:
            if len(groups) >= limit:        # the lines of one prescription are written together: the rest are whole
                break
            groups[key] = Prescription(key, ref_id(line.get("subject")) or "", name_of(patient) if patient else "",
                                       age_on(patient.get("birthDate"), today), line.get("authoredOn", ""),
                                       (line.get("requester") or {}).get("display", ""))
        groups[key].lines.append(line)
    _add_allergies(repo, list(groups.values()))
    return list(groups.values())


def _undispensed(repo: Repository, items: list[tuple[str, str]]) -> Iterator[tuple[dict, dict]]:
    """(line, its patient) of each line the search finds with no dispense yet, page after page."""
    for page in repo.search_pages("MedicationRequest", items):
        dispensed = {ref_id(p) for v in page.included if v.res_type == "MedicationDispense"
                     for p in v.json().get("authorizingPrescription", [])}
        patients = {v.res_id: v.json() for v in page.included if v.res_type == "Patient"}
        for match in page.matches:
            line = match.json()
            if line["id"] not in dispensed:
                yield line, patients.get(ref_id(line.get("subject")) or "", {})


def _add_allergies(repo: Repository, prescriptions: list[Prescription]) -> None:
    ids = sorted({p.patient_id for p in prescriptions if p.patient_id})
    by_patient: dict[str, list[str]] = {}
    # Every one of them, page after page: the allergy left off a page is the one dispensed against.
    for match in repo.search_all_among("AllergyIntolerance", "patient", (f"Patient/{i}" for i in ids), [
            ("clinical-status:not", "resolved"), ("verification-status:not", "entered-in-error")]):
        allergy = match.json()
        text = (allergy.get("code") or {}).get("text") or next(
            (c.get("display") or c.get("code", "") for c in (allergy.get("code") or {}).get("coding", [])), "")
        by_patient.setdefault(ref_id(allergy.get("patient")) or "", []).append(text)
    for p in prescriptions:
        p.allergies = by_patient.get(p.patient_id, [])
