"""FHIR resources of one piece of care: an encounter, its vital signs (LOINC codes of the FHIR
vital-signs profile, blood pressure as a panel with two components), diagnoses (Condition, ICD-10),
lab results (Observation + DiagnosticReport, with units, reference ranges and interpretation
flags) and prescriptions (MedicationRequest).

Values follow the patient: a hypertensive patient's blood pressure runs high, a diabetic's glucose
and HbA1c too, a febrile illness raises the temperature and the white count.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from benhan.clinical.catalogue.layouts import DRUG, SERVICE
from benhan.clinical.catalogue.resources import BASE as CATALOGUE_BASE, COST_GROUP, COST_GROUP_NAMES, item_id
from benhan.clinical.demo_catalogue import drug_code, panel_services
from benhan.clinical.orders import PANEL_NAMES, PANEL_SYSTEM, SNOMED
from benhan.clinical.synth.catalog import DRUGS, ICD10, Diagnosis, icd10_names
from benhan.terminology.curated import ENCOUNTER_TYPE_URL, ENCOUNTER_TYPES
from benhan.terminology.labs import BY_CODE, LOINC, PANELS, UCUM, LabTest
from benhan.vn.identifiers import MA_LK_SYSTEM

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
# Standard codes (category, interpretation) carry no display: they are indexed for :text search
# several times each, and a display adds nothing a reader of these codes needs.
FEVERISH = {"J02.9", "J03.9", "J20.9", "B34.9", "A97.0", "J18.9", "N39.0", "J44.1", "K35.8", "J06.9", "A09.0"}
# Panels with a LOINC panel code (the others are reported under their single test or a text name).
PANEL_CODES = {"cbc": ("58410-2", "CBC panel - Blood by Automated count", "Tổng phân tích tế bào máu ngoại vi"),
               "lipids": ("57698-3", "Lipid panel with direct LDL - Serum or Plasma", "Bộ mỡ máu"),
               "liver": ("24325-3", "Hepatic function 2000 panel - Serum or Plasma", "Chức năng gan"),
               "electrolytes": ("24326-1", "Electrolytes 1998 panel - Serum or Plasma", "Điện giải đồ"),
               "renal": ("24362-6", "Renal function 2000 panel - Serum or Plasma", "Chức năng thận"),
               "urinalysis": ("24356-8", "Urinalysis complete panel - Urine", "Tổng phân tích nước tiểu"),
               "blood-gas": ("24336-0", "Gas panel - Arterial blood", "Khí máu động mạch")}
PANEL_TEXT = {"coagulation": "Đông máu cơ bản", "thyroid": "Chức năng tuyến giáp", "cardiac": "Men tim, NT-proBNP"}
_TYPE = {code: (name, klass, loai) for code, name, klass, loai in ENCOUNTER_TYPES}


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ref(res_type: str, res_id: str) -> dict:
    return {"reference": f"{res_type}/{res_id}"}


@dataclass
class Context:
    """Who and where: the patient and what is known about them, the facility and its staff."""
    rng: random.Random
    patient_id: str
    female: bool
    age: int
    chronic: list[Diagnosis]
    organization_id: str
    facility_code: str
    practitioners: list[str]
    out: list[dict] = field(default_factory=list)

    @property
    def patient(self) -> dict:
        return ref("Patient", self.patient_id)


def encounter(ctx: Context, type_code: str, start: datetime, end: datetime, status: str = "finished",
              diagnoses: list[str] = (), location: str | None = None, extra: dict | None = None) -> str:  # type: ignore[assignment]
    name, klass, _ = _TYPE[type_code]
    eid = new_id(ctx.rng)
    body = {
        "resourceType": "Encounter", "id": eid, "status": status,
        # MA_LK: the episode key of the BHYT claim (DESIGN §10), given when the visit opens.
        "identifier": [{"system": MA_LK_SYSTEM, "value": f"{ctx.facility_code}{start:%y%m%d}{eid[:8].upper()}"}],
        "class": {"system": ACT_CODE, "code": klass},
        "type": [{"coding": [{"system": ENCOUNTER_TYPE_URL, "code": type_code, "display": name}]}],
        "subject": ctx.patient,
        "participant": [{"individual": ref("Practitioner", ctx.rng.choice(ctx.practitioners))}],
        "period": {"start": start.isoformat(), "end": end.isoformat()} if status == "finished"
        else {"start": start.isoformat()},
        "serviceProvider": ref("Organization", ctx.organization_id),
    }
    if diagnoses:
        body["diagnosis"] = [{"condition": ref("Condition", c), "rank": i + 1} for i, c in enumerate(diagnoses)]
    if location:
        body["location"] = [{"location": ref("Location", location)}]
    if extra:
        body.update(extra)
    ctx.out.append(body)
    return eid


def condition(ctx: Context, cid: str, dx: Diagnosis, encounter_id: str, when: datetime, *,
              problem_list: bool = False, resolved: bool = False) -> None:
    name = icd10_names()[dx.code]
    ctx.out.append({
        "resourceType": "Condition", "id": cid,
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "resolved" if resolved else "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY,
                                  "code": "problem-list-item" if problem_list else "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": ICD10, "code": dx.code, "display": name}], "text": name},
        "subject": ctx.patient, "encounter": ref("Encounter", encounter_id),
        "recordedDate": when.isoformat(),
    })


# --- vital signs --------------------------------------------------------------------------------

def _vital(ctx: Context, enc: str, when: datetime, code: str, display: str, value: float, unit: str,
           ucum: str, extra_coding: list[dict] = ()) -> None:  # type: ignore[assignment]
    ctx.out.append({
        "resourceType": "Observation", "id": new_id(ctx.rng), "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}, *extra_coding]},
        "subject": ctx.patient, "encounter": ref("Encounter", enc), "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": ucum},
    })


def _has(ctx: Context, code: str) -> bool:
    return any(d.code == code for d in ctx.chronic)


def vital_signs(ctx: Context, enc: str, when: datetime, *, febrile: bool = False, full: bool = True) -> None:
    rng, age = ctx.rng, ctx.age
    sys_mean = 105 + 0.5 * max(age - 18, 0) + (22 if _has(ctx, "I10") else 0) if age >= 12 else 100
    systolic = round(rng.gauss(sys_mean, 11))
    diastolic = round(max(45, min(systolic - 25, rng.gauss(systolic * 0.62, 6))))
    bp_id = new_id(rng)
    ctx.out.append({
        "resourceType": "Observation", "id": bp_id, "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": "85354-9",
                             "display": "Blood pressure panel with all children optional"}], "text": "Huyết áp"},
        "subject": ctx.patient, "encounter": ref("Encounter", enc), "effectiveDateTime": when.isoformat(),
        "component": [
            {"code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
             "valueQuantity": {"value": systolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
             "valueQuantity": {"value": diastolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}],
    })
    hr = round(rng.gauss(125 - 4 * age if age < 10 else 78, 9) + (12 if febrile else 0))
    _vital(ctx, enc, when, "8867-4", "Heart rate", hr, "lần/phút", "/min")
    temp = round(rng.gauss(38.6, 0.5) if febrile else rng.gauss(36.8, 0.25), 1)
    _vital(ctx, enc, when, "8310-5", "Body temperature", temp, "°C", "Cel")
    if not full:
        return
    if rng.random() < 0.5:
        rr = round(rng.gauss(30 - age if age < 10 else 18, 2) + (4 if febrile else 0))
        _vital(ctx, enc, when, "9279-1", "Respiratory rate", rr, "lần/phút", "/min")
    if rng.random() < 0.4:
        spo2 = round(min(100, rng.gauss(97.5, 1.2)))
        _vital(ctx, enc, when, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", spo2, "%", "%",
               [{"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"}])
    weight, height = body_size(ctx)
    _vital(ctx, enc, when, "29463-7", "Body weight", weight, "kg", "kg")
    if rng.random() < 0.3:
        _vital(ctx, enc, when, "8302-2", "Body height", height, "cm", "cm")
        _vital(ctx, enc, when, "39156-5", "Body mass index (BMI) [Ratio]", round(weight / (height / 100) ** 2, 1),
               "kg/m2", "kg/m2")


def body_size(ctx: Context) -> tuple[float, float]:
    """Weight (kg) and height (cm) of a Vietnamese person of this age and sex (rough averages)."""
    rng, age = ctx.rng, ctx.age
    if age < 18:
        height = 50 + min(age, 17) * 6.3 + rng.gauss(0, 4)
        weight = 3.2 + min(age, 17) * 2.9 + rng.gauss(0, 2)
    else:
        height = rng.gauss(154 if ctx.female else 165, 5.5)
        weight = rng.gauss(52 if ctx.female else 62, 8) + (6 if _has(ctx, "E11.9") else 0)
    return round(max(2.5, weight), 1), round(height, 1)


# --- laboratory ---------------------------------------------------------------------------------

# How a condition moves a test: code → (mean, sd), in the test's unit.
SHIFTS: dict[str, dict[str, tuple[float, float]]] = {
    "E11.9": {"14749-6": (8.6, 2.2), "4548-4": (7.6, 1.1), "14743-9": (9.5, 2.5)},
    "E78.5": {"14647-2": (6.3, 0.7), "22748-8": (4.1, 0.6), "14927-8": (2.6, 0.9)},
    "N18.9": {"14682-9": (190, 60), "22664-7": (13, 4), "62238-1": (42, 12), "718-7": (108, 12)},
    "I50.9": {"33762-6": (1800, 900)}, "I50.0": {"33762-6": (3500, 1500)},
    "J18.9": {"6690-2": (14.5, 3.5), "770-8": (82, 6), "751-8": (11.5, 3), "1988-5": (85, 45)},
    "A97.0": {"777-3": (75, 30), "6690-2": (3.3, 0.8), "4544-3": (46, 3), "1920-8": (110, 50), "1742-6": (80, 40)},
    "N39.0": {"5821-4": (28, 12), "6690-2": (11.5, 2.5), "1988-5": (30, 20)},
    "K92.2": {"718-7": (85, 15), "4544-3": (27, 5)}, "J44.1": {"2019-8": (52, 6), "2703-7": (65, 8), "2744-1": (7.33, 0.04)},
    "K35.8": {"6690-2": (15, 3), "770-8": (84, 5), "1988-5": (60, 35)},
    "I63.9": {"14749-6": (7.5, 1.8)}, "M10.99": {"14933-6": (520, 70)},
}


def lab_value(test: LabTest, female: bool, rng: random.Random, shift: tuple[float, float] | None) -> float:
    low, high = test.range_for(female)
    if shift:
        mean, sd = shift
    elif low is not None and high is not None:
        mean, sd = ((low + high) / 2, (high - low) / 4.2) if low > 0 else (high * 0.45, high / 4)
    elif low is not None:
        mean, sd = low * 1.15, low * 0.12
    else:
        mean, sd = (high or 1) * 0.6, (high or 1) * 0.2
    value = rng.gauss(mean, sd)
    floor = 0.0 if test.unit != "[pH]" else 6.8
    return round(max(floor, value), test.decimals) if test.decimals else float(round(max(floor, value)))


def interpretation(value: float, low: float | None, high: float | None) -> str:
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    return "N"


def lab_panel(ctx: Context, panel: str, enc: str, when: datetime, dx_codes: list[str]) -> None:
    """The panel's Observations and the DiagnosticReport that groups them."""
    rng = ctx.rng
    shifts: dict[str, tuple[float, float]] = {}
    for code in [d.code for d in ctx.chronic] + dx_codes:
        shifts.update(SHIFTS.get(code, {}))
    issued = when + timedelta(hours=rng.randint(1, 4))
    result_ids = []
    for loinc in PANELS[panel]:
        test = BY_CODE[loinc]
        value = lab_value(test, ctx.female, rng, shifts.get(loinc))
        low, high = test.range_for(ctx.female)
        flag = interpretation(value, low, high)
        rng_ = {}
        if low is not None:
            rng_["low"] = {"value": low, "unit": test.unit, "system": UCUM, "code": test.unit}
        if high is not None:
            rng_["high"] = {"value": high, "unit": test.unit, "system": UCUM, "code": test.unit}
        oid = new_id(rng)
        result_ids.append(oid)
        ctx.out.append({
            "resourceType": "Observation", "id": oid, "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": loinc, "display": test.name_en}], "text": test.name_vi},
            "subject": ctx.patient, "encounter": ref("Encounter", enc),
            "effectiveDateTime": when.isoformat(), "issued": issued.isoformat(),
            "valueQuantity": {"value": value, "unit": test.unit, "system": UCUM, "code": test.unit},
            "interpretation": [{"coding": [{"system": INTERPRETATION, "code": flag}]}],
            "referenceRange": [{**rng_, "text": "Người lớn " + ("nữ" if ctx.female else "nam")}],
        })
    if panel in PANEL_CODES:
        code, en, vi = PANEL_CODES[panel]
        report_code = {"coding": [{"system": LOINC, "code": code, "display": en}], "text": vi}
    elif len(PANELS[panel]) == 1:
        test = BY_CODE[PANELS[panel][0]]
        report_code = {"coding": [{"system": LOINC, "code": test.loinc, "display": test.name_en}], "text": test.name_vi}
    else:
        report_code = {"text": PANEL_TEXT[panel]}
    report_id = new_id(rng)
    order = _lab_order(ctx, panel, enc, when, report_id)
    ctx.out.append({
        "resourceType": "DiagnosticReport", "id": report_id, "status": "final",
        **({"basedOn": [ref("ServiceRequest", order)]} if order else {}),
        "category": [{"coding": [{"system": DIAGNOSTIC_SERVICE, "code": "LAB", "display": "Laboratory"}]}],
        "code": report_code, "subject": ctx.patient, "encounter": ref("Encounter", enc),
        "effectiveDateTime": when.isoformat(), "issued": issued.isoformat(),
        "performer": [ref("Organization", ctx.organization_id)],
        "result": [ref("Observation", i) for i in result_ids],
    })


