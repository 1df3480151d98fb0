"""Vital signs: pulse, temperature, blood pressure, respiratory rate, SpO2, weight, height and the
BMI computed from them, as Observations with the LOINC codes of the FHIR vital-signs profile
(blood pressure as one panel with two components), as the synthetic data writes them.

Each value is checked against what a living person can have (not against normal ranges: a
temperature of 40 °C is abnormal but must be recordable; 400 °C is a typing error)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical.common import LOINC, OBS_CATEGORY, UCUM, Problems, parse_number, ref, stamp
from benhan.store.repository import Repository


@dataclass(frozen=True)
class Vital:
    field: str
    loinc: str
    display: str
    vi: str
    unit: str
    ucum: str
    low: float          # plausible limits for a typing check
    high: float
    normal: tuple[float, float] | None = None   # adult normal range, for the chart's shading


VITALS = (
    Vital("pulse", "8867-4", "Heart rate", "Mạch", "lần/phút", "/min", 20, 250, (60, 100)),
    Vital("temperature", "8310-5", "Body temperature", "Nhiệt độ", "°C", "Cel", 30, 44, (36.0, 37.5)),
    Vital("systolic", "8480-6", "Systolic blood pressure", "Huyết áp tâm thu", "mmHg", "mm[Hg]", 40, 300, (90, 140)),
    Vital("diastolic", "8462-4", "Diastolic blood pressure", "Huyết áp tâm trương", "mmHg", "mm[Hg]", 20, 200,
          (60, 90)),
    Vital("respiratory_rate", "9279-1", "Respiratory rate", "Nhịp thở", "lần/phút", "/min", 4, 80, (12, 20)),
    Vital("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "SpO2", "%", "%", 40, 100,
          (95, 100)),
    Vital("weight", "29463-7", "Body weight", "Cân nặng", "kg", "kg", 0.3, 350),
    Vital("height", "8302-2", "Body height", "Chiều cao", "cm", "cm", 20, 250),
)
BY_FIELD = {v.field: v for v in VITALS}
BY_LOINC = {v.loinc: v for v in VITALS}
BP_PANEL = "85354-9"
BMI = Vital("bmi", "39156-5", "Body mass index (BMI) [Ratio]", "BMI", "kg/m2", "kg/m2", 5, 100, (18.5, 23))


def bmi(weight: float | None, height_cm: float | None) -> float | None:
    if not weight or not height_cm:
        return None
    return round(weight / (height_cm / 100) ** 2, 1)


def check(values: dict[str, str]) -> dict[str, float]:
    p = Problems()
    numbers: dict[str, float] = {}
    for v in VITALS:
        try:
            n = parse_number(values.get(v.field, ""))
        except ValueError:
            p.add(v.field, "ui.err.number")
            continue
        if n is None:
            continue
        if not v.low <= n <= v.high:
            p.add(v.field, "ui.err.range", low=_fmt(v.low), high=_fmt(v.high), unit=v.unit)
            continue
        numbers[v.field] = n
    if ("systolic" in numbers) != ("diastolic" in numbers):
        p.add("diastolic" if "systolic" in numbers else "systolic", "ui.err.bp_pair")
    elif "systolic" in numbers and numbers["diastolic"] >= numbers["systolic"]:
        p.add("diastolic", "ui.err.bp_order")
    if not numbers and not p.errors:
        p.add("pulse", "ui.err.no_vitals")
    p.raise_if_any()
    return numbers


def _fmt(x: float) -> str:
    return f"{x:g}"


def _quantity(v: Vital, value: float) -> dict:
    return {"value": value, "unit": v.unit, "system": UCUM, "code": v.ucum}


def observation(v: Vital, value: float, patient_id: str, encounter_id: str, when: str) -> dict:
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": v.loinc, "display": v.display}], "text": v.vi},
            "subject": ref("Patient", patient_id), "encounter": ref("Encounter", encounter_id),
            "effectiveDateTime": when, "valueQuantity": _quantity(v, value)}


def record(repo: Repository, actor: Actor, patient_id: str, encounter_id: str, values: dict[str, str],
           when: str) -> list[str]:
    """Write the typed vital signs (one transaction); the ids written."""
    numbers = check(values)
    bodies = []
    if "systolic" in numbers:
        bp = {"resourceType": "Observation", "status": "final",
              "category": [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs"}]}],
              "code": {"coding": [{"system": LOINC, "code": BP_PANEL,
                                   "display": "Blood pressure panel with all children optional"}], "text": "Huyết áp"},
              "subject": ref("Patient", patient_id), "encounter": ref("Encounter", encounter_id),
              "effectiveDateTime": when,
              "component": [{"code": {"coding": [{"system": LOINC, "code": BY_FIELD[f].loinc,
                                                  "display": BY_FIELD[f].display}]},
                             "valueQuantity": _quantity(BY_FIELD[f], numbers[f])} for f in ("systolic", "diastolic")]}
        bodies.append(bp)
    for v in VITALS:
        if v.field in numbers and v.field not in ("systolic", "diastolic"):
            bodies.append(observation(v, numbers[v.field], patient_id, encounter_id, when))
    computed = bmi(numbers.get("weight"), numbers.get("height"))
    if computed is not None:
        bodies.append(observation(BMI, computed, patient_id, encounter_id, when))
    pending = [repo.prepare("POST", "Observation", str(uuid.uuid4()), stamp(b, actor), create_only=True)
               for b in bodies]
    return [s.res_id for s in repo.commit(pending, "transaction")]


@dataclass
class Reading:
    """One round of vital signs (what was measured at one time)."""
    when: str
    values: dict[str, float]
    ids: dict[str, str]


def readings(observations: list[dict]) -> list[Reading]:
    """Vital-sign Observations grouped by time, oldest first (entered-in-error ones left out)."""
    by_time: dict[str, Reading] = {}
    for o in observations:
        if o.get("status") == "entered-in-error":
            continue
        codes = {c.get("code") for c in o.get("code", {}).get("coding", [])}
        when = o.get("effectiveDateTime", "")
        r = by_time.setdefault(when, Reading(when, {}, {}))
        if BP_PANEL in codes:
            for comp in o.get("component", []):
                # A component's coding and value are optional in FHIR (another system's panel): skip what is missing.
                value = (comp.get("valueQuantity") or {}).get("value")
                for code in {c.get("code") for c in (comp.get("code") or {}).get("coding", [])}:
                    if code in BY_LOINC and value is not None:
                        r.values[BY_LOINC[code].field] = value
                        r.ids[BY_LOINC[code].field] = o["id"]
        for code in codes:
            v = BY_LOINC.get(code) or (BMI if code == BMI.loinc else None)
            value = (o.get("valueQuantity") or {}).get("value")
            if v and value is not None:
                r.values[v.field] = value
                r.ids[v.field] = o["id"]
    return sorted((r for r in by_time.values() if r.values), key=lambda r: r.when)
