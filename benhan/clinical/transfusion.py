"""A blood transfusion, one unit (one bag) at a time, recorded by the nurse who gave it on the inpatient
visit page: the paper is the transfusion sheet (phiếu truyền máu; no TT 32/2023 code found — printed in
the widely used old layout, its code a setting, documents.forms.transfusion_sheet).

FHIR R4, chosen so each part sits where a FHIR reader looks for it:
- a `Procedure` per unit, code SNOMED CT 116859006 "Transfusion of blood product", `performedPeriod`
  (start, end), `performer` the nurse (function SNOMED 224535009 Registered nurse) and the ordering
  doctor (309343006 Physician), `complication` the reaction and an extension what was done about it;
- the unit itself as a contained `BiologicallyDerivedProduct` in `usedReference` (R4 has it for blood
  products: `productCategory`, `productCode`, the bag number as `identifier`), with the volume and the
  unit's ABO/Rh group as extensions (R4 has no element for them); contained, because the bag exists for
  the record only through this transfusion (no blood-bank stock is kept in benhan);
- the order's words, the rate in drops per minute, the patient's ABO/Rh group and the two bedside checks
  (định nhóm tại giường, phản ứng chéo) as extensions of the Procedure: they are facts of this
  transfusion as performed, not separate measurements anyone queries alone;
- the pulse, blood pressure and temperature taken during it as ordinary vital-sign `Observation`s
  (clinical.vitals codes) with `partOf` the Procedure: they are real readings of the patient, so the
  visit's vital-signs table and chart show them too.

Both bedside checks must be compatible for the unit to be recorded as transfused: a unit that failed
one is not given, and recording it as given would be a false record.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from benhan.auth.actor import Actor
from benhan.clinical import procedures, vitals
from benhan.clinical.common import BENHAN, Problems, parse_number, ref, ref_id, stamp
from benhan.store.repository import Repository

SNOMED = "http://snomed.info/sct"
TRANSFUSION = {"system": SNOMED, "code": "116859006", "display": "Transfusion of blood product"}
NURSE = {"system": SNOMED, "code": "224535009", "display": "Registered nurse"}
PHYSICIAN = {"system": SNOMED, "code": "309343006", "display": "Physician"}
PRODUCT_SYSTEM = f"{BENHAN}/CodeSystem/blood-product"
BAG_SYSTEM = f"{BENHAN}/NamingSystem/blood-bag"
GROUP_SYSTEM = f"{BENHAN}/CodeSystem/abo-rh"
CHECK_SYSTEM = f"{BENHAN}/CodeSystem/transfusion-check"
EXT = {name: f"{BENHAN}/StructureDefinition/transfusion-{name}" for name in (
    "order",             # the doctor's order, as written (y lệnh)
    "rate",              # drops per minute
    "patient-group",     # the patient's ABO/Rh
    "unit-group",        # the unit's ABO/Rh (on the contained product)
    "volume",            # the unit's volume, ml (on the contained product)
    "bedside-check",     # định nhóm máu tại giường
    "crossmatch",        # phản ứng chéo
    "reaction-action")}  # what was done about a reaction

# The products (vi, en, R4 productCategory).
PRODUCTS = {"hong-cau": ("Khối hồng cầu", "Red cell concentrate", "cells"),
            "mau-toan-phan": ("Máu toàn phần", "Whole blood", "fluid"),
            "huyet-tuong": ("Huyết tương tươi đông lạnh", "Fresh frozen plasma", "fluid"),
            "tieu-cau": ("Khối tiểu cầu", "Platelet concentrate", "cells"),
            "tua-lanh": ("Tủa lạnh yếu tố VIII", "Cryoprecipitate", "fluid")}
GROUPS = {f"{abo}{rh}": (f"{abo} Rh({rh})",) * 2
          for abo in ("O", "A", "B", "AB") for rh in ("+", "-")}
CHECKS = {"phu-hop": ("Phù hợp", "Compatible"), "khong-phu-hop": ("Không phù hợp", "Not compatible")}
CHECK_ROWS = 4           # rows of checks during the transfusion on the page's form
BP = re.compile(r"^\s*(\d{2,3})\s*/\s*(\d{2,3})\s*$")


@dataclass(frozen=True)
class Check:
    """One round of checks during the transfusion."""
    when: str            # ISO
    pulse: float | None = None
    systolic: float | None = None
    diastolic: float | None = None
    temperature: float | None = None


def _choice(p: Problems, v: dict[str, str], field: str, options: dict, required: bool = True) -> str:
    value = v.get(field, "")
    if not value:
        if required:
            p.add(field, "ui.err.required")
    elif value not in options:
        p.add(field, "ui.err.choose")
    return value


def _vital(p: Problems, field: str, text: str, vital: vitals.Vital) -> float | None:
    try:
        n = parse_number(text)
    except ValueError:
        p.add(field, "ui.err.number")
        return None
    if n is not None and not vital.low <= n <= vital.high:
        p.add(field, "ui.err.range", low=f"{vital.low:g}", high=f"{vital.high:g}", unit=vital.unit)
        return None
    return n


def _checks(p: Problems, v: dict[str, str], start: datetime | None, end: datetime | None) -> list[Check]:
    """The rows of checks: a time (hh:mm, on the start's day or the next when past midnight) and at
    least one value; within the transfusion, plus an hour after it (the check after the end)."""
    out = []
    for i in range(1, CHECK_ROWS + 1):
        at = v.get(f"tx_at_{i}", "")
        values = {k: v.get(f"tx_{k}_{i}", "") for k in ("pulse", "bp", "temperature")}
        if not at and not any(values.values()):
            continue
        when = None
        m = re.fullmatch(r"(\d{1,2})[:hg](\d{2})", at)
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            p.add(f"tx_at_{i}", "ui.tx.err.at")
        elif start is not None:
            when = start.replace(hour=int(m[1]), minute=int(m[2]), second=0, microsecond=0)
            if when < start - timedelta(minutes=30):
                when += timedelta(days=1)              # past midnight
            last = (end or start) + timedelta(hours=1)
            if not start - timedelta(minutes=30) <= when <= last:
                p.add(f"tx_at_{i}", "ui.tx.err.at")
                when = None
        pulse = _vital(p, f"tx_pulse_{i}", values["pulse"], vitals.BY_FIELD["pulse"])
        temperature = _vital(p, f"tx_temperature_{i}", values["temperature"], vitals.BY_FIELD["temperature"])
        systolic = diastolic = None
        if values["bp"]:
            bp = BP.match(values["bp"])
            if not bp or not int(bp[2]) < int(bp[1]):
                p.add(f"tx_bp_{i}", "ui.tx.err.bp")
            else:
                systolic, diastolic = _vital(p, f"tx_bp_{i}", bp[1], vitals.BY_FIELD["systolic"]), \
                    _vital(p, f"tx_bp_{i}", bp[2], vitals.BY_FIELD["diastolic"])
        if not any(values.values()):
            p.add(f"tx_pulse_{i}", "ui.err.no_vitals")
        if when is not None:
            out.append(Check(when.isoformat(), pulse, systolic, diastolic, temperature))
    return out


def _coded(system: str, code: str, words: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": words}], "text": words}


def record(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], tz: str = "+07:00",
           clock: datetime | None = None) -> str:
    """Record one unit transfused on the visit (the Procedure and its vital-sign Observations, one
    transaction); the Procedure's id. Refused field by field (FormInvalid) when incomplete or impossible."""
    p = Problems()
    v = {k: (x or "").strip() for k, x in values.items()}
    product = _choice(p, v, "tx_product", PRODUCTS)
    bag = v.get("tx_bag", "")
    if not bag:
        p.add("tx_bag", "ui.err.required")
    volume = None
    try:
        volume = parse_number(v.get("tx_volume", ""))
        if volume is None:
            p.add("tx_volume", "ui.err.required")
        elif not 5 <= volume <= 1000:
            p.add("tx_volume", "ui.err.range", low="5", high="1000", unit="ml")
    except ValueError:
        p.add("tx_volume", "ui.err.number")
    patient_group = _choice(p, v, "tx_patient_group", GROUPS)
    unit_group = _choice(p, v, "tx_unit_group", GROUPS)
    bedside = _choice(p, v, "tx_bedside", CHECKS)
    crossmatch = _choice(p, v, "tx_crossmatch", CHECKS, required=product in ("hong-cau", "mau-toan-phan"))
    if "khong-phu-hop" in (bedside, crossmatch):
        p.add("tx_bedside" if bedside == "khong-phu-hop" else "tx_crossmatch", "ui.tx.err.incompatible")
    start = procedures._when(p, "tx_start", v.get("tx_start", ""), encounter, tz, clock)
    end = None
    if v.get("tx_end"):
        end = procedures._when(p, "tx_end", v["tx_end"], encounter, tz, clock)
        if start and end and end <= start:
            p.add("tx_end", "ui.tx.err.end")
    rate = None
    try:
        rate = parse_number(v.get("tx_rate", ""))
        if rate is not None and not 1 <= rate <= 200:
            p.add("tx_rate", "ui.err.range", low="1", high="200", unit="giọt/phút")
    except ValueError:
        p.add("tx_rate", "ui.err.number")
    staff = dict(procedures.practitioners(repo))
    nurse, doctor = v.get("tx_nurse", ""), v.get("tx_doctor", "")
    for field, who in (("tx_nurse", nurse), ("tx_doctor", doctor)):
        if who not in staff:
            p.add(field, "ui.err.choose" if who else "ui.err.required")
    reaction, action = v.get("tx_reaction", ""), v.get("tx_action", "")
    if reaction and not action:
        p.add("tx_action", "ui.tx.err.action")
    checks = _checks(p, v, start, end)
    p.raise_if_any()
    pid = str(uuid.uuid4())
    patient_id = ref_id(encounter.get("subject")) or ""
    words = PRODUCTS[product][0]
    unit = {"resourceType": "BiologicallyDerivedProduct", "id": "unit", "productCategory": PRODUCTS[product][2],
            "productCode": _coded(PRODUCT_SYSTEM, product, words), "quantity": 1,
            "identifier": [{"system": BAG_SYSTEM, "value": bag}],
            "extension": [{"url": EXT["unit-group"], "valueCodeableConcept": _coded(GROUP_SYSTEM, unit_group,
                                                                                     GROUPS[unit_group][0])},
                          {"url": EXT["volume"], "valueQuantity": {"value": volume, "unit": "ml",
                                                                   "system": "http://unitsofmeasure.org",
                                                                   "code": "mL"}}]}
    body: dict = {
        "resourceType": "Procedure", "status": "completed" if end else "in-progress",
        "code": {"coding": [TRANSFUSION], "text": f"Truyền {words.lower()}"},
        "subject": ref("Patient", patient_id), "encounter": ref("Encounter", encounter["id"]),
        "performedPeriod": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
        "performer": [{"function": {"coding": [NURSE], "text": "Điều dưỡng thực hiện"},
                       "actor": ref("Practitioner", nurse, staff[nurse])},
                      {"function": {"coding": [PHYSICIAN], "text": "Bác sĩ chỉ định"},
                       "actor": ref("Practitioner", doctor, staff[doctor])}],
        "contained": [unit], "usedReference": [{"reference": "#unit", "display": f"{words} {bag}"}],
        "extension": [{"url": EXT["patient-group"], "valueCodeableConcept": _coded(GROUP_SYSTEM, patient_group,
                                                                                    GROUPS[patient_group][0])},
                      {"url": EXT["bedside-check"], "valueCodeableConcept": _coded(CHECK_SYSTEM, bedside,
                                                                                    CHECKS[bedside][0])}],
    }
    if crossmatch:
        body["extension"].append({"url": EXT["crossmatch"],
                                  "valueCodeableConcept": _coded(CHECK_SYSTEM, crossmatch, CHECKS[crossmatch][0])})
    if v.get("tx_order"):
        body["extension"].append({"url": EXT["order"], "valueString": v["tx_order"]})
    if rate is not None:
        body["extension"].append({"url": EXT["rate"], "valueQuantity": {
            "value": rate, "unit": "giọt/phút", "system": "http://unitsofmeasure.org", "code": "{drops}/min"}})
    if reaction:
        body["complication"] = [{"text": reaction}]
        body["extension"].append({"url": EXT["reaction-action"], "valueString": action})
    pending = [repo.prepare("POST", "Procedure", pid, stamp(body, actor), create_only=True)]
    for c in checks:
        for obs in _observations(c, patient_id, encounter["id"]):
            obs["partOf"] = [ref("Procedure", pid)]
            pending.append(repo.prepare("POST", "Observation", str(uuid.uuid4()), stamp(obs, actor),
                                        create_only=True))
    repo.commit(pending, "transaction")
    return pid


def _observations(c: Check, patient_id: str, encounter_id: str) -> list[dict]:
    out = []
    if c.pulse is not None:
        out.append(vitals.observation(vitals.BY_FIELD["pulse"], c.pulse, patient_id, encounter_id, c.when))
    if c.temperature is not None:
        out.append(vitals.observation(vitals.BY_FIELD["temperature"], c.temperature, patient_id, encounter_id, c.when))
    if c.systolic is not None:
        bp = vitals.observation(vitals.BY_FIELD["systolic"], c.systolic, patient_id, encounter_id, c.when)
        bp.pop("valueQuantity")
        bp["code"] = {"coding": [{"system": "http://loinc.org", "code": vitals.BP_PANEL,
                                  "display": "Blood pressure panel with all children optional"}], "text": "Huyết áp"}
        bp["component"] = [{"code": {"coding": [{"system": "http://loinc.org", "code": vitals.BY_FIELD[f].loinc,
                                                 "display": vitals.BY_FIELD[f].display}]},
                            "valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org",
                                              "code": "mm[Hg]"}}
                           for f, value in (("systolic", c.systolic), ("diastolic", c.diastolic))]
        out.append(bp)
    return out


