"""Where each printed value comes from: small functions of FormData (data.py), named after what they
read. Nothing here invents a value: what the record does not hold comes back empty and prints as
the paper's dotted line (TT 32/2023 Đ52 k1 b), and a tick box is ticked only by a recorded code.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from benhan.clinical import admission, chart, diagnoses, discharge, orders, outcome, prescriptions, procedures
from benhan.clinical import record, signers, transfers, visits
from benhan.clinical.common import identifier, vn_date, vn_datetime
from benhan.clinical.registration import ETHNICITY_EXT, NATIONALITY_EXT, OCCUPATION_EXT, WORKPLACE_EXT
from benhan.clinical.vitals import readings
from benhan.documents.forms import vocabulary
from benhan.documents.forms.data import FormData
from benhan.documents.prescription_code import NATIONAL_CODE_SYSTEM
from benhan.vn.display import number, unit
from benhan.vn.identifiers import MA_LK_SYSTEM

BENHAN_SD = "https://benhan.vn/fhir/StructureDefinition"
REFERRAL_REASON = "https://benhan.vn/fhir/CodeSystem/ly-do-chuyen"     # TT 01/2025 PL VI (XML13 MA_LYDO_CT)
# What the transfer's ServiceRequest carries beyond R4's own elements (XML13 fields in brackets).
REFERRAL_EXT = {name: f"{BENHAN_SD}/referral-{name}" for name in (
    "treatment-direction",      # hướng điều trị [HUONG_DIEU_TRI]
    "transport",                # phương tiện vận chuyển [PHUONGTIEN_VC]
    "escort",                   # người hộ tống [HOTEN_NGUOI_HT]
    "escort-title",             # chức danh người hộ tống [CHUCDANH_NGUOI_HT]
    "condition-at-transfer",    # tình trạng người bệnh lúc chuyển
    "valid-one-year")}          # có giá trị trong 01 năm (a disease of TT 01/2025 PL III)


# --- the patient ---

def _ext(body: dict, url: str) -> tuple[str, str]:
    """(code, words) of an extension."""
    for e in body.get("extension", []):
        if e.get("url") == url:
            if "valueString" in e:
                return "", e["valueString"]
            cc = e.get("valueCodeableConcept", {})
            coding = (cc.get("coding") or [{}])[0]
            return coding.get("code", ""), coding.get("display") or cc.get("text", "")
    return "", ""


def name(d: FormData) -> str:
    return d.ctx.banner.name


def birth_date(d: FormData) -> str:
    return vn_date(d.ctx.banner.birth_date)


def age(d: FormData) -> str:
    return "" if d.ctx.banner.age is None else str(d.ctx.banner.age)


def age_in_months(d: FormData) -> str:
    """TT 26/2025: a child under 72 months has the age in months on the prescription."""
    born, day = d.ctx.banner.birth_date, d.printed.date()
    if not born or len(born) < 10:
        return ""
    b = dt.date.fromisoformat(born[:10])
    months = (day.year - b.year) * 12 + day.month - b.month - (day.day < b.day)
    return f"{months} tháng" if 0 <= months < 72 else ""


def is_child(d: FormData) -> bool:
    return bool(age_in_months(d))


def gender(d: FormData) -> str:
    return d.ctx.banner.gender or ""


def gender_words(d: FormData) -> str:
    return dict(vocabulary.options("gioi-tinh")).get(d.ctx.banner.gender or "", "")


def occupation(d: FormData) -> str:
    return _ext(d.ctx.patient, OCCUPATION_EXT)[1]


def occupation_code(d: FormData) -> str:
    return _ext(d.ctx.patient, OCCUPATION_EXT)[0]


def ethnicity(d: FormData) -> str:
    return _ext(d.ctx.patient, ETHNICITY_EXT)[1]


def ethnicity_code(d: FormData) -> str:
    return _ext(d.ctx.patient, ETHNICITY_EXT)[0]


def nationality(d: FormData) -> str:
    return _ext(d.ctx.patient, NATIONALITY_EXT)[1]


def workplace(d: FormData) -> str:
    return _ext(d.ctx.patient, WORKPLACE_EXT)[1]


def address(d: FormData) -> str:
    return (d.ctx.patient.get("address") or [{}])[0].get("text", "")


def cccd(d: FormData) -> str:
    return d.ctx.banner.cccd or ""


def bhyt_number(d: FormData) -> str:
    return d.ctx.banner.bhyt or ""


def bhyt_valid_to(d: FormData) -> str:
    return vn_date(((d.ctx.coverage or {}).get("period") or {}).get("end"))


def bhyt_valid_from(d: FormData) -> str:
    return vn_date(((d.ctx.coverage or {}).get("period") or {}).get("start"))


def payer(d: FormData) -> str:
    """15/BV1 item 9: ticked BHYT only when a card covers the visit; the other kinds are not
    recorded in benhan yet, so nothing else is ticked."""
    return "bhyt" if d.ctx.coverage and d.ctx.banner.bhyt else ""


def _contact(d: FormData) -> dict:
    return (d.ctx.patient.get("contact") or [{}])[0]


def next_of_kin(d: FormData) -> str:
    c = _contact(d)
    who = c.get("name", {}).get("text", "")
    where = (c.get("address") or {}).get("text", "")
    return ", ".join(x for x in (who, where) if x)


def next_of_kin_phone(d: FormData) -> str:
    return (_contact(d).get("telecom") or [{}])[0].get("value", "")


def child_companion(d: FormData) -> str:
    """TT 26/2025: the name of the parent or the person bringing a child under 72 months."""
    return _contact(d).get("name", {}).get("text", "") if is_child(d) else ""


def phone(d: FormData) -> str:
    return next((t.get("value", "") for t in d.ctx.patient.get("telecom", []) if t.get("system") == "phone"), "")


# --- the visit ---

def _period(d: FormData) -> dict:
    return d.ctx.encounter.get("period") or {}


def arrived(d: FormData) -> str:
    return vn_datetime(_period(d).get("start"))


def start_date(d: FormData) -> str:
    return vn_date(_period(d).get("start"))


def end_date(d: FormData) -> str:
    return vn_date(_period(d).get("end"))


def ended(d: FormData) -> str:
    return vn_datetime(_period(d).get("end"))


def record_number(d: FormData) -> str:
    """The visit's number (MA_LK) — Số ngoại trú / số hồ sơ."""
    return identifier(d.ctx.encounter, MA_LK_SYSTEM) or ""


