"""Fluid balance (theo dõi dịch vào – ra) of an inpatient stay: what the nurse measured over her shift, and
each day's totals and balance.

Each entry is an Observation (status final) the nurse writes at the end of a shift: `code` benhan's
CodeSystem fluid-balance — `intake` (dịch vào: drunk, fed, infused), `urine` (nước tiểu), `other-output`
(dịch ra khác: drains, vomit, stools measured) — `valueQuantity` in mL (UCUM), `effectiveDateTime` when the
shift's measurement ended, `encounter` the stay. Why not LOINC: the LOINC codes the vital-signs chart reads,
9108-2 "Fluid intake total 24 hour" and 9187-6 "Urine output (24 hour)", are 24-hour totals; a shift's
amount is not one. Those 24-hour Observations (written by another system, or an API client) still count:
for a day that has one, it is that day's total of its kind instead of the sum of the shift entries.

A day is the facility's local calendar day of the entry's time. The balance is intake − (urine + other).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from benhan.auth.actor import Actor
from benhan.clinical.common import BENHAN, Problems, parse_number, ref, ref_id, stamp
from benhan.store.repository import Repository

SYSTEM = f"{BENHAN}/CodeSystem/fluid-balance"
LOINC = "http://loinc.org"
INTAKE_24H = "9108-2"       # Fluid intake total 24 hour
URINE_24H = "9187-6"        # Urine output (24 hour)
KINDS = {"intake": ("Dịch vào", "Fluid intake"), "urine": ("Nước tiểu", "Urine output"),
         "other-output": ("Dịch ra khác", "Other fluid output")}
MAX_ML = 20_000             # more than any one shift's measure: a typing slip


@dataclass
class Day:
    day: date
    amounts: dict[str, float] = field(default_factory=dict)    # kind → mL

    @property
    def intake(self) -> float:
        return self.amounts.get("intake", 0.0)

    @property
    def output(self) -> float:
        return self.amounts.get("urine", 0.0) + self.amounts.get("other-output", 0.0)

    @property
    def balance(self) -> float:
        return self.intake - self.output


def entry(kind: str, ml: float, patient_id: str, encounter_id: str, when: str) -> dict:
    vi, en = KINDS[kind]
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": SYSTEM, "code": kind, "display": en}], "text": vi},
            "subject": ref("Patient", patient_id), "encounter": ref("Encounter", encounter_id),
            "effectiveDateTime": when,
            "valueQuantity": {"value": ml, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"}}


def record(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], when: str) -> str:
    """The nurse's entry (fields fluid_kind, fluid_ml), at `when` (the time it is recorded); its id.
    FormInvalid, field by field, for a kind not known or an amount not a number from 0 to MAX_ML."""
    p = Problems()
    kind = (values.get("fluid_kind") or "").strip()
    if kind not in KINDS:
        p.add("fluid_kind", "ui.err.choose")
    try:
        ml = parse_number(values.get("fluid_ml", ""))
    except ValueError:
        ml = None
        p.add("fluid_ml", "ui.err.number")
    else:
        if ml is None:
            p.add("fluid_ml", "ui.err.required")
        elif not 0 <= ml <= MAX_ML:
            p.add("fluid_ml", "ui.err.range", low="0", high=str(MAX_ML), unit="mL")
    p.raise_if_any()
    patient_id = ref_id(encounter.get("subject")) or ""
    body = entry(kind, ml, patient_id, encounter["id"], when)
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "Observation", rid, stamp(body, actor), create_only=True)], "create")
    return rid


def _kind(o: dict) -> tuple[str, bool] | None:
    """(kind, whether a 24-hour total) of a fluid Observation; None for any other Observation."""
    for c in (o.get("code") or {}).get("coding") or []:
        if c.get("system") == SYSTEM and c.get("code") in KINDS:
            return c["code"], False
        if c.get("system") == LOINC and c.get("code") in (INTAKE_24H, URINE_24H):
            return ("intake" if c["code"] == INTAKE_24H else "urine"), True
    return None


def days(observations: list[dict], tz: timezone) -> list[Day]:
    """Each day's totals in mL, oldest first, from the stay's Observations (others ignored, as are entries
    entered in error, without a value, or without a time and offset)."""
    shifts: dict[tuple[date, str], float] = {}
    totals: dict[tuple[date, str], tuple[datetime, float]] = {}     # the latest 24-hour total of the day
    for o in observations:
        kind = _kind(o)
        value = (o.get("valueQuantity") or {}).get("value")
        if kind is None or value is None or o.get("status") == "entered-in-error":
            continue
        try:
            at = datetime.fromisoformat((o.get("effectiveDateTime") or "").replace("Z", "+00:00"))
        except ValueError:
            continue
        if at.tzinfo is None:
            continue
        key = (at.astimezone(tz).date(), kind[0])
        if kind[1]:
            if key not in totals or at >= totals[key][0]:
                totals[key] = (at, float(value))
        else:
            shifts[key] = shifts.get(key, 0.0) + float(value)
    out: dict[date, Day] = {}
    for (day, kind), ml in shifts.items():
        out.setdefault(day, Day(day)).amounts[kind] = ml
    for (day, kind), (_, ml) in totals.items():
        out.setdefault(day, Day(day)).amounts[kind] = ml
    return [out[d] for d in sorted(out)]