def _lab_order(ctx: Context, panel: str, enc: str, when: datetime, report_id: str) -> str | None:
    """The order behind a lab panel, as the order form writes it (clinical/orders.py place: the panel's
    code, the demo catalogue's laboratory services it is billed as), so the demo visit bills its tests.
    Its id comes from the report's, not from the random stream: the rest of the record stays as it was."""
    services = panel_services(panel)
    if not services:
        return None                  # no service in the catalogue: the app's own order would not bill either
    oid = str(uuid.uuid5(uuid.UUID(report_id), "service-request"))
    urls = [f"{CATALOGUE_BASE}/ActivityDefinition/{item_id(SERVICE, code)}" for code, _ in services]
    ctx.out.append({
        "resourceType": "ServiceRequest", "id": oid, "status": "completed", "intent": "order",
        "instantiatesCanonical": urls,
        "category": [{"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}],
                      "text": "Xét nghiệm"},
                     {"coding": [{"system": COST_GROUP, "code": "1", "display": COST_GROUP_NAMES["1"]}]}],
        "code": {"coding": [{"system": PANEL_SYSTEM, "code": panel}], "text": PANEL_NAMES.get(panel, panel)},
        "subject": ctx.patient, "encounter": ref("Encounter", enc), "authoredOn": when.isoformat(),
        "requester": ref("Practitioner", ctx.practitioners[int(oid[:8], 16) % len(ctx.practitioners)]),
    })
    return oid