def is_transfusion(proc: dict) -> bool:
    return any(c.get("system") == SNOMED and c.get("code") == TRANSFUSION["code"]
               for c in (proc.get("code") or {}).get("coding", []))


def of_visit(repo: Repository, encounter_id: str) -> list[dict]:
    """The visit's transfusions (not those entered in error), in the order they started."""
    found = repo.search_all("Procedure", [("encounter", f"Encounter/{encounter_id}"),
                                          ("code", f"{SNOMED}|{TRANSFUSION['code']}")])
    items = [m.json() for m in found if m.json().get("status") != "entered-in-error"]
    return sorted(items, key=lambda x: (x.get("performedPeriod") or {}).get("start", ""))


# --- reading one back (the sheet, the visit page) ---

def _ext(body: dict, name: str) -> dict:
    return next((e for e in body.get("extension", []) if e.get("url") == EXT[name]), {})


def unit(proc: dict) -> dict:
    return next((c for c in proc.get("contained", []) if c.get("resourceType") == "BiologicallyDerivedProduct"), {})


def product(proc: dict) -> str:
    return (unit(proc).get("productCode") or {}).get("text", "")


def bag(proc: dict) -> str:
    return next((i.get("value", "") for i in unit(proc).get("identifier", [])), "")


def volume(proc: dict) -> float | None:
    return (_ext(unit(proc), "volume").get("valueQuantity") or {}).get("value")


