"""One episode as a `HoSoBenhAn` tree: the groups as ordered dicts of field → value (str, int or
Decimal), in the order of the field table, empty values left out. XML and JSON are both written
from this one tree (render.py), so the two formats always say the same thing.

What the claim already gathers for the episode — the patient, the card, the visit, the ranked
ICD-10 diagnoses, the discharge summary, the transfer out, the follow-up, the charge lines with
their catalogue codes — is taken from the claim's own extraction (claims.record.episode_from_record)
rather than read from FHIR a second way; the groups the claim has no table for (vital signs at
admission, the orders, the imaging reports, the laboratory results with their ranges, the
procedures) are read from the visit's resources (clinical.chart.visit).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache

from benhan.billing.lines import ChargeLine
from benhan.claims import tables
from benhan.claims.episode import Episode
from benhan.claims.record import episode_from_record
from benhan.clinical import chart, diagnoses, discharge, orders, procedures
from benhan.clinical.common import ref_id
from benhan.clinical.visits import kind_of
from benhan.exchange.hosobenhan.fields import GROUPS, Field
from benhan.store.repository import Repository
from benhan.terminology.curated import OCCUPATION_GROUPS
from benhan.terminology.small_lists import ethnicity

# LOINC codes of the vital signs group II reads (the first of each in the visit).
VITALS = {"29463-7": "cannang", "8302-2": "chieucao", "8867-4": "mach", "8310-5": "nhietdo", "9279-1": "nhiptho",
          "8480-6": "huyetap_tamthu", "8462-4": "huyetap_tamtruong", "59408-5": "spo2"}
BLOOD_GROUP, RH = "882-1", "10331-7"
ORDER_KINDS = {"lab": 1, "imaging": 2, "procedure": 3}
DRUG_KINDS, SUPPLY_KINDS = ("drug", "blood"), ("supply",)
SNOMED = "http://snomed.info/sct"
# The types an export reads: a reader who may not see one of them gets a refusal, never a record
# with a hole that reads as "nothing recorded".
READS = ("Patient", "Encounter", "Condition", "Observation", "MedicationRequest", "MedicationDispense",
         "ServiceRequest", "DiagnosticReport", "Procedure", "ClinicalImpression", "Composition", "Coverage",
         "ChargeItem", "Appointment")


@cache
def _ethnicity_names() -> dict[str, str]:
    cs, _ = ethnicity()
    return {c["code"]: c.get("display", "") for c in cs.get("concept", [])}


def _stamp(value: str | None) -> str:
    if not value or len(value) <= 10:
        return ""
    try:
        return tables.stamp(datetime.fromisoformat(value))
    except ValueError:
        return ""


def _number(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _text(concept: dict | None) -> str:
    concept = concept or {}
    return concept.get("text") or next((c.get("display") or c.get("code", "") for c in concept.get("coding", [])), "")


def _who(reference: dict | None, names: dict[str, str]) -> str:
    if not reference:
        return ""
    return reference.get("display") or names.get(ref_id(reference) or "", "") or ""


def _fill(fields: tuple[Field, ...], values: dict) -> dict:
    """The values in the table's order, empty ones left out."""
    out = {}
    for f in fields:
        v = values.get(f.name)
        if v is None or v == "" or v == [] or v == {}:
            continue
        out[f.name] = v
    return out


def _practitioners(repo: Repository) -> dict[str, str]:
    return dict(procedures.practitioners(repo))


def _item_list(group: str, rows: list[dict]) -> list[dict]:
    fields = next(g for g in GROUPS if g.name == group).fields
    return [_fill(fields, {"stt": i, **row}) for i, row in enumerate(rows, start=1)]


# --- the groups ------------------------------------------------------------------------------------

