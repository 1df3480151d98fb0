"""The MoH forms of a visit, built from the stored record as labelled fields:

- the outpatient record (bệnh án ngoại trú, TT 32/2023 PL XXVIII, 15/BV1 per vietnam.md §1.3);
- the internal-medicine inpatient record 01/BV1 (TT 32/2023 PL XXVIII): the administrative part,
  patient management, diagnoses, discharge status, A. the record, B. the discharge summary, with
  every field of the form (empty fields print empty, as on paper) — the structure of vietnam.md §1.3;
- the prescription (đơn thuốc, TT 26/2025);
- the discharge paper (giấy ra viện, TT 32/2023 PL XXIX).

One structure feeds both the HTML print view and the PDF, so they cannot differ. MANDATORY lists
each form's field labels (the PDF tests check every one is printed). Each printout carries the
electronic-to-paper mark of NĐ 137/2024 Đ5: the system, the owner (facility), a lookup code and
address, the time of printing and who printed it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from benhan import __version__
from benhan.auth.actor import Actor
from benhan.clinical import admission, chart, diagnoses, discharge, orders, outcome, prescriptions, record, signers
from benhan.clinical import procedures as procs
from benhan.clinical import beds, transfers, visits
from benhan.clinical import notes as notes_mod
from benhan.clinical.common import identifier, name_of, ref_id, vn_date, vn_datetime, who
from benhan.clinical.registration import ETHNICITY_EXT, NATIONALITY_EXT, OCCUPATION_EXT, WORKPLACE_EXT
from benhan.clinical.vitals import readings
from benhan.store.repository import Repository
from benhan.vn.display import number, unit
from benhan.vn.identifiers import MA_LK_SYSTEM

FORMS = ("outpatient", "inpatient", "prescription", "discharge")
# What each form is made of: a reader whose role may not see one of these gets no printout (a paper
# record with a part silently missing would read as "nothing recorded" — issue 12.3).
_RECORD = ("Observation", "Condition", "ClinicalImpression", "Composition", "MedicationRequest", "ServiceRequest",
           "DiagnosticReport")
NEEDS = {"outpatient": _RECORD, "inpatient": _RECORD, "prescription": ("Condition", "MedicationRequest"),
         "discharge": ("Condition", "Composition")}


def hidden_parts(form: str, rec: chart.VisitRecord) -> list[str]:
    """The types this form prints that the reader may not see."""
    return [t for t in NEEDS.get(form, ()) if not rec.permitted(t)]


@dataclass
class Row:
    label: str
    value: str = ""


@dataclass
class Block:
    heading: str
    rows: list[Row] = field(default_factory=list)
    header: list[str] | None = None         # a table: its column titles …
    table: list[list[str]] | None = None    # … and rows
    new_page: bool = False                  # starts a page of its own (another sheet of the record)


@dataclass
class Mark:
    system: str
    facility: str
    lookup_code: str
    lookup_url: str
    printed_at: str
    printed_by: str

    def lines(self) -> list[str]:
        return [f"Bản in từ hồ sơ bệnh án điện tử (NĐ 137/2024/NĐ-CP Điều 5) — Hệ thống: {self.system}",
                f"Cơ sở quản lý hồ sơ: {self.facility} — Mã tra cứu: {self.lookup_code} — Địa chỉ tra cứu: {self.lookup_url}",
                f"Thời điểm in: {self.printed_at} — Người in: {self.printed_by}"]


@dataclass
class Printout:
    form: str
    form_code: str
    title: str
    facility: str
    department: str
    patient_id: str
    patient_name: str
    blocks: list[Block]
    signatures: list[str]
    mark: Mark
    signers: list[str] = field(default_factory=list)     # the full name under each signature ("" unknown)


# The labels each form must print (checked by the PDF tests): the form's fields, not the values.
ADMIN_LABELS = ("Họ và tên", "Sinh ngày", "Tuổi", "Giới", "Nghề nghiệp", "Dân tộc", "Ngoại kiều", "Địa chỉ",
                "Nơi làm việc", "Đối tượng", "BHYT giá trị đến ngày", "Số thẻ BHYT",
                "Họ tên, địa chỉ người nhà khi cần báo tin", "Điện thoại", "Số CCCD/định danh")
MANDATORY = {
    "inpatient": ADMIN_LABELS + (
        "Vào viện", "Trực tiếp vào", "Nơi giới thiệu", "Vào khoa", "Chuyển khoa", "Chuyển viện", "Ra viện",
        "Tổng số ngày điều trị", "Nơi chuyển đến", "KKB, Cấp cứu", "Khi vào khoa điều trị", "Thủ thuật",
        "Phẫu thuật", "Ra viện - Bệnh chính", "Ra viện - Bệnh kèm theo", "Tai biến", "Biến chứng",
        "Kết quả điều trị", "Giải phẫu bệnh", "Tình hình tử vong", "Nguyên nhân chính tử vong",
        "Khám nghiệm tử thi", "Chẩn đoán giải phẫu tử thi", "Lý do vào viện", "Vào ngày thứ", "Quá trình bệnh lý",
        "Tiền sử bản thân", "Tiền sử gia đình", "Khám toàn thân", "Mạch", "Nhiệt độ", "Huyết áp", "Nhịp thở",
        "Cân nặng", "Tuần hoàn", "Hô hấp", "Tiêu hóa", "Thận - Tiết niệu - Sinh dục", "Thần kinh",
        "Cơ - Xương - Khớp", "Tai - Mũi - Họng", "Răng - Hàm - Mặt", "Mắt", "Nội tiết, dinh dưỡng",
        "Các xét nghiệm cận lâm sàng cần làm", "Tóm tắt bệnh án", "Bệnh chính", "Bệnh kèm theo", "Phân biệt",
        "Tiên lượng", "Hướng điều trị", "Quá trình bệnh lý và diễn biến lâm sàng",
        "Tóm tắt kết quả xét nghiệm cận lâm sàng có giá trị chẩn đoán", "Phương pháp điều trị",
        "Tình trạng người bệnh ra viện", "Hướng điều trị và các chế độ tiếp theo", "Hồ sơ, phim, ảnh",
        "Người giao hồ sơ", "Người nhận hồ sơ", "Bác sĩ điều trị", "Trưởng khoa",
        "Bác sĩ làm bệnh án", "TỜ ĐIỀU TRỊ"),
    # 15/BV1's own item labels: its PDF is drawn by the layout engine (benhan.documents.forms.outpatient).
    "outpatient": ADMIN_LABELS + (
        "Đến khám bệnh lúc", "Chẩn đoán của nơi giới thiệu", "Lý do đến khám", "Quá trình bệnh lý", "Tiền sử bệnh",
        "Gia đình", "Toàn thân", "Mạch", "Nhiệt độ", "Huyết áp", "Nhịp thở", "Cân nặng", "Chiều cao", "Các bộ phận",
        "Tóm tắt kết quả cận lâm sàng", "Chẩn đoán ban đầu", "Bệnh kèm theo", "Đã xử lý", "Chẩn đoán khi ra viện",
        "Điều trị ngoại trú từ ngày", "Hẹn tái khám", "Bác sĩ khám bệnh", "TỔNG KẾT BỆNH ÁN"),
    "prescription": ("Họ và tên", "Ngày sinh", "Tuổi", "Giới", "Số CCCD/định danh", "Số thẻ BHYT", "Địa chỉ",
                     "Chẩn đoán", "Thuốc điều trị", "Lời dặn", "Ngày kê đơn", "Bác sĩ/Y sĩ khám bệnh",
                     "Hẹn tái khám"),
    "discharge": ("Họ và tên", "Ngày sinh", "Tuổi", "Giới", "Dân tộc", "Nghề nghiệp", "Số thẻ BHYT",
                  "Số CCCD/định danh", "Địa chỉ", "Vào viện lúc", "Ra viện lúc", "Chẩn đoán", "Mã ICD-10",
                  "Phương pháp điều trị", "Tình trạng ra viện", "Ghi chú", "Trưởng khoa", "Thủ trưởng đơn vị",
                  "Hẹn tái khám"),
}
TITLES = {"outpatient": ("BỆNH ÁN NGOẠI TRÚ", "MS: 15/BV1"),
          "inpatient": ("BỆNH ÁN NỘI KHOA", "MS: 01/BV1"),
          "prescription": ("ĐƠN THUỐC", "Mẫu đơn thuốc (TT 26/2025/TT-BYT)"),
          "discharge": ("GIẤY RA VIỆN", "TT 32/2023/TT-BYT, Phụ lục XXIX")}


@dataclass
class Context:
    """Everything the forms print, read once."""
    facility: visits.Facility
    encounter: dict
    patient: dict
    banner: chart.Banner
    rec: chart.VisitRecord
    coverage: dict | None
    appointment: dict | None
    # The stay (01/BV1 items 15–29), read by gather; the defaults keep a Context built by hand valid.
    procedures: list[dict] = field(default_factory=list)         # Procedure, in the order done
    stays: list[transfers.Stay] = field(default_factory=list)    # the departments, admitting one first
    head_title: str = ""                                         # the facility head's title, to sign
    practitioners: dict[str, str] = field(default_factory=dict)  # Practitioner id → full name (signers)


def gather(repo: Repository, encounter_id: str, today, configured_name: str | None = None,  # noqa: ANN001
           head_title: str | None = None) -> Context:
    encounter = repo.read("Encounter", encounter_id).json()
    patient = repo.read("Patient", ref_id(encounter.get("subject")) or "x").json()
    rec = chart.visit(repo, encounter, patient)
    coverage = None
    if chart.may_read(repo, "Coverage"):
        found = repo.search_type("Coverage", [("beneficiary", f"Patient/{patient['id']}"), ("_count", "50")])
        coverage = _coverage_of(encounter, [m.json() for m in found.matches])
    # Every part of a printout is of its own encounter: the follow-up too (issue 12.5).
    appt = chart.follow_up(repo, encounter)
    fac = visits.facility(repo, configured_name)
    proc_list = procs.of_visit(repo, encounter["id"]) if chart.may_read(repo, "Procedure") else []
    names = {m.res_id: m.json().get("name", "") for m in repo.search_all("Location", [])}
    authors = [*((rec.record or {}).get("author") or []), *((rec.summary or {}).get("author") or []),
               *(x.get("actor") for p in proc_list for x in p.get("performer", []))]
    if head_title is None:
        head_title = repo.store.config.values.get("facility_head_title", "")
    return Context(fac, encounter, patient, chart.banner(repo, patient, today), rec, coverage, appt,
                   proc_list, transfers.stays(encounter, names), signers.head_title(head_title, fac.name),
                   signers.practitioner_names(repo, authors))


def _coverage_of(encounter: dict, coverages: list[dict]) -> dict | None:
    """The BHYT card valid on the visit's first day (an expired or later card is another visit's);
    without a date to compare, the active one."""
    day = ((encounter.get("period") or {}).get("start") or "")[:10]

    def covers(c: dict) -> bool:
        period = c.get("period") or {}
        return (period.get("start") or "")[:10] <= day <= ((period.get("end") or "9999")[:10])
    active = [c for c in coverages if c.get("status") == "active"]
    return next((c for c in active if day and covers(c)), active[0] if active else None)


def _ext(body: dict, url: str) -> str:
    for e in body.get("extension", []):
        if e.get("url") == url:
            if "valueString" in e:
                return e["valueString"]
            cc = e.get("valueCodeableConcept", {})
            return (cc.get("coding") or [{}])[0].get("display") or cc.get("text", "")
    return ""


def _gender(code: str) -> str:
    return {"male": "Nam", "female": "Nữ", "other": "Khác"}.get(code, "Không rõ")


def _contact(p: dict) -> tuple[str, str]:
    c = (p.get("contact") or [{}])[0]
    return c.get("name", {}).get("text", ""), (c.get("telecom") or [{}])[0].get("value", "")


def _admin(ctx: Context) -> list[Row]:
    p, b = ctx.patient, ctx.banner
    name, phone = _contact(p)
    cov = ctx.coverage or {}
    address = (p.get("address") or [{}])[0].get("text", "")
    return [Row("Họ và tên", b.name.upper()), Row("Sinh ngày", vn_date(b.birth_date)),
            Row("Tuổi", "" if b.age is None else str(b.age)), Row("Giới", _gender(b.gender)),
            Row("Nghề nghiệp", _ext(p, OCCUPATION_EXT)), Row("Dân tộc", _ext(p, ETHNICITY_EXT)),
            Row("Ngoại kiều", _ext(p, NATIONALITY_EXT)), Row("Số CCCD/định danh", b.cccd or ""),
            Row("Địa chỉ", address), Row("Nơi làm việc", _ext(p, WORKPLACE_EXT)),
            Row("Đối tượng", "BHYT" if b.bhyt else "Thu phí"),
            Row("BHYT giá trị đến ngày", vn_date((cov.get("period") or {}).get("end"))),
            Row("Số thẻ BHYT", b.bhyt or ""),
            Row("Họ tên, địa chỉ người nhà khi cần báo tin", name), Row("Điện thoại", phone)]


def _vitals_rows(ctx: Context) -> list[Row]:
    rs = readings(ctx.rec.vital_signs)
    first = rs[0].values if rs else {}

    def val(f: str, unit: str) -> str:      # a decimal comma: the form is Vietnamese (38,5 °C)
        return f"{number(first[f])} {unit}" if f in first else ""
    bp = (f"{number(first['systolic'])}/{number(first.get('diastolic'))} mmHg"
          if "systolic" in first else "")
    return [Row("Mạch", val("pulse", "lần/phút")), Row("Nhiệt độ", val("temperature", "°C")), Row("Huyết áp", bp),
            Row("Nhịp thở", val("respiratory_rate", "lần/phút")), Row("Cân nặng", val("weight", "kg")),
            Row("Chiều cao", val("height", "cm"))]


def _dx(ctx: Context, role: str, main: bool) -> str:
    return diagnoses.text_of(diagnoses.listed(ctx.encounter, ctx.rec.conditions), role, main)


def _results_text(ctx: Context) -> str:
    lines = []
    for o in ctx.rec.orders:
        report = chart.report_for(o["id"], ctx.rec.reports)
        if not report:
            continue
        rows = orders.result_rows(report, ctx.rec.lab_results)
        parts = [f"{r.name}: {number(r.value)} {unit(r.unit)}" + (f" ({r.flag})" if r.flag in ("H", "L") else "")
                 for r in rows]
        lines.append(f"{o.get('code', {}).get('text', '')}: " + ("; ".join(parts) or report.get("conclusion", "")))
    return "\n".join(lines)


def _drugs_table(ctx: Context) -> tuple[list[str], list[list[str]]]:
    header = ["STT", "Tên thuốc, hàm lượng", "Số lượng", "Cách dùng"]
    rows = []
    lines = [r for r in ctx.rec.prescriptions if r.get("status") in ("active", "completed")]
    for i, r in enumerate(lines, 1):
        q = r.get("dispenseRequest", {}).get("quantity", {})
        rows.append([str(i), prescriptions.drug_of(r), f"{number(q.get('value'))} {unit(q.get('unit'))}".strip(),
                     (r.get("dosageInstruction") or [{}])[0].get("text", "")])
    return header, rows


def _period(ctx: Context) -> tuple[str, str]:
    period = ctx.encounter.get("period") or {}
    return vn_datetime(period.get("start")), vn_datetime(period.get("end"))


def _author(ctx: Context) -> str:
    return signers.full_name(((ctx.rec.record or {}).get("author") or [{}])[0], ctx.practitioners)


def _treating(ctx: Context) -> str:
    """The treating doctor: who wrote the discharge summary (part B)."""
    return signers.full_name(((ctx.rec.summary or {}).get("author") or [{}])[0], ctx.practitioners) \
        if ctx.rec.summary else ""


def _stay_text(stay: transfers.Stay) -> str:
    days = "" if stay.days is None else f"{stay.days} ngày"
    return " — ".join(x for x in (stay.name, vn_datetime(stay.start), days) if x)


def _management(ctx: Context, start: str, end: str) -> list[Row]:
    """II. Quản lý người bệnh (items 12–19), each from what was recorded."""
    adm = admission.of(ctx.encounter)
    source = admission.SOURCES.get(adm.source, ("", ""))[0]
    origin = adm.origin_name + (f" (mã {adm.origin_code})" if adm.origin_code else "")
    length = ctx.encounter.get("length", {}).get("value")
    disposition = discharge.disposition_of(ctx.encounter)
    stays = ctx.stays
    return [
        Row("Vào viện", start), Row("Trực tiếp vào", admission.ROUTES.get(adm.route, ("", ""))[0]),
        Row("Nơi giới thiệu", " — ".join(x for x in (source, origin) if x)),
        Row("Vào khoa", _stay_text(stays[0]) if stays else ""),
        *([Row("Buồng, giường", "; ".join(f"{b.name} ({b.start and vn_datetime(b.start)})"
                                         for b in beds.bed_stays(ctx.encounter)))]
          if beds.bed_stays(ctx.encounter) else []),
        Row("Chuyển khoa", "; ".join(_stay_text(x) for x in stays[1:])),
        Row("Chuyển viện", outcome.transfer_out_of(ctx.encounter)),
        Row("Ra viện", f"{end} — {discharge.DISPOSITIONS.get(disposition, ('', ''))[0]}" if end else ""),
        Row("Tổng số ngày điều trị", "" if length is None else str(length))]


def _procedure_rows(ctx: Context) -> list[Row]:
    done = {k: "; ".join(procs.describe(p, ctx.practitioners) for p in ctx.procedures if procs.kind_of(p) == k)
            for k in procs.KINDS}
    comps = procs.complications(ctx.rec.conditions)
    happened = {k: "; ".join(procs.complication_text(c) for c in comps if procs.kind_of(c) == k) for k in procs.COMPLICATIONS}
    return [Row("Thủ thuật", done["thu-thuat"]), Row("Phẫu thuật", done["phau-thuat"]),
            Row("Ra viện - Bệnh chính", _dx(ctx, "DD", True)), Row("Ra viện - Bệnh kèm theo", _dx(ctx, "DD", False)),
            Row("Tai biến", happened["tai-bien"]), Row("Biến chứng", happened["bien-chung"])]


def _death_rows(ctx: Context) -> list[Row]:
    death = outcome.death_of(ctx.encounter)
    autopsy = "" if death is None or death.autopsy is None else outcome.AUTOPSY["yes" if death.autopsy else "no"][0]
    return [Row("Giải phẫu bệnh", outcome.pathology_of(ctx.encounter)),
            Row("Tình hình tử vong", death.summary() if death else ""),
            Row("Nguyên nhân chính tử vong", death.cause if death else ""),
            Row("Khám nghiệm tử thi", autopsy), Row("Chẩn đoán giải phẫu tử thi", death.autopsy_dx if death else "")]


def _appointment(ctx: Context) -> str:
    a = ctx.appointment
    return f"{vn_date(a.get('start'))} — {a.get('description', '')}" if a else ""


def _inpatient(ctx: Context) -> list[Block]:
    t = record.texts(ctx.rec.record)
    s = discharge.summary_texts(ctx.rec.summary)
    start, end = _period(ctx)
    result = discharge.result_of(ctx.encounter)
    adm = admission.of(ctx.encounter)
    blocks = [
        Block("I. HÀNH CHÍNH", _admin(ctx)),
        Block("II. QUẢN LÝ NGƯỜI BỆNH", _management(ctx, start, end)),
        Block("III. CHẨN ĐOÁN", [
            Row("Nơi chuyển đến", adm.referral_dx), Row("KKB, Cấp cứu", adm.kkb_dx),
            Row("Khi vào khoa điều trị", "; ".join(x for x in (_dx(ctx, "AD", True), _dx(ctx, "AD", False)) if x)),
            *_procedure_rows(ctx)]),
        Block("IV. TÌNH TRẠNG RA VIỆN", [
            Row("Kết quả điều trị", discharge.RESULTS.get(result, ("", ""))[0]), *_death_rows(ctx)]),
        Block("A. BỆNH ÁN", [
            Row("I. Lý do vào viện", t.get("ly-do-vao-vien", "")), Row("Vào ngày thứ", ""),
            Row("II. Hỏi bệnh - 1. Quá trình bệnh lý", t.get("qua-trinh-benh-ly", "")),
            Row("2. Tiền sử bản thân", "\n".join(x for x in (t.get("tien-su-ban-than", ""),
                                                          t.get("dac-diem-lien-quan", "")) if x)),
            Row("Tiền sử gia đình", t.get("tien-su-gia-dinh", "")),
            Row("III. Khám bệnh - 1. Khám toàn thân", t.get("toan-than", "")),
            *_vitals_rows(ctx),
            *[Row(f"2. {sec.vi}" if i == 0 else sec.vi, t.get(sec.code, ""))
              for i, sec in enumerate(s_ for s_ in record.SECTIONS if s_.group == "exam" and s_.code != "toan-than")],
            Row("3. Các xét nghiệm cận lâm sàng cần làm", t.get("xet-nghiem-can-lam", "")),
            Row("4. Tóm tắt bệnh án", t.get("tom-tat-benh-an", "")),
            Row("IV. Chẩn đoán khi vào khoa điều trị - Bệnh chính", _dx(ctx, "AD", True)),
            Row("Bệnh kèm theo", _dx(ctx, "AD", False)), Row("Phân biệt", t.get("chan-doan-phan-biet", "")),
            Row("V. Tiên lượng", t.get("tien-luong", "")), Row("VI. Hướng điều trị", t.get("huong-dieu-tri", "")),
            Row("Bác sĩ làm bệnh án", _author(ctx))]),
        Block("B. TỔNG KẾT BỆNH ÁN", [
            *[Row(f"{i}. {sec.vi}", s.get(sec.code, "") or (_results_text(ctx) if sec.code == "ket-qua-can-lam-sang"
                                                             else ""))
              for i, sec in enumerate(discharge.SUMMARY, 1)],
            Row("Hồ sơ, phim, ảnh", "X-quang: …  CT Scanner: …  Siêu âm: …  Xét nghiệm: …  Khác: …  Toàn bộ hồ sơ: …"),
            Row("Người giao hồ sơ", ""), Row("Người nhận hồ sơ", ""),
            Row("Bác sĩ điều trị", _treating(ctx))]),
    ]
    # The treatment sheet holds the physician's progress notes and orders only; the nurses' notes
    # are the nursing care sheet's (issue 12.6), on their own page after it.
    notes = [n for n in ctx.rec.notes if n.get("status") != "entered-in-error"]
    blocks.append(Block("TỜ ĐIỀU TRỊ", header=["Ngày giờ", "Diễn biến bệnh", "Y lệnh", "Người ghi"],
                        table=_note_rows(n for n in notes if notes_mod.kind_of(n) == "progress")))
    blocks.append(Block(NURSING_SHEET, header=["Ngày giờ", "Theo dõi diễn biến", "Thực hiện y lệnh, chăm sóc",
                                               "Điều dưỡng ghi"],
                        table=_note_rows(n for n in notes if notes_mod.kind_of(n) == "nursing"), new_page=True))
    other = [n for n in notes if notes_mod.kind_of(n) not in notes_mod.KINDS]
    if other:       # notes of no known kind (another system's): printed, but on no one's sheet
        blocks.append(Block("GHI CHÉP KHÁC", header=["Ngày giờ", "Nội dung", "Ghi chú", "Người ghi"],
                            table=_note_rows(other)))
    return blocks


NURSING_SHEET = "PHIẾU CHĂM SÓC"


def _note_rows(notes) -> list[list[str]]:  # noqa: ANN001
    return [[vn_datetime(n.get("date") or n.get("effectiveDateTime")), n.get("summary", ""),
             (n.get("note") or [{}])[0].get("text", ""), _display(n.get("assessor"))] for n in notes]


def _display(reference: dict | None) -> str:
    return (reference or {}).get("display", "")


def _outpatient(ctx: Context) -> list[Block]:
    t = record.texts(ctx.rec.record)
    start, end = _period(ctx)
    exam = "\n".join(f"{sec.vi}: {t[sec.code]}" for sec in record.SECTIONS
                     if sec.group == "exam" and sec.code != "toan-than" and t.get(sec.code))
    header, rows = _drugs_table(ctx)
    treatment = "\n".join(f"{r[1]} — {r[2]} — {r[3]}" for r in rows) or t.get("huong-dieu-tri", "")
    return [
        Block("I. HÀNH CHÍNH", _admin(ctx)),
        Block("II. KHÁM BỆNH", [
            Row("Đến khám lúc", start), Row("Lý do đến khám", t.get("ly-do-vao-vien", "")),
            Row("Bệnh sử", t.get("qua-trinh-benh-ly", "")), Row("Tiền sử bản thân", t.get("tien-su-ban-than", "")),
            Row("Tiền sử gia đình", t.get("tien-su-gia-dinh", "")), Row("Khám toàn thân", t.get("toan-than", "")),
            *_vitals_rows(ctx), Row("Khám bộ phận", exam), Row("Kết quả cận lâm sàng", _results_text(ctx)),
            Row("Chẩn đoán - Bệnh chính", _dx(ctx, "AD", True) or _dx(ctx, "DD", True)),
            Row("Chẩn đoán - Bệnh kèm theo", _dx(ctx, "AD", False)),
            Row("Xử trí, điều trị", treatment), Row("Kết thúc khám lúc", end), Row("Hẹn tái khám", _appointment(ctx)),
            Row("Bác sĩ khám bệnh", _author(ctx))]),
    ]


def _prescription(ctx: Context) -> list[Block]:
    b = ctx.banner
    header, rows = _drugs_table(ctx)
    first = next((r for r in ctx.rec.prescriptions if r.get("status") in ("active", "completed")), {})
    advice = "; ".join(sorted({(r.get("dosageInstruction") or [{}])[0].get("patientInstruction", "")
                               for r in ctx.rec.prescriptions} - {""}))
    dx = "; ".join(x for x in (_dx(ctx, "AD", True), _dx(ctx, "AD", False)) if x)
    return [
        Block("", [Row("Họ và tên", b.name.upper()), Row("Ngày sinh", vn_date(b.birth_date)),
                   Row("Tuổi", "" if b.age is None else str(b.age)), Row("Giới", _gender(b.gender)),
                   Row("Số CCCD/định danh", b.cccd or ""), Row("Số thẻ BHYT", b.bhyt or ""),
                   Row("Địa chỉ", (ctx.patient.get("address") or [{}])[0].get("text", "")), Row("Chẩn đoán", dx),
                   Row("Mã đơn thuốc", first.get("groupIdentifier", {}).get("value", ""))]),
        Block("Thuốc điều trị", header=header, table=rows),
        Block("", [Row("Lời dặn", advice), Row("Hẹn tái khám", _appointment(ctx)),
                   Row("Ngày kê đơn", vn_datetime(first.get("authoredOn"))),
                   Row("Bác sĩ/Y sĩ khám bệnh", first.get("requester", {}).get("display", ""))]),
    ]


def _discharge(ctx: Context) -> list[Block]:
    b = ctx.banner
    s = discharge.summary_texts(ctx.rec.summary)
    start, end = _period(ctx)
    dx = [d for d in diagnoses.listed(ctx.encounter, ctx.rec.conditions) if d.role == "DD" and not d.cancelled] or [
        d for d in diagnoses.listed(ctx.encounter, ctx.rec.conditions) if not d.cancelled]
    return [Block("", [
        Row("Họ và tên", b.name.upper()), Row("Ngày sinh", vn_date(b.birth_date)),
        Row("Tuổi", "" if b.age is None else str(b.age)), Row("Giới", _gender(b.gender)),
        Row("Dân tộc", _ext(ctx.patient, ETHNICITY_EXT)), Row("Nghề nghiệp", _ext(ctx.patient, OCCUPATION_EXT)),
        Row("Số thẻ BHYT", b.bhyt or ""), Row("Số CCCD/định danh", b.cccd or ""),
        Row("Địa chỉ", (ctx.patient.get("address") or [{}])[0].get("text", "")),
        Row("Vào viện lúc", start), Row("Ra viện lúc", end),
        Row("Chẩn đoán", "; ".join(d.display for d in dx)), Row("Mã ICD-10", "; ".join(d.code for d in dx)),
        Row("Phương pháp điều trị", s.get("phuong-phap-dieu-tri", "")),
        Row("Tình trạng ra viện", s.get("tinh-trang-ra-vien", "")
            or discharge.RESULTS.get(discharge.result_of(ctx.encounter), ("", ""))[0]),
        Row("Ghi chú", s.get("huong-dieu-tri-tiep", "")), Row("Hẹn tái khám", _appointment(ctx))])]


# The inpatient record's first signer is the facility head, by this facility's title (Context.head_title).
HEAD = "{head}"
_SIGNATURES = {"inpatient": [HEAD, "Trưởng khoa", "Bác sĩ điều trị"],
               "outpatient": ["Bác sĩ khám bệnh"], "prescription": ["Bác sĩ/Y sĩ khám bệnh"],
               "discharge": ["Trưởng khoa", "Thủ trưởng đơn vị"]}
_BUILD = {"inpatient": _inpatient, "outpatient": _outpatient, "prescription": _prescription, "discharge": _discharge}


def lookup_code(ctx: Context, form: str) -> str:
    """A code printed on paper that finds the electronic original: the visit's MA_LK and a digest of
    the versions the printout was made from (a later change gives another code)."""
    ma_lk = identifier(ctx.encounter, MA_LK_SYSTEM) or ctx.encounter["id"][:8]
    versions = [ctx.encounter.get("meta", {}).get("versionId", ""), *(
        f"{x['id']}:{x.get('meta', {}).get('versionId', '')}" for x in
        [*(ctx.rec.record and [ctx.rec.record] or []), *ctx.rec.notes, *ctx.rec.prescriptions])]
    digest = hashlib.sha256(f"{form}|{ctx.encounter['id']}|{'|'.join(versions)}".encode()).hexdigest()[:8].upper()
    return f"{ma_lk}-{digest}"


def build(ctx: Context, form: str, actor: Actor, printed: datetime, base_url: str) -> Printout:
    if form not in _BUILD:
        raise ValueError(form)
    title, code = TITLES[form]
    # The department the patient is (or was last) in: after a transfer, the new one.
    location = ctx.stays[-1].name if ctx.stays else \
        (ctx.encounter.get("location") or [{}])[-1].get("location", {}).get("display", "")
    fac = ctx.facility
    mark = Mark(system=f"benhan {__version__}", facility=f"{fac.name}" + (f" (mã {fac.code})" if fac.code else ""),
                lookup_code=lookup_code(ctx, form), lookup_url=f"{base_url.rstrip('/')}/ui/encounters/{ctx.encounter['id']}",
                printed_at=printed.strftime("%H:%M %d/%m/%Y"), printed_by=who(actor))
    titles = [ctx.head_title or signers.HEAD_FALLBACK if t == HEAD else t for t in _SIGNATURES[form]]
    return Printout(form, code, title, fac.name, location, ctx.patient["id"], name_of(ctx.patient), _BUILD[form](ctx),
                    titles, mark, _signer_names(ctx, form))


def _signer_names(ctx: Context, form: str) -> list[str]:
    """The full name under each signature that the record tells (the head and the head of department
    are not recorded yet: their line stays blank for the pen)."""
    known = {"Bác sĩ điều trị": _treating(ctx), "Bác sĩ khám bệnh": _author(ctx),
             "Bác sĩ/Y sĩ khám bệnh": signers.full_name(next(
                 (r.get("requester") for r in ctx.rec.prescriptions if r.get("status") in ("active", "completed")), None),
                 ctx.practitioners)}
    return [known.get(t, "") for t in _SIGNATURES[form]]