def group(proc: dict, whose: str) -> str:
    """"patient" or "unit": the ABO/Rh group's words."""
    body = proc if whose == "patient" else unit(proc)
    return (_ext(body, f"{whose}-group").get("valueCodeableConcept") or {}).get("text", "")


def check(proc: dict, name: str) -> str:
    """"bedside-check" or "crossmatch": the result's code."""
    return next((c.get("code", "") for c in (_ext(proc, name).get("valueCodeableConcept") or {}).get("coding", [])), "")


def order(proc: dict) -> str:
    return _ext(proc, "order").get("valueString", "")


def rate(proc: dict) -> float | None:
    return (_ext(proc, "rate").get("valueQuantity") or {}).get("value")


def reaction(proc: dict) -> str:
    return "; ".join(c.get("text", "") for c in proc.get("complication", []))


def reaction_action(proc: dict) -> str:
    return _ext(proc, "reaction-action").get("valueString", "")


def performer(proc: dict, function: dict) -> dict | None:
    return next((x.get("actor") for x in proc.get("performer", [])
                 if any(c.get("code") == function["code"] for c in (x.get("function") or {}).get("coding", []))), None)


def checks_of(proc: dict, observations: list[dict]) -> list[vitals.Reading]:
    """The readings taken during this transfusion (Observations partOf it), oldest first."""
    mine = [o for o in observations if any(ref_id(x) == proc.get("id") and (x.get("reference") or "").startswith(
        "Procedure/") for x in o.get("partOf", []))]
    return vitals.readings(mine)


def signable(repo: Repository, encounter: dict) -> dict[str, str]:
    """"transfusion:<id>" → the unit and when it started, for the documents page."""
    from benhan.clinical.common import vn_datetime
    return {f"transfusion:{p['id']}": " — ".join(x for x in (f"{product(p)} {bag(p)}".strip(),
                                                             vn_datetime((p.get("performedPeriod") or {}).get("start")))
                                                 if x)
            for p in of_visit(repo, encounter["id"])}