def _patient(ep: Episode, patient: dict, observations: list[dict]) -> dict:
    first = {}
    for o in observations:
        for c in (o.get("code") or {}).get("coding", []):
            if c.get("code") in (BLOOD_GROUP, RH) and c["code"] not in first:
                first[c["code"]] = _text(o.get("valueCodeableConcept")) or o.get("valueString", "")
    address = (patient.get("address") or [{}])[0]
    return {"macskcb": ep.facility, "loaiba": ep.visit_type, "sovaovien": ep.ma_lk, "mabenhnhan": ep.patient_code,
            "hoten": ep.name, "cccd_so": ep.cccd, "ngaysinh": tables.birth(ep.birth, ep.birth_day_known), "gioitinh": ep.sex,
            "nhommau": first.get(BLOOD_GROUP, ""), "yeutorh": first.get(RH, ""), "quoctich_ma": ep.nationality,
            "dantoc_ma": ep.ethnicity, "dantoc": _ethnicity_names().get(ep.ethnicity, ""),
            "nghenghiep_ma": ep.occupation,
            "nghenghiep": next((vi for code, vi, _ in OCCUPATION_GROUPS if code == ep.occupation), ""),
            "diachi": ep.address or address.get("text", ""), "tinhthanh_ma": ep.province,
            "quanhuyen_ma": ep.district, "xaphuong_ma": ep.commune, "sodienthoai": ep.phone, "mabhyt": ep.card,
            "noidangkykcbbd": ep.card_place if ep.card else "", "tungaybhyt": tables.day(ep.card_from) if ep.card else "",
            "denngaybhyt": tables.day(ep.card_to) if ep.card else "", "thoigianvaovien": tables.stamp(ep.admitted),
            "makhoa": ";".join(ep.departments), "soba": ep.record_number, "soluutru": ep.record_number or ep.ma_lk}


def _vital_values(observations: list[dict]) -> dict:
    out: dict = {}
    for o in sorted((o for o in observations if chart._category(o) == "vital-signs"),
                    key=lambda o: o.get("effectiveDateTime", "")):
        parts = [(o.get("code"), o.get("valueQuantity"))] + [(c.get("code"), c.get("valueQuantity"))
                                                             for c in o.get("component", [])]
        for code, qty in parts:
            for coding in (code or {}).get("coding", []):
                name = VITALS.get(coding.get("code", ""))
                value = _number((qty or {}).get("value"))
                if name and name not in out and value is not None:
                    f = next(f for f in GROUPS[1].fields if f.name == name)
                    out[name] = int(value.to_integral_value()) if f.kind == "N" else value
    return out


def _admission(ep: Episode, encounter: dict, listed: list, observations: list[dict], fac_rooms: dict) -> dict:
    reasons = encounter.get("reasonCode") or []
    first = reasons[0] if reasons else {}
    codes = {"VNCODE": next((c.get("code", "") for c in first.get("coding", [])
                             if c.get("system") and c.get("system") != SNOMED), ""),
             "SNOMED": next((c.get("code", "") for c in first.get("coding", []) if c.get("system") == SNOMED), "")}
    admit = [d for d in listed if d.role == "AD"]
    main = next((d.code for d in admit if d.kind == "main"), "")
    room = ref_id(((encounter.get("location") or [{}])[0]).get("location")) or ""
    return {"lydovaovien": ep.reason, "dauchung": _text(first),
            "dauchung_ghichu": "; ".join(_text(r) for r in reasons[1:]),
            "dauchung_ma": {k: v for k, v in codes.items() if v},
            "chandoanvaovien": ep.diagnosis_in, "maicd": main,
            "maicd_kemtheo": ";".join(dict.fromkeys(d.code for d in admit if d.kind == "secondary" and d.code)),
            "maphongkham": fac_rooms.get(room, room), **_vital_values(observations)}