def department(d: FormData) -> str:
    """The department the patient is in now: the last stay after transfers (clinical.transfers)."""
    if d.ctx.stays:
        return d.ctx.stays[-1].name
    return (d.ctx.encounter.get("location") or [{}])[0].get("location", {}).get("display", "")


def referred_by(d: FormData) -> str:
    """15/BV1 item 13: the referrer the clinician recorded (clinical.admission), else what the desk's
    BHYT route says (a transfer slip, self-referred), else a client's HL7 admitSource; never a default."""
    enc = d.ctx.encounter
    recorded = vocabulary.option_for("referral-source", admission.of(enc).source)
    route = next((e.get("valueCode") for e in enc.get("extension", []) if e.get("url") == visits.BHYT_ROUTE_EXT), "")
    coding = (((enc.get("hospitalization") or {}).get("admitSource") or {}).get("coding") or [{}])[0]
    return (recorded or vocabulary.option_for("bhyt-route", route)
            or vocabulary.option_for("admit-source", coding.get("code")))


def referring_facility(d: FormData) -> str:
    return ((d.ctx.encounter.get("hospitalization") or {}).get("origin") or {}).get("display", "")


def _texts(d: FormData) -> dict[str, str]:
    return record.texts(d.ctx.rec.record)


def text(code: str) -> Callable[[FormData], str]:
    """A section of the doctor's record (benhan.clinical.record.SECTIONS)."""
    def read(d: FormData) -> str:
        return _texts(d).get(code, "")
    read.__name__ = f"text_{code}"
    return read


def summary(code: str) -> Callable[[FormData], str]:
    """A section of the record summary (benhan.clinical.discharge.SUMMARY)."""
    def read(d: FormData) -> str:
        return discharge.summary_texts(d.ctx.rec.summary).get(code, "")
    read.__name__ = f"summary_{code}"
    return read


