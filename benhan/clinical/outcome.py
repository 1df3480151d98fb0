"""What the discharge records beyond the result and the disposition (01/BV1 items 17, 25–29; the
death notice, TT 25/2025 Mẫu 05, reads the same values):

- a transfer out (disposition other-hcf, "chuyển viện"): the receiving facility is
  Encounter.hospitalization.destination (a reference by MA_CSKCB identifier and name), the
  direction (tuyến trên / tuyến dưới / chuyên khoa) an extension `transfer-level` on hospitalization;
- a death (disposition exp, result 5 "tử vong"): the complex extension `death` on the Encounter —
  time (valueDateTime), main cause (valueCodeableConcept, ICD-10 and/or words), circumstance
  (do bệnh / do tai biến điều trị / khác), autopsy (valueBoolean, only when known) and the autopsy
  diagnosis — and Patient.deceasedDateTime, written in the same transaction. "Within 24 hours of
  admission" is not stored: it follows from the two times;
- the pathology result (giải phẫu bệnh: lành tính / nghi ngờ / ác tính), when a specimen was
  examined: an extension `pathology-result` on the Encounter.
A value nobody gave is not written: the paper shows its blank line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from benhan.clinical.admission import MA_CSKCB_SYSTEM, coded_dx, dx_text, parse_datetime
from benhan.clinical.common import BENHAN, Problems, vn_datetime
from benhan.store.repository import Repository

DEATH_EXT = f"{BENHAN}/StructureDefinition/death"
CIRCUMSTANCE_SYSTEM = f"{BENHAN}/CodeSystem/death-circumstance"
CIRCUMSTANCES = {"do-benh": ("Do bệnh", "Disease"), "tai-bien-dieu-tri": ("Do tai biến điều trị", "Accident of treatment"),
                 "khac": ("Khác", "Other")}
PATHOLOGY_EXT = f"{BENHAN}/StructureDefinition/pathology-result"
PATHOLOGY_SYSTEM = f"{BENHAN}/CodeSystem/pathology-result"
PATHOLOGY = {"lanh-tinh": ("Lành tính", "Benign"), "nghi-ngo": ("Nghi ngờ", "Suspicious"),
             "ac-tinh": ("Ác tính", "Malignant")}
LEVEL_EXT = f"{BENHAN}/StructureDefinition/transfer-level"
LEVEL_SYSTEM = f"{BENHAN}/CodeSystem/transfer-level"
LEVELS = {"tuyen-tren": ("Tuyến trên", "Higher level"), "tuyen-duoi": ("Tuyến dưới", "Lower level"),
          "chuyen-khoa": ("Chuyên khoa", "Specialist")}
AUTOPSY = {"yes": ("Có", "Yes"), "no": ("Không", "No")}
FIELDS = ("transfer_level", "transfer_to_name", "transfer_to_code", "death_time", "death_circumstance",
          "death_cause_code", "death_cause_text", "autopsy", "autopsy_dx_code", "autopsy_dx_text", "pathology")


@dataclass
class Details:
    extensions: list[dict] = field(default_factory=list)       # on the Encounter
    hospitalization: dict = field(default_factory=dict)        # keys to set on hospitalization
    deceased: datetime | None = None


def check(repo: Repository, p: Problems, values: dict[str, str], encounter: dict, result: str, disposition: str,
          when: datetime, tz: str) -> Details:
    """The discharge form's extra values, checked against the result and disposition."""
    out = Details()
    if (result == "5") != (disposition == "exp") and result and disposition:
        p.add("disposition", "ui.out.err.death_both")
    if disposition == "other-hcf":
        level = values.get("transfer_level", "")
        name = (values.get("transfer_to_name") or "").strip()
        code = (values.get("transfer_to_code") or "").strip()
        if level not in LEVELS:
            p.add("transfer_level", "ui.err.choose")
        if not name:
            p.add("transfer_to_name", "ui.err.required")
        if code and not (len(code) == 5 and code.isdigit()):
            p.add("transfer_to_code", "ui.adm.err.ma_cskcb")
        if level in LEVELS and name:
            out.hospitalization["destination"] = {
                "display": name, **({"identifier": {"system": MA_CSKCB_SYSTEM, "value": code}} if code else {})}
            out.hospitalization["extension"] = [{"url": LEVEL_EXT, "valueCoding": {
                "system": LEVEL_SYSTEM, "code": level, "display": LEVELS[level][0]}}]
    if disposition == "exp":
        _death(repo, p, values, encounter, when, tz, out)
    pathology = values.get("pathology", "")
    if pathology and pathology not in PATHOLOGY:
        p.add("pathology", "ui.err.choose")
    elif pathology:
        out.extensions.append({"url": PATHOLOGY_EXT, "valueCoding": {"system": PATHOLOGY_SYSTEM, "code": pathology,
                                                                    "display": PATHOLOGY[pathology][0]}})
    return out


