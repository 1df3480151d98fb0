"""Critical values (giá trị nguy hiểm / báo động): a result beyond these limits is told to the ordering
doctor at once, as a Flag on the patient and the visit, active until the doctor acknowledges it.

The table is the laboratory's decision; these defaults are common adult limits (units as the
analysers report them, UCUM). A facility replaces them with `lab_critical.toml` in its data folder:
one table per LOINC code, e.g. `["2823-3"]` `low = 2.8` `high = 6.2` (docs/lab.md).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from benhan.clinical.common import BENHAN, LOINC, UCUM, ref

FILE = "lab_critical.toml"
OBSERVATION = f"{BENHAN}/StructureDefinition/critical-observation"
ACKNOWLEDGED = f"{BENHAN}/StructureDefinition/acknowledged-by"
FOR = f"{BENHAN}/StructureDefinition/flag-for"        # whom the flag is for: the ordering doctor
FLAG_CATEGORY = {"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "lab",
                 "display": "Laboratory"}
# On each critical-value Flag until it is acknowledged: what the doctor's home page searches for
# (R4 has no Flag search by status), however many flags were written or closed since.
AWAITING = {"system": f"{BENHAN}/CodeSystem/flag-state", "code": "awaiting-acknowledgement",
            "display": "Chờ bác sĩ xác nhận"}
CRITICAL = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "AA",
            "display": "Critical abnormal"}


@dataclass(frozen=True)
class Limits:
    low: float | None
    high: float | None
    unit: str


DEFAULTS = {
    "2823-3": Limits(2.8, 6.2, "mmol/L"),      # potassium
    "14749-6": Limits(2.2, 25.0, "mmol/L"),    # glucose, serum/plasma
    "14743-9": Limits(2.2, 25.0, "mmol/L"),    # glucose, capillary
    "718-7": Limits(70.0, None, "g/L"),        # haemoglobin
    "2951-2": Limits(120.0, 160.0, "mmol/L"),  # sodium
    "777-3": Limits(20.0, None, "10*9/L"),     # platelets
}


class TableError(ValueError):
    pass


def table(data_dir: Path | None) -> dict[str, Limits]:
    """The facility's table when it has one, else the defaults."""
    path = Path(data_dir) / FILE if data_dir else None
    if path is None or not path.is_file():
        return dict(DEFAULTS)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: not valid TOML ({exc})") from None
    out = {}
    for code, row in raw.items():
        if not isinstance(row, dict) or not set(row) <= {"low", "high", "unit"}:
            raise TableError(f"{path}: [{code}] takes low, high and unit")
        try:
            low = None if row.get("low") is None else float(row["low"])
            high = None if row.get("high") is None else float(row["high"])
        except (TypeError, ValueError):
            raise TableError(f"{path}: [{code}] low and high are numbers") from None
        out[code] = Limits(low, high, str(row.get("unit", "")))
    return out


# The units an analyser may write for what the table states, each as a multiple of its dimension's
# first unit, after spelling is evened out (_spelled). An analyser from elsewhere sends g/dL for
# haemoglobin, mg/dL for glucose, K/µL for platelets, mmol/l in lower case: before, such a value was
# not compared at all, and a haemoglobin of 5 g/dL (50 g/L) raised no flag.
_DIMENSIONS = (
    {"mmol/L": 1.0, "umol/L": 0.001, "mol/L": 1000.0, "mmol/dL": 10.0},                      # substance
    {"g/L": 1.0, "g/dL": 10.0, "g/100mL": 10.0, "mg/dL": 0.01, "mg/L": 0.001, "mg/mL": 1.0},  # mass
    {"10*9/L": 1.0, "G/L": 1.0, "10*3/uL": 1.0, "K/uL": 1.0, "k/uL": 1.0, "10*3/mm3": 1.0,   # number
     "/nL": 1.0, "10*12/L": 1000.0, "T/L": 1000.0, "10*6/uL": 1000.0, "/uL": 0.001, "/mm3": 0.001},
)
_SUBSTANCE, _MASS = _DIMENSIONS[0], _DIMENSIONS[1]
_MOLAR_MASS = {"14749-6": 180.156, "14743-9": 180.156, "2345-7": 180.156, "2339-0": 180.156}   # glucose, g/mol
_MONOVALENT = frozenset({"2823-3", "2951-2", "2075-0", "1963-8"})    # K, Na, Cl, HCO3: 1 mEq = 1 mmol
_LITRE = re.compile(r"(/(?:100)?[dmun]?)l\b")