def exam_by_part(d: FormData) -> str:
    t = _texts(d)
    return "\n".join(f"{sec.vi}: {t[sec.code]}" for sec in record.SECTIONS
                     if sec.group == "exam" and sec.code != "toan-than" and t.get(sec.code))


def _vital(d: FormData) -> dict[str, float]:
    rs = readings(d.ctx.rec.vital_signs)
    return rs[0].values if rs else {}


def vital(kind: str) -> Callable[[FormData], str]:
    """The first round's value, with the decimal comma (38,5)."""
    def read(d: FormData) -> str:
        v = _vital(d)
        if kind == "blood_pressure":
            return f"{number(v['systolic'])}/{number(v.get('diastolic'))}" if "systolic" in v else ""
        return number(v[kind]) if kind in v else ""
    read.__name__ = f"vital_{kind}"
    return read


def results(d: FormData) -> str:
    lines = []
    for o in d.ctx.rec.orders:
        report = chart.report_for(o["id"], d.ctx.rec.reports)
        if not report:
            continue
        rows = orders.result_rows(report, d.ctx.rec.lab_results)
        parts = [f"{r.name}: {number(r.value)} {unit(r.unit)}".strip() + (f" ({r.flag})" if r.flag in ("H", "L") else "")
                 for r in rows]
        lines.append(f"{o.get('code', {}).get('text', '')}: " + ("; ".join(parts) or report.get("conclusion", "")))
    return "\n".join(lines)


def _listed(d: FormData) -> list[diagnoses.Listed]:
    return diagnoses.listed(d.ctx.encounter, d.ctx.rec.conditions)


def diagnosis(role: str, main: bool) -> Callable[[FormData], str]:
    """Diagnoses of a role (AD admission/visit, DD discharge): the main one, or the others."""
    def read(d: FormData) -> str:
        return diagnoses.text_of(_listed(d), role, main)
    read.__name__ = f"diagnosis_{role}_{'main' if main else 'other'}"
    return read


def diagnosis_code(role: str) -> Callable[[FormData], str]:
    def read(d: FormData) -> str:
        return next((x.code for x in _listed(d) if x.role == role and x.kind == "main"), "")
    read.__name__ = f"diagnosis_code_{role}"
    return read


def diagnoses_with_codes(d: FormData) -> str:
    """Every live diagnosis of the visit, main first, each with its ICD-10 code (prescription, slips)."""
    items = [x for x in _listed(d) if not x.cancelled]
    chosen = [x for x in items if x.role == "DD"] or items
    chosen.sort(key=lambda x: (x.kind != "main", x.rank))
    return "; ".join(f"{x.display} ({x.code})" if x.code else x.display for x in chosen)


def _drug_lines(d: FormData) -> list[dict]:
    return [r for r in d.ctx.rec.prescriptions if r.get("status") in ("active", "completed")]


def _quantity(r: dict) -> str:
    """TT 26/2025: a quantity under 10 is written with a leading zero ("05")."""
    q = r.get("dispenseRequest", {}).get("quantity", {})
    value = q.get("value")
    if value is None:
        return ""
    shown = f"{int(value):02d}" if float(value) == int(value) and value < 10 else number(value)
    return f"{shown} {unit(q.get('unit'))}".strip()


def drug_rows(d: FormData) -> list[list[str]]:
    return [[str(i), prescriptions.drug_of(r), _quantity(r), (r.get("dosageInstruction") or [{}])[0].get("text", "")]
            for i, r in enumerate(_drug_lines(d), 1)]


def treatment_given(d: FormData) -> str:
    """15/BV1 IV.5 "Đã xử lý": the drugs prescribed, then the plan written in the record."""
    drugs = [f"{r[1]} — {r[2]} — {r[3]}" for r in drug_rows(d)]
    return "\n".join([*drugs, *([_texts(d)["huong-dieu-tri"]] if _texts(d).get("huong-dieu-tri") else [])])


def advice(d: FormData) -> str:
    return "; ".join(sorted({(r.get("dosageInstruction") or [{}])[0].get("patientInstruction", "")
                             for r in _drug_lines(d)} - {""}))