def _treatment(ep: Episode, encounter: dict, summary: dict, names: dict[str, str], follow_up: dict | None) -> dict:
    doctor = next((_who(p.get("individual"), names) for p in encounter.get("participant", [])), "")
    finished = encounter.get("status") == "finished"
    notes = [{"stt": i, "thoigian": tables.stamp(p.time), "noidung": p.text, "nguoithuchien": p.performer}
             for i, p in enumerate(ep.progress, start=1) if p.text and p.time]
    dienbien_fields = next(f for f in GROUPS[2].fields if f.name == "dienbien").children
    return {"thoigianravien": tables.stamp(ep.discharged), "songaydieutri": tables.treatment_days(ep),
            "chandoanravien": ep.diagnosis_out, "maicd": ep.main_icd, "maicd_kemtheo": ";".join(ep.other_icd),
            "quatrinhbenhly": ep.history_summary, "tomtatketqua": ep.results_summary,
            "phuongphapdieutri": ep.treatment, "tinhtrangravien": summary.get("tinh-trang-ra-vien", ""),
            "huongdieutri": summary.get("huong-dieu-tri-tiep", ""),
            "ketquadieutri": ep.outcome if finished and discharge.result_of(encounter) else None,
            "loairavien": ep.discharge_type if finished and discharge.disposition_of(encounter) else None,
            "ngaytaikham": (follow_up or {}).get("start", "")[:10].replace("-", ""),
            "bacsi_dieutri": doctor, "chuky_hoten": ep.doctor_name or doctor,
            "dienbien": [_fill(dienbien_fields, n) for n in notes]}


def _medication_rows(visit: chart.VisitRecord, lines: list[ChargeLine], dispenses: dict[str, str],
                     names: dict[str, str]) -> list[dict]:
    by_source = {line.source_ref: line for line in lines if line.source_ref}
    rows = []
    for mr in visit.prescriptions:
        line = by_source.get(f"MedicationRequest/{mr['id']}")
        dosage = (mr.get("dosageInstruction") or [{}])[0]
        qty = _number(((mr.get("dispenseRequest") or {}).get("quantity") or {}).get("value"))
        med = mr.get("medicationReference") or {}
        rows.append({"loai": 1, "mathuocvattu_byt": line.code if line else "",
                     "tenthuocvattu": (line.name if line else "") or med.get("display") or _text(
                         mr.get("medicationCodeableConcept")),
                     "hamluong": (str(line.extra.get("HAM_LUONG", "")) if line else ""),
                     "duongdung": _text(dosage.get("route")), "lieudung": dosage.get("text", ""),
                     "donvitinh": (line.unit if line else "") or (((mr.get("dispenseRequest") or {}).get("quantity")
                                                                   or {}).get("unit", "")),
                     "soluong": qty if qty is not None else (line.quantity if line else None),
                     "sodangky": (str(line.extra.get("SO_DANG_KY", "")).replace(" ", "") if line else ""),
                     "ngayylenh": _stamp(mr.get("authoredOn")) or (tables.stamp(line.service_time) if line else ""),
                     "ngaythuchien": dispenses.get(mr["id"], ""),
                     "bacsi_chidinh": (line.practitioner if line and line.practitioner else "")
                     or _who(mr.get("requester"), names),
                     "trangthai": mr.get("status", "")})
    for line in lines:
        if line.kind in SUPPLY_KINDS or (line.kind in DRUG_KINDS and not line.source_ref.startswith("MedicationRequest/")):
            rows.append({"loai": 2 if line.kind in SUPPLY_KINDS else 1, "mathuocvattu_byt": line.code,
                         "tenthuocvattu": line.name, "donvitinh": line.unit, "soluong": line.quantity,
                         "ngayylenh": tables.stamp(line.service_time), "bacsi_chidinh": line.practitioner})
    return rows


def _service_code(order: dict | None, lines_by_source: dict[str, ChargeLine]) -> str:
    if not order:
        return ""
    line = lines_by_source.get(f"ServiceRequest/{order['id']}")
    return orders.service_code(order) or (line.code if line else "")


