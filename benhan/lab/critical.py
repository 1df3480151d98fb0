"""Critical values (giá trị nguy hiểm / báo động): a result beyond these limits is told to the ordering
doctor at once, as a Flag on the patient and the visit, active until the doctor acknowledges it.

The table is the laboratory's decision; these defaults are common adult limits (units as the
analysers report them, UCUM). A facility replaces them with `lab_critical.toml` in its data folder:
one table per LOINC code, e.g. `["2823-3"]` `low = 2.8` `high = 6.2` (docs/lab.md).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from benhan.clinical.common import BENHAN, ref

FILE = "lab_critical.toml"
OBSERVATION = f"{BENHAN}/StructureDefinition/critical-observation"
ACKNOWLEDGED = f"{BENHAN}/StructureDefinition/acknowledged-by"
FOR = f"{BENHAN}/StructureDefinition/flag-for"        # whom the flag is for: the ordering doctor
FLAG_CATEGORY = {"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "lab",
                 "display": "Laboratory"}
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


def beyond(observation: dict, limits: dict[str, Limits]) -> bool:
    code = ((observation.get("code") or {}).get("coding") or [{}])[0].get("code", "")
    q = observation.get("valueQuantity") or {}
    lim = limits.get(code)
    if lim is None or q.get("value") is None or (lim.unit and q.get("unit") and lim.unit != q.get("unit")):
        return False    # another unit: not compared (a wrong alarm or a missed one are both worse than none)
    value = float(q["value"])
    return (lim.low is not None and value < lim.low) or (lim.high is not None and value > lim.high)


def _vn(value: float) -> str:
    return f"{value:g}".replace(".", ",")      # the flag's text is read in Vietnamese: decimal comma


def flag_for(observation: dict, observation_id: str, order: dict, when: str) -> dict:
    """The Flag telling the ordering doctor (order.requester) of one critical result."""
    q = observation["valueQuantity"]
    name = observation["code"].get("text") or observation["code"]["coding"][0]["code"]
    body = {"resourceType": "Flag", "status": "active", "category": [{"coding": [FLAG_CATEGORY]}],
            "code": {"coding": [CRITICAL], "text": f"Giá trị nguy hiểm: {name} {_vn(q['value'])} {q.get('unit', '')}".strip()},
            "subject": order["subject"], "period": {"start": when}, "author": {"display": "Khoa Xét nghiệm"},
            "extension": [{"url": OBSERVATION, "valueReference": ref("Observation", observation_id)}]}
    if order.get("encounter"):
        body["encounter"] = order["encounter"]
    if order.get("requester"):
        body["extension"].append({"url": FOR, "valueReference": order["requester"]})
    return body