def prescription_code(d: FormData) -> str:
    """The national prescription code (TT 26/2025 PL I footnote 1) once issued; never made up here."""
    for r in _drug_lines(d):
        for i in r.get("identifier", []):
            if i.get("system") == NATIONAL_CODE_SYSTEM:
                return i.get("value", "")
    return ""


def prescribed_on(d: FormData) -> dt.date | None:
    first = next(iter(_drug_lines(d)), None)
    return _as_date((first or {}).get("authoredOn"))


def prescribed_on_text(d: FormData) -> str:
    return vn_datetime((next(iter(_drug_lines(d)), None) or {}).get("authoredOn"))


def prescriber(d: FormData) -> str:
    first = next(iter(_drug_lines(d)), None)
    return signers.full_name((first or {}).get("requester"), d.ctx.practitioners)


def record_author(d: FormData) -> str:
    return signers.full_name(((d.ctx.rec.record or {}).get("author") or [None])[0], d.ctx.practitioners)


def record_date(d: FormData) -> dt.date | None:
    return _as_date((d.ctx.rec.record or {}).get("date"))


def summary_author(d: FormData) -> str:
    return signers.full_name(((d.ctx.rec.summary or {}).get("author") or [None])[0], d.ctx.practitioners)


def summary_date(d: FormData) -> dt.date | None:
    return _as_date((d.ctx.rec.summary or {}).get("date"))


def _as_date(iso: str | None) -> dt.date | None:
    if not iso or len(iso) < 10:
        return None
    return dt.date.fromisoformat(iso[:10])


def follow_up_date(d: FormData) -> str:
    return vn_date((d.ctx.appointment or {}).get("start"))


def follow_up_when(d: FormData) -> dt.date | None:
    return _as_date((d.ctx.appointment or {}).get("start"))


def follow_up_note(d: FormData) -> str:
    return (d.ctx.appointment or {}).get("description", "")


def follow_up(d: FormData) -> str:
    a = d.ctx.appointment
    return " — ".join(x for x in (vn_date(a.get("start")), a.get("description", "")) if x) if a else ""


def follow_up_number(d: FormData) -> str:
    """XML14 SO_GIAYHEN_KL: the appointment's own identifier, else its id."""
    a = d.ctx.appointment
    if not a:
        return ""
    return next((i.get("value", "") for i in a.get("identifier", [])), "") or a.get("id", "")[:8].upper()


def follow_up_booked_on(d: FormData) -> dt.date | None:
    return _as_date((d.ctx.appointment or {}).get("created"))


def follow_up_by(d: FormData) -> str:
    a = d.ctx.appointment or {}
    who = next((p.get("actor") for p in a.get("participant", [])
                if (p.get("actor") or {}).get("reference", "").startswith("Practitioner/")), None)
    return signers.full_name(who, d.ctx.practitioners) if who else record_author(d)


def handover_rows(d: FormData) -> list[list[str]]:
    """Hồ sơ, phim, ảnh: the kinds the paper lists (vocabulary); the number of result sheets benhan
    holds for "xét nghiệm", the others not recorded yet (blank)."""
    reports = len(d.ctx.rec.reports)
    return [[words, str(reports) if code == "xet-nghiem" and reports else ""]
            for code, words in vocabulary.options("ho-so-phim-anh")]


# --- the facility and signers ---

def facility(d: FormData) -> str:
    return d.ctx.facility.name


def facility_code(d: FormData) -> str:
    return d.ctx.facility.code


def head_title(d: FormData) -> str:
    return d.ctx.head_title


def nobody(d: FormData) -> str:
    """A signer benhan does not know yet (the head who signs the paper): the dotted line for the name."""
    return ""


def title(name: str) -> Callable[[FormData], str]:
    def read(d: FormData) -> str:
        return vocabulary.title(name)
    read.__name__ = f"title_{name}"
    return read


def printed_on(d: FormData) -> dt.date:
    return d.printed.date()


# --- the BHYT transfer (TT 01/2025 PL VI, XML13) ---

def _ref(d: FormData) -> dict:
    return d.referral or {}


