"""Orders (ServiceRequest) for laboratory tests, imaging and procedures, and their results.

Laboratory: a panel or a single test of the curated LOINC list (benhan.terminology.labs), results
entered per test as Observations with the test's unit, the reference range for the patient's sex,
and the abnormal flag (L/H/N) worked out from it, grouped by a DiagnosticReport — as the synthetic
data has them. A panel whose tests the service catalogue lists (by their national technique names,
LAB_SERVICES) also names those services (`instantiatesCanonical`, one per billed service, and their
price periods), so the claim can bill it; the code stays the LOINC panel.

Imaging and procedures are chosen from the facility's **service catalogue** (docs/catalogues.md):
only services priced on the order's date are offered (catalogue.lookup). The order carries the
service's code as the catalogue stores it (system `…/sid/ma-dich-vu`, the insurer's MA_DICH_VU,
display the Vietnamese name), `instantiatesCanonical` = the service's ActivityDefinition, a second
category with its cost group (MA_NHOM) and the price period valid that day (extension
`…/charge-item-definition`, the ChargeItemDefinition's url|version) — what a BHYT claim (XML 3)
needs. A service the catalogue does not have can still be ordered by name when nothing in the
catalogue matches it and the clinician says so: that order has no coding, only `code.text`, and the
extension `…/not-in-catalogue` = true (the chart shows "ngoài danh mục").

Every result points at its order (basedOn), and the order is completed when its result is in.
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from benhan.auth.actor import Actor
from benhan.clinical.catalogue import lookup, resources
from benhan.clinical.common import (BENHAN, INTERPRETATION, LOINC, OBS_CATEGORY, UCUM, Problems, age_on, entered_at,
                                    now, parse_number, ref, requester, stamp)
from benhan.fhir.text import fold
from benhan.store.repository import Repository
from benhan.terminology.labs import ADULT_AGE, BY_CODE, LABS, PANELS, LabTest

SNOMED = "http://snomed.info/sct"
KINDS = {"lab": ("108252007", "Laboratory procedure", "Xét nghiệm"),
         "imaging": ("363679005", "Imaging", "Chẩn đoán hình ảnh"),
         "procedure": ("387713003", "Surgical procedure", "Thủ thuật")}
# The cost groups (MA_NHOM) a kind of order offers: imaging with functional exploration (ECG …),
# as the usual "Chẩn đoán hình ảnh – Thăm dò chức năng" department; procedures are the techniques
# of the other groups (not laboratory, examinations, beds, drugs or supplies).
GROUPS = {"imaging": frozenset({"2", "3"}), "procedure": frozenset({"8", "18"})}
ORDERABLE = GROUPS["imaging"] | GROUPS["procedure"]
PANEL_NAMES = {"cbc": "Tổng phân tích tế bào máu ngoại vi", "glucose": "Glucose máu", "hba1c": "HbA1c",
               "renal": "Chức năng thận", "liver": "Chức năng gan", "lipids": "Bộ mỡ máu",
               "electrolytes": "Điện giải đồ", "crp": "CRP", "coagulation": "Đông máu cơ bản",
               "urinalysis": "Tổng phân tích nước tiểu", "thyroid": "Chức năng tuyến giáp",
               "cardiac": "Men tim, NT-proBNP", "blood-gas": "Khí máu động mạch"}
PANEL_SYSTEM = "https://benhan.vn/fhir/CodeSystem/lab-panel"
# A lab panel → the start of the technique names (the MoH technique list, the same in every
# facility's service catalogue) of the services billed for it. A name that matches exactly one
# laboratory service priced that day maps to it; none or several (the same test by two methods,
# "máy đếm tổng trở" or "laser") map to nothing — the order then carries its LOINC code only.
LAB_SERVICES = {"cbc": ("tong phan tich te bao mau ngoai vi",), "glucose": ("dinh luong glucose",),
                "hba1c": ("dinh luong hba1c",), "renal": ("dinh luong ure", "dinh luong creatinin"),
                "liver": ("do hoat do alt", "do hoat do ast", "dinh luong bilirubin toan phan"),
                "lipids": ("dinh luong cholesterol toan phan", "dinh luong triglycerid", "dinh luong hdl",
                           "dinh luong ldl"),
                "electrolytes": ("dien giai do",), "crp": ("dinh luong crp",),
                "urinalysis": ("tong phan tich nuoc tieu",), "thyroid": ("dinh luong tsh", "dinh luong ft4")}
NOT_IN_CATALOGUE = f"{BENHAN}/StructureDefinition/not-in-catalogue"
CHARGE_DEFINITION = f"{BENHAN}/StructureDefinition/charge-item-definition"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"


def lab_choices() -> list[tuple[str, str]]:
    """(value, label): the panels, then every single test."""
    return ([(f"panel:{k}", v) for k, v in PANEL_NAMES.items()]
            + [(f"test:{t.loinc}", f"{t.name_vi} ({t.unit})") for t in LABS])


def services(repo: Repository, kind: str, on: date, query: str = "", limit: int = 200) -> list[lookup.Service]:
    """The catalogue's services a kind of order offers on `on` (by name or code typed)."""
    return lookup.services_on(repo, on, query, GROUPS.get(kind, frozenset()), limit)