def _order_rows(visit: chart.VisitRecord, by_source: dict[str, ChargeLine], names: dict[str, str]) -> list[dict]:
    rows = []
    for o in visit.orders:
        code = _service_code(o, by_source) or next((c.get("code", "") for c in (o.get("code") or {}).get("coding", [])), "")
        rows.append({"sophieu": o["id"], "machidinh": code, "tenchidinh": _text(o.get("code")) or code,
                     "loaichidinh": ORDER_KINDS.get(orders.kind_of(o), 3), "ngaychidinh": _stamp(o.get("authoredOn")),
                     "bacsi_chidinh": _who(o.get("requester"), names), "trangthai": o.get("status", ""),
                     "ghichu": "; ".join(n.get("text", "") for n in o.get("note", []) if n.get("text"))})
    return rows


def _report_category(report: dict) -> str:
    return next((c.get("code", "") for cat in report.get("category", []) for c in cat.get("coding", [])), "")


def _imaging_rows(visit: chart.VisitRecord, by_source: dict[str, ChargeLine]) -> list[dict]:
    orders_by_id = {o["id"]: o for o in visit.orders}
    rows = []
    for r in sorted(visit.reports, key=lambda r: r.get("issued", "")):
        if _report_category(r) not in ("RAD", "OTH") or r.get("status") == "entered-in-error":
            continue
        order_id = next((ref_id(b) for b in r.get("basedOn", [])), None) or ""
        order = orders_by_id.get(order_id)
        if order is not None and orders.kind_of(order) != "imaging":
            continue      # a procedure's report is on the procedure sheet, not an imaging result
        found = "\n".join(f.get("title", "") for f in r.get("presentedForm", []) if f.get("title"))
        rows.append({"sophieu": order_id, "madichvu": _service_code(order, by_source), "tendichvu": _text(r.get("code")),
                     "thoigianthuchien": _stamp(r.get("effectiveDateTime")),
                     "thoigianketqua": _stamp(r.get("issued") or r.get("effectiveDateTime")), "mota": found,
                     "ketluan": r.get("conclusion", ""),
                     "bacsi_doc": ", ".join(x.get("display", "") for x in r.get("resultsInterpreter", []))})
    return rows


def _value_text(obs: dict) -> str:
    if "valueQuantity" in obs:
        v = _number(obs["valueQuantity"].get("value"))
        return "" if v is None else tables.number(v)
    if "valueCodeableConcept" in obs:
        return _text(obs["valueCodeableConcept"])
    for key in ("valueString", "valueInteger", "valueBoolean"):
        if key in obs:
            return str(obs[key])
    return ""


def _range_text(obs: dict) -> str:
    rr = (obs.get("referenceRange") or [{}])[0]
    low, high = _number((rr.get("low") or {}).get("value")), _number((rr.get("high") or {}).get("value"))
    if low is None and high is None:
        return rr.get("text", "")
    return f"{'' if low is None else tables.number(low)} - {'' if high is None else tables.number(high)}".strip()


def _lab_rows(visit: chart.VisitRecord, by_source: dict[str, ChargeLine]) -> list[dict]:
    orders_by_id = {o["id"]: o for o in visit.orders}
    report_of = {ref_id(x): r for r in visit.reports for x in r.get("result", [])}
    rows = []
    for o in visit.observations:
        if chart._category(o) != "laboratory" or o.get("status") == "entered-in-error":
            continue
        report = report_of.get(o["id"]) or {}
        order_id = next((ref_id(b) for b in o.get("basedOn", []) or report.get("basedOn", [])), None) or ""
        coding = ((o.get("code") or {}).get("coding") or [{}])[0]
        flag = next((c.get("code", "") for i in o.get("interpretation", []) for c in i.get("coding", [])), "")
        rows.append({"sophieu": order_id, "madichvu": _service_code(orders_by_id.get(order_id), by_source),
                     "machiso": coding.get("code", ""), "tenchiso": _text(o.get("code")), "giatri": _value_text(o),
                     "donvido": (o.get("valueQuantity") or {}).get("unit", ""), "giatri_binhthuong": _range_text(o),
                     "danhgia": flag, "thoigianketqua": _stamp(o.get("issued") or o.get("effectiveDateTime")),
                     "bacsi_doc": ", ".join(x.get("display", "") for x in report.get("resultsInterpreter", []))})
    return rows


