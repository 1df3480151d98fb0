"""Infusions given on an inpatient stay, one bottle or bag a row, recorded by the nurse on the visit page:
the paper is 07/BV2 Phiếu theo dõi truyền dịch (TT 32/2023 PL XXIX; its items secondary, docs/forms.md).

FHIR R4: a `MedicationAdministration` per bottle — `medicationReference` a contained `Medication` (the fluid's
name as its code's text, the batch as `batch.lotNumber`: R4 keeps the lot on the Medication), `context` the
stay, `effectivePeriod` start and end (in-progress while it runs), `dosage.dose` the volume in ml and
`dosage.rateQuantity` the drops per minute, `performer` the nurse, `request`-less: the doctor who ordered it as
a second performer (function "Bác sĩ chỉ định"), since benhan's drug orders are not tied to each bottle."""
from __future__ import annotations

import uuid
from datetime import datetime

from benhan.auth.actor import Actor
from benhan.clinical import procedures
from benhan.clinical.common import Problems, parse_number, ref, ref_id, stamp
from benhan.store.repository import Repository

SNOMED = "http://snomed.info/sct"
NURSE = {"system": SNOMED, "code": "224535009", "display": "Registered nurse"}
PHYSICIAN = {"system": SNOMED, "code": "309343006", "display": "Physician"}
UCUM = "http://unitsofmeasure.org"


def record(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], tz: str = "+07:00",
           clock: datetime | None = None) -> str:
    """Record one bottle given; its MedicationAdministration id. Refused field by field when incomplete."""
    p = Problems()
    v = {k: (x or "").strip() for k, x in values.items()}
    fluid, lot = v.get("inf_fluid", ""), v.get("inf_lot", "")
    if not fluid:
        p.add("inf_fluid", "ui.err.required")
    numbers = {}
    for field, low, high, unit, required in (("inf_volume", 1, 5000, "ml", True),
                                             ("inf_rate", 1, 200, "giọt/phút", False)):
        try:
            n = parse_number(v.get(field, ""))
        except ValueError:
            p.add(field, "ui.err.number")
            continue
        if n is None:
            if required:
                p.add(field, "ui.err.required")
        elif not low <= n <= high:
            p.add(field, "ui.err.range", low=str(low), high=str(high), unit=unit)
        else:
            numbers[field] = n
    start = procedures._when(p, "inf_start", v.get("inf_start", ""), encounter, tz, clock)
    end = None
    if v.get("inf_end"):
        end = procedures._when(p, "inf_end", v["inf_end"], encounter, tz, clock)
        if start and end and end <= start:
            p.add("inf_end", "ui.tx.err.end")
    staff = dict(procedures.practitioners(repo))
    nurse, doctor = v.get("inf_nurse", ""), v.get("inf_doctor", "")
    if nurse not in staff:
        p.add("inf_nurse", "ui.err.choose" if nurse else "ui.err.required")
    if doctor and doctor not in staff:
        p.add("inf_doctor", "ui.err.choose")
    p.raise_if_any()
    medication: dict = {"resourceType": "Medication", "id": "fluid", "code": {"text": fluid}}
    if lot:
        medication["batch"] = {"lotNumber": lot}
    dosage: dict = {"dose": {"value": numbers["inf_volume"], "unit": "ml", "system": UCUM, "code": "mL"}}
    if "inf_rate" in numbers:
        dosage["rateQuantity"] = {"value": numbers["inf_rate"], "unit": "giọt/phút", "system": UCUM,
                                  "code": "{drops}/min"}
    body = {"resourceType": "MedicationAdministration", "status": "completed" if end else "in-progress",
            "contained": [medication], "medicationReference": {"reference": "#fluid", "display": fluid},
            "subject": ref("Patient", ref_id(encounter.get("subject")) or ""),
            "context": ref("Encounter", encounter["id"]),
            "effectivePeriod": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
            "performer": [{"function": {"coding": [NURSE], "text": "Điều dưỡng thực hiện"},
                           "actor": ref("Practitioner", nurse, staff[nurse])}],
            "dosage": dosage}
    if doctor:
        body["performer"].append({"function": {"coding": [PHYSICIAN], "text": "Bác sĩ chỉ định"},
                                  "actor": ref("Practitioner", doctor, staff[doctor])})
    mid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "MedicationAdministration", mid, stamp(body, actor), create_only=True)],
                "create")
    return mid


def of_visit(repo: Repository, encounter_id: str) -> list[dict]:
    """The stay's infusions (not those entered in error), in the order they started."""
    found = repo.search_all("MedicationAdministration", [("context", f"Encounter/{encounter_id}")])
    items = [m.json() for m in found if m.json().get("status") != "entered-in-error"
             and (m.json().get("medicationReference") or {}).get("reference") == "#fluid"]
    return sorted(items, key=lambda x: (x.get("effectivePeriod") or {}).get("start", ""))


def fluid(item: dict) -> str:
    return next(((c.get("code") or {}).get("text", "") for c in item.get("contained", [])
                 if c.get("resourceType") == "Medication"), "")


def lot(item: dict) -> str:
    return next(((c.get("batch") or {}).get("lotNumber", "") for c in item.get("contained", [])
                 if c.get("resourceType") == "Medication"), "")


def volume(item: dict) -> float | None:
    return ((item.get("dosage") or {}).get("dose") or {}).get("value")


def rate(item: dict) -> float | None:
    return ((item.get("dosage") or {}).get("rateQuantity") or {}).get("value")


def performer(item: dict, function: dict) -> dict | None:
    return next((x.get("actor") for x in item.get("performer", [])
                 if any(c.get("code") == function["code"] for c in (x.get("function") or {}).get("coding", []))), None)