def lab_services(repo: Repository, panel: str, on: date) -> list[lookup.Service]:
    """The catalogue's laboratory services a panel is billed as, where each maps to exactly one."""
    out = []
    for stem in LAB_SERVICES.get(panel, ()):
        hits = [s for s in lookup.services_on(repo, on, stem, frozenset({"1"}), limit=5) if fold(s.name).startswith(stem)]
        if len(hits) == 1:
            out.append(hits[0])
    return out


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


def service_code(order: dict) -> str:
    """The catalogue code (MA_DICH_VU) an order carries, '' for a lab test or an order by name."""
    return next((c.get("code", "") for c in order.get("code", {}).get("coding", [])
                 if c.get("system") == resources.CODE_SYSTEM["service"]), "")


def not_in_catalogue(order: dict) -> bool:
    return any(e.get("url") == NOT_IN_CATALOGUE and e.get("valueBoolean") for e in order.get("extension", []))


class ServiceMatches(Exception):
    """The typed name matches services of the catalogue: the form shows them to choose from."""

    def __init__(self, found: list[lookup.Service]):
        super().__init__(f"{len(found)} services")
        self.found = found


def _service_code(repo: Repository, p: Problems, kind: str, values: dict[str, str], on: date) -> tuple[dict, dict]:
    """The code and the extra fields of an imaging or procedure order, from the chosen service (or
    the name of a service the catalogue does not have)."""
    chosen = (values.get("order_service") or "").strip()
    query = (values.get("order_query") or "").strip()
    other = values.get("order_other") == "yes"
    if chosen:
        service = lookup.service_on(repo, chosen, on)
        if service is None:
            p.add("order_service", "ui.err.service_not_valid", date=f"{on:%d/%m/%Y}")
        elif not any(service.group in g for g in GROUPS.values()):
            p.add("order_service", "ui.err.service_kind")
        else:
            code = {"coding": [{"system": service.system, "code": service.code, "display": service.name}],
                    "text": service.name}
            # The service decides imaging or procedure (a list chosen under the other kind is no error).
            extra = {"instantiatesCanonical": [service.url],
                     "extension": [{"url": CHARGE_DEFINITION, "valueCanonical": service.price_canonical}],
                     "group": service.group,
                     "kind": next(k for k, g in GROUPS.items() if service.group in g)}
            return code, extra
        return {}, {}
    if not query:
        p.add("order_service", "ui.err.choose")
        return {}, {}
    found = lookup.services_on(repo, on, query, ORDERABLE, limit=50)
    if found and not other:
        raise ServiceMatches(found)
    if found:
        p.add("order_query", "ui.err.in_catalogue", count=str(len(found)))
        return {}, {}
    if not other:
        p.add("order_query", "ui.err.no_service_match", query=query)
        return {}, {}
    if len(query) < 2:
        p.add("order_query", "ui.err.required")
        return {}, {}
    return {"text": query}, {"extension": [{"url": NOT_IN_CATALOGUE, "valueBoolean": True}]}