def _referral(ep: Episode, encounter: dict) -> dict | None:
    ref = ep.referral
    if ref is None:
        return None
    dest = (encounter.get("hospitalization") or {}).get("destination") or {}
    return {"sochuyenvien": ref.number, "manoidi": ep.facility, "manoiden": ref.to_facility,
            "tennoiden": dest.get("display", ""), "thoigianchuyen": tables.stamp(ep.discharged),
            "dauhieulamsang": ref.clinical_signs, "ketquacanlamsang": ep.results_summary,
            "chandoan": ep.diagnosis_out, "maicd": ep.main_icd, "phuongphapdieutri": ep.treatment,
            "lydochuyen_ma": int(ref.reason_code) if ref.reason_code.isdigit() else None,
            "huongdieutri": ref.direction, "phuongtienvanchuyen": ref.transport, "nguoihotong": ref.companion}


def _emergency(ep: Episode, encounter: dict, listed: list) -> dict | None:
    if kind_of(encounter) != "cap-cuu":
        return None
    finished = encounter.get("status") == "finished"
    return {"thoigianden": tables.stamp(ep.admitted), "lydoden": ep.reason, "chandoan": ep.diagnosis_in,
            "maicd": next((d.code for d in listed if d.role == "AD" and d.kind == "main"), "") or ep.main_icd,
            "xutri": ep.treatment,
            "ketqua": ep.outcome if finished and discharge.result_of(encounter) else None,
            "huongxutri": ep.discharge_type if finished and discharge.disposition_of(encounter) else None,
            "thoigianroi": tables.stamp(ep.discharged)}


def _ext_text(body: dict, url: str) -> str:
    for e in body.get("extension", []):
        if e.get("url") == url:
            return _text(e.get("valueCodeableConcept")) or (e.get("valueCoding") or {}).get("display", "") \
                or e.get("valueString", "")
    return ""


def _procedure_rows(found: list[dict], kind: str, complications: dict[str, str], names: dict[str, str]) -> list[dict]:
    prefix = "thuthuat" if kind == "thu-thuat" else "phauthuat"
    rows = []
    for p in sorted(found, key=lambda p: p.get("performedDateTime") or (p.get("performedPeriod") or {}).get("start", "")):
        category = next((c.get("code") for c in (p.get("category") or {}).get("coding", [])
                         if c.get("system") == procedures.KIND_SYSTEM), None)
        if category != kind or p.get("status") == "entered-in-error":
            continue
        performers = p.get("performer", [])
        anaesthetist = [x for x in performers if (x.get("function") or {}).get("text") == procedures.ANAESTHETIST["text"]]
        others = [x for x in performers if x not in anaesthetist]
        when = p.get("performedDateTime") or (p.get("performedPeriod") or {}).get("start")
        cls = next((c.get("code", "") for e in p.get("extension", []) if e.get("url") == procedures.CLASS_EXT
                    for c in ((e.get("valueCodeableConcept") or {}).get("coding") or [e.get("valueCoding") or {}])), "")
        rows.append({f"ma{prefix}": next((c.get("code", "") for c in (p.get("code") or {}).get("coding", [])), ""),
                     f"ten{prefix}": _text(p.get("code")), "loai": cls, "thoigianthuchien": _stamp(when),
                     "phuongphapvocam": _ext_text(p, procedures.ANAESTHESIA_EXT),
                     "chandoantruoc": "; ".join(_text(r) for r in p.get("reasonCode", [])),
                     "chandoansau": _ext_text(p, procedures.POST_OP_DX_EXT),
                     "nguoithuchien": ", ".join(_who(x.get("actor"), names) for x in others),
                     "bacsi_gayme": ", ".join(_who(x.get("actor"), names) for x in anaesthetist),
                     "trinhtu": "\n".join(n.get("text", "") for n in p.get("note", []) if n.get("text")),
                     "taibien": "; ".join(complications.get(ref_id(c) or "", "") for c in p.get("complicationDetail", []))})
    return rows