# --- prescriptions ------------------------------------------------------------------------------

def prescription(ctx: Context, drug_name: str, enc: str, when: datetime, days: int, *, active: bool = False) -> None:
    drug = DRUGS[drug_name]
    qty = drug.per_day * days
    ctx.out.append({
        "resourceType": "MedicationRequest", "id": new_id(ctx.rng),
        "status": "active" if active else "completed", "intent": "order",
        # The demo catalogue's Medication (demo_catalogue.py), as the prescription form writes it, so
        # the visit bills the drug; its ATC code and ingredients are on that Medication.
        "medicationReference": {"reference": f"Medication/{item_id(DRUG, drug_code(drug.atc))}",
                                "display": drug.name},
        "subject": ctx.patient, "encounter": ref("Encounter", enc), "authoredOn": when.isoformat(),
        "requester": ref("Practitioner", ctx.rng.choice(ctx.practitioners)),
        "dosageInstruction": [{
            "text": drug.text, "route": {"text": drug.route},
            "timing": {"repeat": {"frequency": drug.per_day, "period": 1, "periodUnit": "d",
                                  "boundsDuration": {"value": days, "unit": "ngày", "system": UCUM, "code": "d"}}},
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": drug.unit}}],
        }],
        "dispenseRequest": {"quantity": {"value": qty, "unit": drug.unit},
                            "expectedSupplyDuration": {"value": days, "unit": "ngày", "system": UCUM, "code": "d"}},
    })
