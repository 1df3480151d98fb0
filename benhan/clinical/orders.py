"""Orders (ServiceRequest) for laboratory tests, imaging and procedures, and their results.

Laboratory: a panel or a single test of the curated LOINC list (benhan.terminology.labs), results
entered per test as Observations with the test's unit, the reference range for the patient's sex,
and the abnormal flag (L/H/N) worked out from it, grouped by a DiagnosticReport — as the synthetic
data has them. Imaging and procedures: the order by name, the result as the report's conclusion.
Every result points at its order (basedOn), and the order is completed when its result is in.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical.common import (INTERPRETATION, LOINC, OBS_CATEGORY, UCUM, Problems, entered_at, now, parse_number, ref,
                                    stamp)
from benhan.store.repository import Repository
from benhan.terminology.labs import BY_CODE, LABS, PANELS, LabTest

SNOMED = "http://snomed.info/sct"
KINDS = {"lab": ("108252007", "Laboratory procedure", "Xét nghiệm"),
         "imaging": ("363679005", "Imaging", "Chẩn đoán hình ảnh"),
         "procedure": ("387713003", "Surgical procedure", "Thủ thuật")}
PANEL_NAMES = {"cbc": "Tổng phân tích tế bào máu ngoại vi", "glucose": "Glucose máu", "hba1c": "HbA1c",
               "renal": "Chức năng thận", "liver": "Chức năng gan", "lipids": "Bộ mỡ máu",
               "electrolytes": "Điện giải đồ", "crp": "CRP", "coagulation": "Đông máu cơ bản",
               "urinalysis": "Tổng phân tích nước tiểu", "thyroid": "Chức năng tuyến giáp",
               "cardiac": "Men tim, NT-proBNP", "blood-gas": "Khí máu động mạch"}
PANEL_SYSTEM = "https://benhan.vn/fhir/CodeSystem/lab-panel"
COMMON_IMAGING = ("X-quang ngực thẳng", "Siêu âm ổ bụng tổng quát", "Siêu âm tim", "X-quang cột sống thắt lưng",
                  "Chụp cắt lớp vi tính sọ não")
COMMON_PROCEDURES = ("Điện tim thường", "Khí dung", "Thay băng vết thương", "Khâu vết thương", "Đặt sonde dạ dày")
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"


def lab_choices() -> list[tuple[str, str]]:
    """(value, label): the panels, then every single test."""
    return ([(f"panel:{k}", v) for k, v in PANEL_NAMES.items()]
            + [(f"test:{t.loinc}", f"{t.name_vi} ({t.unit})") for t in LABS])


def tests_of(order: dict) -> list[LabTest]:
    for c in order.get("code", {}).get("coding", []):
        if c.get("system") == PANEL_SYSTEM:
            return [BY_CODE[x] for x in PANELS.get(c.get("code", ""), ()) if x in BY_CODE]
        if c.get("system") == LOINC and c.get("code") in BY_CODE:
            return [BY_CODE[c["code"]]]
    return []


def kind_of(order: dict) -> str:
    code = ((order.get("category") or [{}])[0].get("coding") or [{}])[0].get("code")
    return next((k for k, v in KINDS.items() if v[0] == code), "procedure")


def place(repo: Repository, actor: Actor, encounter: dict, kind: str, choice: str, name: str, note: str,
          tz: str = "+07:00") -> str:
    p = Problems()
    if kind not in KINDS:
        p.add("order_kind", "ui.err.choose")
    code: dict = {}
    if kind == "lab":
        what, _, key = choice.partition(":")
        if what == "panel" and key in PANELS:
            code = {"coding": [{"system": PANEL_SYSTEM, "code": key}], "text": PANEL_NAMES[key]}
        elif what == "test" and key in BY_CODE:
            t = BY_CODE[key]
            code = {"coding": [{"system": LOINC, "code": t.loinc, "display": t.name_en}], "text": t.name_vi}
        else:
            p.add("order_lab", "ui.err.choose")
    elif kind in KINDS:
        if len(name.strip()) < 2:
            p.add("order_name", "ui.err.required")
        code = {"text": name.strip()}
    p.raise_if_any()
    snomed, display, vi = KINDS[kind]
    body = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "category": [{"coding": [{"system": SNOMED, "code": snomed, "display": display}], "text": vi}],
            "code": code, "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
            "authoredOn": entered_at(tz), "requester": {"display": actor.display or actor.name}}
    if note.strip():
        body["note"] = [{"text": note.strip()}]
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "ServiceRequest", rid, stamp(body, actor), create_only=True)], "create")
    return rid


def flag(value: float, low: float | None, high: float | None) -> str:
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    return "N"


def result_field(loinc: str) -> str:
    return "r_" + loinc.replace("-", "_")


def enter_results(repo: Repository, actor: Actor, order: dict, female: bool, values: dict[str, str],
                  tz: str = "+07:00") -> str:
    """Record the results of an order; the DiagnosticReport's id."""
    p = Problems()
    when = now(tz).isoformat()
    kind = kind_of(order)
    observations: list[dict] = []
    if kind == "lab":
        for t in tests_of(order):
            try:
                value = parse_number(values.get(result_field(t.loinc), ""))
            except ValueError:
                p.add(result_field(t.loinc), "ui.err.number")
                continue
            if value is None:
                continue
            if value < 0:
                p.add(result_field(t.loinc), "ui.err.range", low="0", high="∞", unit=t.unit)
                continue
            low, high = t.range_for(female)
            rng: dict = {"text": "Người lớn " + ("nữ" if female else "nam")}
            if low is not None:
                rng["low"] = {"value": low, "unit": t.unit, "system": UCUM, "code": t.unit}
            if high is not None:
                rng["high"] = {"value": high, "unit": t.unit, "system": UCUM, "code": t.unit}
            observations.append({
                "resourceType": "Observation", "status": "final", "basedOn": [ref("ServiceRequest", order["id"])],
                "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
                "code": {"coding": [{"system": LOINC, "code": t.loinc, "display": t.name_en}], "text": t.name_vi},
                "subject": order["subject"], "encounter": order.get("encounter"), "effectiveDateTime": when,
                "issued": when, "valueQuantity": {"value": value, "unit": t.unit, "system": UCUM, "code": t.unit},
                "interpretation": [{"coding": [{"system": INTERPRETATION, "code": flag(value, low, high)}]}],
                "referenceRange": [rng]})
        if not observations and not p.errors:
            p.add(result_field(tests_of(order)[0].loinc) if tests_of(order) else "conclusion", "ui.err.required")
    conclusion = (values.get("conclusion") or "").strip()
    if kind != "lab" and not conclusion:
        p.add("conclusion", "ui.err.required")
    p.raise_if_any()
    obs_ids = [str(uuid.uuid4()) for _ in observations]
    report = {"resourceType": "DiagnosticReport", "status": "final", "basedOn": [ref("ServiceRequest", order["id"])],
              "category": [{"coding": [{"system": DIAGNOSTIC_SERVICE, "code": "LAB" if kind == "lab" else
                                        "RAD" if kind == "imaging" else "OTH"}]}],
              "code": order.get("code") or {"text": "Kết quả"}, "subject": order["subject"],
              "encounter": order.get("encounter"), "effectiveDateTime": when, "issued": when,
              "resultsInterpreter": [{"display": actor.display or actor.name}],
              "result": [ref("Observation", i) for i in obs_ids]}
    if not obs_ids:
        del report["result"]
    if conclusion:
        report["conclusion"] = conclusion
    report_id = str(uuid.uuid4())
    done = {k: v for k, v in order.items() if k != "meta"}
    done["status"] = "completed"
    version = int(order.get("meta", {}).get("versionId", "0")) or None
    pending = [repo.prepare("POST", "Observation", i, stamp(o, actor), create_only=True)
               for i, o in zip(obs_ids, observations)]
    pending.append(repo.prepare("POST", "DiagnosticReport", report_id, stamp(report, actor), create_only=True))
    pending.append(repo.prepare("PUT", "ServiceRequest", order["id"], stamp(done, actor), if_match=version))
    repo.commit(pending, "transaction")
    return report_id


@dataclass
class ResultRow:
    name: str
    value: str
    unit: str
    range: str
    flag: str
    observation_id: str


def result_rows(report: dict, observations: dict[str, dict]) -> list[ResultRow]:
    rows = []
    for r in report.get("result", []):
        o = observations.get(r.get("reference", "/").split("/")[-1])
        if not o:
            continue
        q = o.get("valueQuantity", {})
        rr = (o.get("referenceRange") or [{}])[0]
        low, high = rr.get("low", {}).get("value"), rr.get("high", {}).get("value")
        rng = f"{'' if low is None else f'{low:g}'} – {'' if high is None else f'{high:g}'}"
        code = ((o.get("interpretation") or [{}])[0].get("coding") or [{}])[0].get("code", "")
        rows.append(ResultRow(o.get("code", {}).get("text", ""),
                              "" if q.get("value") is None else f"{q['value']:g}", q.get("unit", ""), rng,
                              "" if o.get("status") == "entered-in-error" else code, o["id"]))
    return rows