def _death(repo: Repository, p: Problems, values: dict[str, str], encounter: dict, when: datetime, tz: str,
           out: Details) -> None:
    try:
        died = parse_datetime(values.get("death_time", ""), tz)
    except ValueError:
        p.add("death_time", "ui.proc.err.datetime")
        died = None
    start = (encounter.get("period") or {}).get("start", "")
    if died is None and "death_time" not in p.errors:
        p.add("death_time", "ui.err.required")
    elif died is not None and died > when:
        p.add("death_time", "ui.err.future")
    elif died is not None and len(start) > 10 and died < datetime.fromisoformat(start).replace(second=0):
        p.add("death_time", "ui.proc.err.before_admission")
    circumstance = values.get("death_circumstance", "")
    if circumstance and circumstance not in CIRCUMSTANCES:
        p.add("death_circumstance", "ui.err.choose")
    cause = coded_dx(repo, p, "death_cause_code", values.get("death_cause_code", ""), values.get("death_cause_text", ""))
    if cause is None and "death_cause_code" not in p.errors:
        p.add("death_cause_text", "ui.err.required")
    autopsy = values.get("autopsy", "")
    if autopsy and autopsy not in AUTOPSY:
        p.add("autopsy", "ui.err.choose")
    autopsy_dx = coded_dx(repo, p, "autopsy_dx_code", values.get("autopsy_dx_code", ""),
                          values.get("autopsy_dx_text", ""))
    if autopsy_dx and autopsy != "yes":
        p.add("autopsy_dx_text", "ui.out.err.autopsy_dx")
    if died is None or cause is None:
        return
    parts: list[dict] = [{"url": "time", "valueDateTime": died.isoformat()}, {"url": "cause", "valueCodeableConcept": cause}]
    if circumstance in CIRCUMSTANCES:
        parts.append({"url": "circumstance", "valueCoding": {"system": CIRCUMSTANCE_SYSTEM, "code": circumstance,
                                                              "display": CIRCUMSTANCES[circumstance][0]}})
    if autopsy in AUTOPSY:
        parts.append({"url": "autopsy", "valueBoolean": autopsy == "yes"})
    if autopsy_dx:
        parts.append({"url": "autopsyDiagnosis", "valueCodeableConcept": autopsy_dx})
    out.extensions.append({"url": DEATH_EXT, "extension": parts})
    out.deceased = died


def apply(enc: dict, details: Details) -> None:
    """Write the checked values on the Encounter body (in place)."""
    urls = (DEATH_EXT, PATHOLOGY_EXT)
    enc["extension"] = [e for e in enc.get("extension", []) if e.get("url") not in urls] + details.extensions
    if not enc["extension"]:
        del enc["extension"]
    if details.hospitalization:
        hosp = enc.setdefault("hospitalization", {})
        hosp["destination"] = details.hospitalization["destination"]
        hosp["extension"] = [e for e in hosp.get("extension", []) if e.get("url") != LEVEL_EXT] + \
            details.hospitalization["extension"]


@dataclass(frozen=True)
class Death:
    time: str                   # ISO
    cause: str                  # "words (code)"
    circumstance: str           # code of CIRCUMSTANCES or ""
    autopsy: bool | None
    autopsy_dx: str
    within_24h: bool | None     # None when the admission time is unknown

    def summary(self) -> str:
        """Item 26 as printed: the time, the circumstance, within or after 24 h of admission."""
        parts = [vn_datetime(self.time), CIRCUMSTANCES.get(self.circumstance, ("", ""))[0],
                 "" if self.within_24h is None else
                 "Trong 24 giờ vào viện" if self.within_24h else "Sau 24 giờ vào viện"]
        return " — ".join(x for x in parts if x)


def death_of(encounter: dict) -> Death | None:
    ext = next((e for e in encounter.get("extension", []) if e.get("url") == DEATH_EXT), None)
    if ext is None:
        return None
    parts = {x.get("url"): x for x in ext.get("extension", [])}
    time = parts.get("time", {}).get("valueDateTime", "")
    start = (encounter.get("period") or {}).get("start", "")
    within = None
    try:
        if time and len(start) > 10:
            within = datetime.fromisoformat(time) - datetime.fromisoformat(start) <= timedelta(hours=24)
    except ValueError:
        within = None
    return Death(time, dx_text(parts.get("cause", {}).get("valueCodeableConcept")),
                 (parts.get("circumstance", {}).get("valueCoding") or {}).get("code", ""),
                 parts.get("autopsy", {}).get("valueBoolean"),
                 dx_text(parts.get("autopsyDiagnosis", {}).get("valueCodeableConcept")), within)


def transfer_out_of(encounter: dict) -> str:
    """Item 17 as printed: 'Tuyến trên — Bệnh viện … (mã 38001)', or ''."""
    h = encounter.get("hospitalization") or {}
    dest = h.get("destination") or {}
    level = next(((e.get("valueCoding") or {}).get("display", "") for e in h.get("extension", [])
                  if e.get("url") == LEVEL_EXT), "")
    code = (dest.get("identifier") or {}).get("value", "")
    name = dest.get("display", "") + (f" (mã {code})" if code else "")
    return " — ".join(x for x in (level, name) if x)


def pathology_of(encounter: dict) -> str:
    ext = next((e for e in encounter.get("extension", []) if e.get("url") == PATHOLOGY_EXT), {})
    return PATHOLOGY.get((ext.get("valueCoding") or {}).get("code", ""), ("", ""))[0]