def _ref_ext(d: FormData, name: str) -> str:
    for e in _ref(d).get("extension", []):
        if e.get("url") == REFERRAL_EXT[name]:
            return str(e.get("valueString") or e.get("valueBoolean") or "")
    return ""


def referral_number(d: FormData) -> str:
    return next((i.get("value", "") for i in _ref(d).get("identifier", [])), "")


def referral_to(d: FormData) -> str:
    return ((_ref(d).get("performer") or [{}])[0]).get("display", "")


def referral_to_code(d: FormData) -> str:
    return (((_ref(d).get("performer") or [{}])[0]).get("identifier") or {}).get("value", "")


def referral_reason(d: FormData) -> str:
    for cc in _ref(d).get("reasonCode", []):
        for c in cc.get("coding", []):
            if c.get("system") == REFERRAL_REASON:
                return c.get("code", "")
    return ""


def referral_when(d: FormData) -> str:
    return vn_datetime(_ref(d).get("occurrenceDateTime"))


def referral_signs(d: FormData) -> str:
    """Dấu hiệu lâm sàng [DAU_HIEU_LS]: the general and the organ examination."""
    return "\n".join(x for x in (_texts(d).get("toan-than", ""), exam_by_part(d)) if x)


def referral_treatment(d: FormData) -> str:
    """Phương pháp, thủ thuật, kỹ thuật, thuốc đã sử dụng [PP_DIEUTRI, TEN_THUOC]."""
    return treatment_given(d)


def referral_author(d: FormData) -> str:
    return signers.full_name(_ref(d).get("requester"), d.ctx.practitioners)


def referral_date(d: FormData) -> dt.date | None:
    return _as_date(_ref(d).get("authoredOn"))


def referral_ext(name: str) -> Callable[[FormData], str]:
    def read(d: FormData) -> str:
        return _ref_ext(d, name)
    read.__name__ = f"referral_{name}"
    return read


def referral_one_year(d: FormData) -> str:
    return "co" if _ref_ext(d, "valid-one-year") in ("True", "true") else ""


# --- the sick-leave certificate (TT 25/2025 Mẫu 07; a Basic, data.sick_leave_of) ---

SICK_LEAVE_EXT = {name: f"{BENHAN_SD}/sick-leave-{name}" for name in (
    "period",          # valuePeriod: từ ngày … đến hết ngày …
    "number",          # valueString: số seri
    "bhxh",            # valueString: mã số bảo hiểm xã hội
    "father",          # valueString: họ tên cha (a child under 7)
    "mother",          # valueString: họ tên mẹ
    "treatment",       # valueString: phương pháp điều trị
    "note")}           # valueString: ghi chú


def _leave_ext(d: FormData, name: str) -> dict:
    return next((e for e in (d.sick_leave or {}).get("extension", []) if e.get("url") == SICK_LEAVE_EXT[name]), {})


def sick_leave(name: str) -> Callable[[FormData], str]:
    def read(d: FormData) -> str:
        return _leave_ext(d, name).get("valueString", "")
    read.__name__ = f"sick_leave_{name}"
    return read


def sick_leave_from(d: FormData) -> str:
    return vn_date((_leave_ext(d, "period").get("valuePeriod") or {}).get("start"))


def sick_leave_to(d: FormData) -> str:
    return vn_date((_leave_ext(d, "period").get("valuePeriod") or {}).get("end"))


def sick_leave_days(d: FormData) -> str:
    period = _leave_ext(d, "period").get("valuePeriod") or {}
    start, end = _as_date(period.get("start")), _as_date(period.get("end"))
    return f"{(end - start).days + 1:02d}" if start and end and end >= start else ""


def sick_leave_author(d: FormData) -> str:
    return signers.full_name((d.sick_leave or {}).get("author"), d.ctx.practitioners)


def sick_leave_date(d: FormData) -> dt.date | None:
    return _as_date((d.sick_leave or {}).get("created"))


# --- the stay (01/BV1 items 12–29, the discharge paper, the death notice) ---
# Each reads what the app recorded where it happened (clinical.admission, transfers, procedures,
# discharge, outcome); tick-box sources return the app's own code, which the vocabulary's option
# keys are.