def place(repo: Repository, actor: Actor, encounter: dict, kind: str, values: dict[str, str],
          tz: str = "+07:00", on: date | None = None) -> str:
    """Write an order. `values`: order_lab (lab), order_service (the ActivityDefinition's id) or
    order_query + order_other=yes (a service by name the catalogue lacks), order_note.
    ServiceMatches when a typed name finds services to choose from; FormInvalid otherwise."""
    p = Problems()
    on = on or now(tz).date()
    if kind not in KINDS:
        p.add("order_kind", "ui.err.choose")
    wants_service = bool((values.get("order_service") or "").strip() or (values.get("order_query") or "").strip())
    if kind == "lab" and not values.get("order_lab") and wants_service:
        if values.get("order_other") == "yes":
            p.add("order_kind", "ui.err.choose")      # by name: say whether imaging or procedure
        kind = "imaging"        # a service chosen or typed: the service decides imaging or procedure
    code: dict = {}
    extra: dict = {}
    if kind == "lab":
        what, _, key = (values.get("order_lab") or "").partition(":")
        if what == "panel" and key in PANELS:
            code = {"coding": [{"system": PANEL_SYSTEM, "code": key}], "text": PANEL_NAMES[key]}
            billed = lab_services(repo, key, on)
            if billed:      # the LOINC panel stays the code (results are entered per test)
                extra = {"instantiatesCanonical": [s.url for s in billed],
                         "extension": [{"url": CHARGE_DEFINITION, "valueCanonical": s.price_canonical} for s in billed],
                         "group": "1"}
        elif what == "test" and key in BY_CODE:
            t = BY_CODE[key]
            code = {"coding": [{"system": LOINC, "code": t.loinc, "display": t.name_en}], "text": t.name_vi}
        else:
            p.add("order_lab", "ui.err.choose")
    elif kind in KINDS and not p.errors:
        code, extra = _service_code(repo, p, kind, values, on)
    p.raise_if_any()
    kind = extra.pop("kind", kind)
    snomed, display, vi = KINDS[kind]
    category = [{"coding": [{"system": SNOMED, "code": snomed, "display": display}], "text": vi}]
    group = extra.pop("group", "")
    if group:
        category.append({"coding": [{"system": resources.COST_GROUP, "code": group,
                                     **({"display": resources.COST_GROUP_NAMES[group]}
                                        if group in resources.COST_GROUP_NAMES else {})}]})
    body = {"resourceType": "ServiceRequest", **extra, "status": "active", "intent": "order",
            "category": category, "code": code, "subject": encounter["subject"],
            "encounter": ref("Encounter", encounter["id"]),
            "authoredOn": entered_at(tz), "requester": requester(actor)}
    note = (values.get("order_note") or "").strip()
    if note:
        body["note"] = [{"text": note}]
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


MAX_DESCRIPTION = 20_000


def _specimen_time(p: Problems, order: dict, text: str, tz: str, clock: datetime) -> str | None:
    """When the specimen was taken ('dd/mm/yyyy hh:mm'): not after now, not before the order."""
    from benhan.clinical.admission import parse_datetime
    try:
        taken = parse_datetime(text, tz)
    except ValueError:
        p.add("specimen_at", "ui.proc.err.datetime")
        return None
    if taken is None:
        return None
    authored = order.get("authoredOn") or ""
    if taken > clock:
        p.add("specimen_at", "ui.err.future")
    elif len(authored) > 10 and taken < datetime.fromisoformat(authored).replace(second=0, microsecond=0):
        p.add("specimen_at", "ui.err.specimen_before_order")
    return taken.isoformat()