def _spelled(unit: str) -> str:
    """UCUM's litre is l or L and micro u where people write µ: one spelling of each."""
    unit = unit.strip().replace(" ", "").replace("µ", "u").replace("μ", "u").replace("^", "*")
    return _LITRE.sub(lambda m: m.group(1) + "L", unit)


def in_unit(value: float, unit: str, wanted: str, code: str) -> float | None:
    """The value, written in `unit`, in the table's unit; None when they cannot be compared."""
    unit, wanted = _spelled(unit), _spelled(wanted)
    if unit == wanted:
        return value
    if code in _MONOVALENT and unit in ("mEq/L", "meq/L"):
        unit = "mmol/L"
    for dimension in _DIMENSIONS:
        if unit in dimension and wanted in dimension:
            return value * dimension[unit] / dimension[wanted]
    molar_mass = _MOLAR_MASS.get(code)
    if molar_mass and unit in _MASS and wanted in _SUBSTANCE:          # g/L → mmol/L
        return value * _MASS[unit] / molar_mass * 1000 / _SUBSTANCE[wanted]
    if molar_mass and unit in _SUBSTANCE and wanted in _MASS:
        return value * _SUBSTANCE[unit] * molar_mass / 1000 / _MASS[wanted]
    return None


def _coded(observation: dict, limits: dict[str, Limits]) -> str | None:
    """The LOINC code of the observation that the table lists (a local code may come first)."""
    for coding in (observation.get("code") or {}).get("coding") or []:
        if coding.get("system") in (None, LOINC) and coding.get("code") in limits:
            return coding["code"]
    return None


def beyond(observation: dict, limits: dict[str, Limits]) -> bool:
    code = _coded(observation, limits)
    q = observation.get("valueQuantity") or {}
    try:
        value = float(q["value"])
    except (KeyError, TypeError, ValueError):
        return False
    if code is None:
        return False
    lim = limits[code]
    unit = (q.get("code") if q.get("system") == UCUM and q.get("code") else q.get("unit")) or ""
    if lim.unit and unit:
        value = in_unit(value, unit, lim.unit, code)
    if value is None:
        return False    # a unit not known to be convertible: a wrong alarm or a missed one are both worse than none
    return (lim.low is not None and value < lim.low) or (lim.high is not None and value > lim.high)


def _vn(value: float) -> str:
    return f"{value:g}".replace(".", ",")      # the flag's text is read in Vietnamese: decimal comma


def flag_for(observation: dict, observation_id: str, order: dict, when: str) -> dict:
    """The Flag telling the ordering doctor (order.requester) of one critical result."""
    q = observation["valueQuantity"]
    name = observation["code"].get("text") or observation["code"]["coding"][0]["code"]
    body = {"resourceType": "Flag", "meta": {"tag": [AWAITING]}, "status": "active",
            "category": [{"coding": [FLAG_CATEGORY]}],
            "code": {"coding": [CRITICAL], "text": f"Giá trị nguy hiểm: {name} {_vn(q['value'])} {q.get('unit', '')}".strip()},
            "subject": order["subject"], "period": {"start": when}, "author": {"display": "Khoa Xét nghiệm"},
            "extension": [{"url": OBSERVATION, "valueReference": ref("Observation", observation_id)}]}
    if order.get("encounter"):
        body["encounter"] = order["encounter"]
    if order.get("requester"):
        body["extension"].append({"url": FOR, "valueReference": order["requester"]})
    return body