def _hosp(d: FormData) -> dict:
    return d.ctx.encounter.get("hospitalization") or {}


def admit_route(d: FormData) -> str:
    return admission.of(d.ctx.encounter).route


def admit_source(d: FormData) -> str:
    return admission.of(d.ctx.encounter).source


def admit_origin(d: FormData) -> str:
    adm = admission.of(d.ctx.encounter)
    return adm.origin_name + (f" (mã {adm.origin_code})" if adm.origin_code else "")


def _stay(d: FormData, i: int) -> transfers.Stay | None:
    return d.ctx.stays[i] if len(d.ctx.stays) > i else None


def _days(n: int | None) -> str:
    return "" if n is None else f"{n:02d}"


def first_department(d: FormData) -> str:
    s = _stay(d, 0)
    return s.name if s else ""


def first_department_at(d: FormData) -> str:
    s = _stay(d, 0)
    return vn_datetime(s.start) if s else ""


def first_department_days(d: FormData) -> str:
    s = _stay(d, 0)
    return _days(s.days) if s else ""


def transfer_rows(d: FormData) -> list[list[str]]:
    """Item 16: each later department, when the patient came, the days there."""
    return [[s.name, vn_datetime(s.start), "" if s.days is None else str(s.days)] for s in d.ctx.stays[1:]]


def transfer_level(d: FormData) -> str:
    return next(((e.get("valueCoding") or {}).get("code", "") for e in _hosp(d).get("extension", [])
                 if e.get("url") == outcome.LEVEL_EXT), "")


def transfer_destination(d: FormData) -> str:
    dest = _hosp(d).get("destination") or {}
    code = (dest.get("identifier") or {}).get("value", "")
    return dest.get("display", "") + (f" (mã {code})" if code else "")


def disposition(d: FormData) -> str:
    return discharge.disposition_of(d.ctx.encounter)


def days_treated(d: FormData) -> str:
    return _days((d.ctx.encounter.get("length") or {}).get("value"))


def _coded(cc: dict | None) -> tuple[str, str]:
    cc = cc or {}
    return cc.get("text") or (cc.get("coding") or [{}])[0].get("display", ""), (cc.get("coding") or [{}])[0].get(
        "code", "")


def _hosp_dx(d: FormData, url: str) -> tuple[str, str]:
    return _coded(next((e.get("valueCodeableConcept") for e in _hosp(d).get("extension", [])
                        if e.get("url") == url), None))


def referral_dx(d: FormData) -> str:
    return _hosp_dx(d, admission.REFERRAL_DX_EXT)[0]


def referral_dx_code(d: FormData) -> str:
    return _hosp_dx(d, admission.REFERRAL_DX_EXT)[1]


def kkb_dx(d: FormData) -> str:
    return _hosp_dx(d, admission.ADMISSION_DX_EXT)[0]


def kkb_dx_code(d: FormData) -> str:
    return _hosp_dx(d, admission.ADMISSION_DX_EXT)[1]


def diagnosis_codes(role: str) -> Callable[[FormData], str]:
    """The codes of the other (not main) diagnoses of a role, as the paper's "Mã" beside them."""
    def read(d: FormData) -> str:
        return "; ".join(x.code for x in _listed(d) if x.role == role and x.kind != "main" and not x.cancelled
                         and x.code)
    read.__name__ = f"diagnosis_codes_{role}"
    return read


def procedure_kinds(d: FormData) -> list[str]:
    return sorted({procedures.kind_of(p) for p in d.ctx.procedures} - {""})


def procedures_of(kind: str) -> Callable[[FormData], str]:
    def read(d: FormData) -> str:
        return "\n".join(procedures.describe(p, d.ctx.practitioners) for p in d.ctx.procedures
                         if procedures.kind_of(p) == kind)
    read.__name__ = f"procedures_{kind}"
    return read


def complication_kinds(d: FormData) -> list[str]:
    return sorted({procedures.kind_of(c) for c in procedures.complications(d.ctx.rec.conditions)} - {""})


def complications_of(kind: str) -> Callable[[FormData], str]:
    def read(d: FormData) -> str:
        return "\n".join(procedures.complication_text(c) for c in procedures.complications(d.ctx.rec.conditions)
                         if procedures.kind_of(c) == kind)
    read.__name__ = f"complications_{kind}"
    return read