# --- one episode -----------------------------------------------------------------------------------

def _search(repo: Repository, res_type: str, items: list[tuple[str, str]]) -> list[dict]:
    return [m.json() for m in repo.search_all(res_type, items)]


@dataclass
class Shared:
    """What every episode of one export reads alike: the staff's names and the rooms' codes."""
    names: dict[str, str]
    rooms: dict[str, str]


def require_reads(repo: Repository) -> None:
    """Refuse (403, audited) a reader who may not read every type an export reads."""
    for res_type in READS:
        repo.permit("r", res_type, "read")


def shared(repo: Repository) -> Shared:
    require_reads(repo)
    rooms = {}
    for m in repo.search_all("Location", []):
        code = next((i.get("value", "") for i in m.json().get("identifier", []) if i.get("value")), "")
        rooms[m.res_id] = code or m.res_id
    return Shared(_practitioners(repo), rooms)


def episode_tree(repo: Repository, encounter_id: str, common: Shared | None = None) -> dict:
    """The `HoSoBenhAn` of one Encounter: group name → dict (one record) or list (entries)."""
    common = common or shared(repo)
    ep, lines = episode_from_record(repo, encounter_id)
    encounter = repo.read("Encounter", encounter_id).json()
    patient_id = ref_id(encounter.get("subject")) or ""
    patient = repo.read("Patient", patient_id).json()
    visit = chart.visit(repo, encounter, patient)
    names, rooms = common.names, common.rooms
    listed = [d for d in diagnoses.listed(encounter, visit.conditions) if not d.cancelled]
    summary = discharge.summary_texts(visit.summary)
    by_source = {line.source_ref: line for line in lines if line.source_ref}
    eref = f"Encounter/{encounter_id}"
    dispensed = {}
    for d in _search(repo, "MedicationDispense", [("context", eref)]):
        for p in d.get("authorizingPrescription", []):
            dispensed.setdefault(ref_id(p) or "", _stamp(d.get("whenHandedOver")))
    procs = _search(repo, "Procedure", [("encounter", eref)])
    complication_ids = {ref_id(c) for p in procs for c in p.get("complicationDetail", [])}
    complications = {c["id"]: _text(c.get("code")) for c in (
        _search(repo, "Condition", [("_id", ",".join(sorted(i for i in complication_ids if i)))])
        if any(complication_ids) else []) if c["id"] in complication_ids}
    tree = {
        "ThongTinBenhNhan": _patient(ep, patient, visit.observations),
        "ThongTinVaoVien": _admission(ep, encounter, listed, visit.observations, rooms),
        "ThongTinDieuTri": _treatment(ep, encounter, summary, names, chart.follow_up(repo, encounter)),
        "YLenhThuocVatTu": _medication_rows(visit, lines, dispensed, names),
        "PhieuChiDinh": _order_rows(visit, by_source, names),
        "KetQuaChanDoanHinhAnh": _imaging_rows(visit, by_source),
        "KetQuaXetNghiem": _lab_rows(visit, by_source),
        "GiayChuyenVien": _referral(ep, encounter),
        "HoSoCapCuu": _emergency(ep, encounter, listed),
        "PhieuThuThuat": _procedure_rows(procs, "thu-thuat", complications, names),
        "PhieuPhauThuat": _procedure_rows(procs, "phau-thuat", complications, names),
    }
    out = {}
    for g in GROUPS:
        value = tree.get(g.name)
        if not value:
            continue
        if g.item is None:
            filled = _fill(g.fields, value)
            if filled:
                out[g.name] = filled
        else:
            out[g.name] = _item_list(g.name, value)
    return out