def _validator(repo: Repository, p: Problems, pid: str) -> dict | None:
    """The doctor who validates the results (bác sĩ duyệt kết quả), one of the facility's staff."""
    from benhan.clinical.procedures import practitioners
    pid = (pid or "").strip()
    if not pid:
        return None
    name = dict(practitioners(repo)).get(pid)
    if name is None:
        p.add("validator", "ui.err.choose")
        return None
    return ref("Practitioner", pid, name)


def _years(n: int) -> dict:
    return {"value": n, "unit": "a", "system": UCUM, "code": "a"}


def enter_results(repo: Repository, actor: Actor, order: dict, female: bool, values: dict[str, str],
                  tz: str = "+07:00", clock: datetime | None = None, birth_date: str | None = None) -> str:
    """Record the results of an order; the DiagnosticReport's id.

    Optional, as the result sheet asks for them (TT 32/2023 PL XXIX): for a laboratory order the time the
    specimen was taken (`specimen_at`: the report's and its results' effective time, FHIR's "clinically
    relevant time", printed "Lấy mẫu lúc") and the validating doctor (`validator`, a Practitioner id: the
    report's resultsInterpreter, printed "Bác sĩ duyệt kết quả"); for an imaging or functional test the
    description of the findings (`description`: the report's presentedForm, text/plain, printed "Mô tả")."""
    p = Problems()
    clock = clock or now(tz)
    # To the millisecond, always: a specimen time the technician typed (to the minute, no fraction) then
    # never equals the entry's own moment, which is how the result sheet tells the two apart
    # (documents/forms/results.specimen_taken). At hh:mm:00 they were equal and the sheet left
    # "Lấy mẫu lúc" blank.
    when = clock.isoformat(timespec="milliseconds")
    kind = kind_of(order)
    specimen_at = validator = None
    description = (values.get("description") or "").strip()
    if kind == "lab":
        specimen_at = _specimen_time(p, order, values.get("specimen_at", ""), tz, clock)
        validator = _validator(repo, p, values.get("validator", ""))
    elif len(description) > MAX_DESCRIPTION:
        p.add("description", "ui.err.too_long", n=MAX_DESCRIPTION)
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
            age = age_on(birth_date, (datetime.fromisoformat(specimen_at) if specimen_at else clock).date())
            low, high = t.range_for(female, age)
            band = t.child_band(age)
            if band is not None:
                rng: dict = {"text": f"Trẻ {band[0]}–{band[1] - 1} tuổi",
                             "age": {"low": _years(band[0]), "high": _years(band[1] - 1)}}
            elif low is None and high is None and age is not None and age < ADULT_AGE:
                rng = {"text": f"Trẻ {age} tuổi: phòng xét nghiệm chưa có khoảng tham chiếu"}
            else:
                rng = {"text": "Người lớn " + ("nữ" if female else "nam")}
            if low is not None:
                rng["low"] = {"value": low, "unit": t.unit, "system": UCUM, "code": t.unit}
            if high is not None:
                rng["high"] = {"value": high, "unit": t.unit, "system": UCUM, "code": t.unit}
            observations.append({
                "resourceType": "Observation", "status": "final", "basedOn": [ref("ServiceRequest", order["id"])],
                "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
                "code": {"coding": [{"system": LOINC, "code": t.loinc, "display": t.name_en}], "text": t.name_vi},
                "subject": order["subject"], "encounter": order.get("encounter"),
                "effectiveDateTime": specimen_at or when, "issued": when, "valueQuantity": {"value": value, "unit": t.unit, "system": UCUM, "code": t.unit},
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
              "encounter": order.get("encounter"), "effectiveDateTime": specimen_at or when, "issued": when,
              "resultsInterpreter": [validator or {"display": actor.display or actor.name}],
              "result": [ref("Observation", i) for i in obs_ids]}
    if not obs_ids:
        del report["result"]
    if conclusion:
        report["conclusion"] = conclusion
    if description and kind != "lab":
        report["presentedForm"] = [{"contentType": "text/plain; charset=utf-8", "language": "vi", "title": "Mô tả",
                                    "data": base64.b64encode(description.encode("utf-8")).decode("ascii")}]
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