def treatment_result(d: FormData) -> str:
    return discharge.result_of(d.ctx.encounter)


def pathology(d: FormData) -> str:
    ext = next((e for e in d.ctx.encounter.get("extension", []) if e.get("url") == outcome.PATHOLOGY_EXT), {})
    return (ext.get("valueCoding") or {}).get("code", "")


def _death(d: FormData) -> outcome.Death | None:
    return outcome.death_of(d.ctx.encounter)


def _death_ext(d: FormData, part: str) -> dict:
    ext = next((e for e in d.ctx.encounter.get("extension", []) if e.get("url") == outcome.DEATH_EXT), {})
    return next((x for x in ext.get("extension", []) if x.get("url") == part), {})


def death_time(d: FormData) -> str:
    death = _death(d)
    return vn_datetime(death.time) if death else ""


def death_circumstance(d: FormData) -> str:
    death = _death(d)
    return death.circumstance if death else ""


def death_within(d: FormData) -> str:
    death = _death(d)
    if death is None or death.within_24h is None:
        return ""
    return "trong-24-gio" if death.within_24h else "sau-24-gio"


def death_cause(d: FormData) -> str:
    return _coded(_death_ext(d, "cause").get("valueCodeableConcept"))[0]


def death_cause_code(d: FormData) -> str:
    return _coded(_death_ext(d, "cause").get("valueCodeableConcept"))[1]


def autopsy(d: FormData) -> str:
    death = _death(d)
    return "yes" if death and death.autopsy else ""


def autopsy_dx(d: FormData) -> str:
    return _coded(_death_ext(d, "autopsyDiagnosis").get("valueCodeableConcept"))[0]


def autopsy_dx_code(d: FormData) -> str:
    return _coded(_death_ext(d, "autopsyDiagnosis").get("valueCodeableConcept"))[1]


def summary_or_results(d: FormData) -> str:
    """Summary item 2: what the doctor wrote, else the results benhan holds."""
    return summary("ket-qua-can-lam-sang")(d) or results(d)


def end_day(d: FormData) -> dt.date | None:
    return _as_date(_period(d).get("end"))


def all_diagnosis_codes(d: FormData) -> str:
    """The ICD-10 codes of diagnoses_with_codes, in its order."""
    items = [x for x in _listed(d) if not x.cancelled]
    chosen = [x for x in items if x.role == "DD"] or items
    chosen.sort(key=lambda x: (x.kind != "main", x.rank))
    return "; ".join(x.code for x in chosen if x.code)


def guardian(d: FormData) -> str:
    """Mẫu 02: the parent or guardian of a patient under 16 (the contact the desk recorded)."""
    return next_of_kin(d) if d.ctx.banner.age is not None and d.ctx.banner.age < 16 else ""


_UNITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _under_100(n: int) -> str:
    if n < 10:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    head = "mười" if tens == 1 else f"{_UNITS[tens]} mươi"
    if unit == 0:
        return head
    word = {1: "mốt" if tens > 1 else "một", 4: "tư" if tens > 1 else "bốn", 5: "lăm"}.get(unit, _UNITS[unit])
    return f"{head} {word}"


def _year_words(y: int) -> str:
    thousands, rest = divmod(y, 1000)
    hundreds, tail = divmod(rest, 100)
    out = f"{_UNITS[thousands]} nghìn"
    if hundreds or tail:
        out += f" {_UNITS[hundreds]} trăm"
        if tail:
            out += (" lẻ " + _UNITS[tail]) if tail < 10 else " " + _under_100(tail)
    return out


def death_time_words(d: FormData) -> str:
    """Mẫu 05: the time of death in words too (blank when unknown)."""
    death = _death(d)
    if not death or len(death.time) <= 10:
        return ""
    t = dt.datetime.fromisoformat(death.time)
    return (f"{_under_100(t.hour)} giờ {_under_100(t.minute)} phút, ngày {_under_100(t.day)} tháng "
            f"{_under_100(t.month)} năm {_year_words(t.year)}")
