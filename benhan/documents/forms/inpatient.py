"""01/BV1 Bệnh án Nội khoa (TT 32/2023 PL XXVIII), forms-tt32.md §2.2: the cover sheet (I. Hành chính,
II. Quản lý người bệnh items 12–19, III. Chẩn đoán 20–23 with the ICD boxes, IV. Tình trạng ra viện
24–29, the facility head's, the head of department's and the treating doctor's blocks), then A. Bệnh án
(the doctor's workup) and B. Tổng kết bệnh án ra viện, each on a sheet of its own as on paper.

Every value is what the app recorded where it happened (clinical.admission, transfers, procedures,
discharge, outcome); the options of the tick boxes are the vocabulary's. The record's treatment and
nursing sheets are forms of their own. The room and bed ("Buồng", "Giường": clinical.beds, the
Encounter.location entries with physicalType ro/bd) print beside the admitting department, every bed
of the stay with the time the patient was put in it. Items the paper has but benhan does not record
yet (Mã YT, "vào ngày thứ … của bệnh", the risk-factor table) print as the paper's blank."""
from __future__ import annotations

from benhan.clinical import record
from benhan.clinical import beds
from benhan.clinical.common import vn_datetime
from benhan.documents.forms import blocks, sheets, sources as s
from benhan.documents.layout.model import (Column, DateLine, Digits, Field, Form, Heading, Line, PageBreak,
                                           Signature, Signatures, Table, Ticks)


def _organ(code: str, number: str = "") -> Field:
    sec = record.BY_CODE[code]
    return Field(sec.vi, s.text(code), key=f"exam-{code}", number=number)


def _beds(d: s.FormData) -> str:
    """Every bed of the stay with when the patient was put in it: 'Giường 1 (09:00 10/03/2025); …'."""
    return "; ".join(f"{b.name} ({vn_datetime(b.start)})" if b.start else b.name
                     for b in beds.bed_stays(d.ctx.encounter))


def _dx(label: str, text: s.Source, code: s.Source, key: str, number: str = "") -> Line:
    """A diagnosis on its dotted line with the paper's "Mã" boxes beside it."""
    return Line((Field(label, text, key=key, number=number, width=0.76),
                 Digits("Mã", code, 5, key=f"{key}-icd", width=0.24)))


FORM = Form(
    key="inpatient", code="01/BV1", title="BỆNH ÁN NỘI KHOA",
    identifiers=(Field("Số lưu trữ", s.nobody, key="archive-number", code=True),
                 Field("Mã YT", s.nobody, key="health-code", code=True),
                 Field("Số vào viện", s.record_number, key="record-number", code=True)),
    record_number=s.record_number,
    needs=("Observation", "Condition", "ClinicalImpression", "Composition", "MedicationRequest", "ServiceRequest",
           "DiagnosticReport", "Procedure"),
    document_type=("11503-0", "Medical records"),
    body=(
        Heading("I. HÀNH CHÍNH"),
        *blocks.ADMINISTRATIVE,
        Heading("II. QUẢN LÝ NGƯỜI BỆNH"),
        Line((Field("Vào viện lúc", s.arrived, key="arrived", number="12.", width=0.36, code=True),
              Ticks("Trực tiếp vào", "truc-tiep-vao", s.admit_route, key="route", number="13.", width=0.64))),
        Line((Ticks("Nơi giới thiệu", "noi-gioi-thieu-noi-tru", s.admit_source, key="source", number="14.",
                    width=0.56),
              Field("Nơi", s.admit_origin, key="origin", width=0.44))),
        Line((Field("Vào khoa", s.first_department, key="department", number="15.", width=0.40),
              Field("lúc", s.first_department_at, key="department-at", width=0.34, code=True),
              Digits("Số ngày", s.first_department_days, 2, key="department-days", width=0.26))),
        Line((Field("Buồng", sheets.room, key="room", width=0.30),
              Field("Giường", _beds, key="bed", width=0.70))),
        Table("transfers", (Column("16. Chuyển khoa", 0.46), Column("Lúc (giờ, ngày)", 0.34),
                            Column("Số ngày điều trị", 0.20)), s.transfer_rows, min_rows=3),
        Line((Ticks("Chuyển viện", "chuyen-vien", s.transfer_level, key="transfer-level", number="17.", width=0.6),
              Field("Chuyển đến", s.transfer_destination, key="transfer-to", width=0.4))),
        Line((Field("Ra viện lúc", s.ended, key="ended", number="18.", width=0.34, code=True),
              Ticks("Hình thức", "ra-vien", s.disposition, key="disposition", width=0.66))),
        Digits("Tổng số ngày điều trị", s.days_treated, 3, key="days", number="19."),
        Heading("III. CHẨN ĐOÁN"),
        _dx("Nơi chuyển đến", s.referral_dx, s.referral_dx_code, "referral-dx", "20."),
        _dx("KKB, Cấp cứu", s.kkb_dx, s.kkb_dx_code, "kkb-dx", "21."),
        _dx("Khi vào khoa điều trị", s.diagnosis("AD", True), s.diagnosis_code("AD"), "ward-dx", "22."),
        Ticks("Đã làm", "thu-thuat-phau-thuat", s.procedure_kinds, key="procedure-kinds"),
        Field("Thủ thuật đã làm", s.procedures_of("thu-thuat"), key="procedures"),
        Field("Phẫu thuật đã làm", s.procedures_of("phau-thuat"), key="surgeries"),
        _dx("Ra viện - Bệnh chính", s.diagnosis("DD", True), s.diagnosis_code("DD"), "main-dx", "23."),
        Line((Field("Bệnh kèm theo", s.diagnosis("DD", False), key="other-dx", width=0.62),
              Field("Mã", s.diagnosis_codes("DD"), key="other-dx-icd", width=0.38, code=True))),
        Ticks("Xảy ra", "tai-bien-bien-chung", s.complication_kinds, key="complication-kinds"),
        Field("Tai biến đã xảy ra", s.complications_of("tai-bien"), key="accidents"),
        Field("Biến chứng đã xảy ra", s.complications_of("bien-chung"), key="complications"),
        Heading("IV. TÌNH TRẠNG RA VIỆN"),
        Ticks("Kết quả điều trị", "ket-qua-dieu-tri", s.treatment_result, key="result", number="24."),
        Ticks("Giải phẫu bệnh (khi có sinh thiết)", "giai-phau-benh", s.pathology, key="pathology", number="25."),
        Line((Field("Tình hình tử vong: lúc", s.death_time, key="death-time", number="26.", width=0.40, code=True),
              Ticks("Do", "tu-vong-do", s.death_circumstance, key="death-circumstance", width=0.60))),
        Ticks("Thời điểm", "tu-vong-khi", s.death_within, key="death-within"),
        _dx("Nguyên nhân chính tử vong", s.death_cause, s.death_cause_code, "death-cause", "27."),
        Ticks("Khám nghiệm tử thi", "kham-nghiem-tu-thi", s.autopsy, key="autopsy", number="28."),
        _dx("Chẩn đoán giải phẫu tử thi", s.autopsy_dx, s.autopsy_dx_code, "autopsy-dx", "29."),
        DateLine(s.end_day, key="date-line"),
        Signatures((Signature(s.head_title, s.nobody, key="head", role="seal"),
                    Signature(s.title("head-of-department"), s.nobody, key="department-head"),
                    Signature(s.title("treating-doctor"), s.summary_author, key="cover-doctor"))),
        PageBreak(),
        Heading("A. BỆNH ÁN"),
        Line((Field("Lý do vào viện", s.text("ly-do-vao-vien"), key="reason", number="I.", width=0.72),
              Field("Vào ngày thứ", s.nobody, key="illness-day", width=0.28))),
        Heading("II. HỎI BỆNH"),
        Field("Quá trình bệnh lý", s.text("qua-trinh-benh-ly"), key="history", number="1.", lines=3),
        Field("Tiền sử bệnh - Bản thân", s.text("tien-su-ban-than"), key="personal-history", number="2.", lines=2),
        Field("Đặc điểm liên quan bệnh", s.text("dac-diem-lien-quan"), key="risk-factors", lines=2),
        Field("Gia đình", s.text("tien-su-gia-dinh"), key="family-history"),
        Heading("III. KHÁM BỆNH"),
        Field("Toàn thân", s.text("toan-than"), key="general", number="1.", lines=2),
        blocks.VITALS,
        Heading("2. Các cơ quan"),
        *(_organ(sec.code) for sec in record.SECTIONS if sec.group == "exam" and sec.code != "toan-than"),
        Field("Các xét nghiệm cận lâm sàng cần làm", s.text("xet-nghiem-can-lam"), key="tests", number="3.",
              lines=2),
        Field("Tóm tắt bệnh án", s.text("tom-tat-benh-an"), key="record-summary", number="4.", lines=3),
        Heading("IV. CHẨN ĐOÁN KHI VÀO KHOA ĐIỀU TRỊ"),
        _dx("Bệnh chính", s.diagnosis("AD", True), s.diagnosis_code("AD"), "admission-dx"),
        Line((Field("Bệnh kèm theo", s.diagnosis("AD", False), key="admission-other", width=0.62),
              Field("Mã", s.diagnosis_codes("AD"), key="admission-other-icd", width=0.38, code=True))),
        Field("Phân biệt", s.text("chan-doan-phan-biet"), key="differential"),
        Field("Tiên lượng", s.text("tien-luong"), key="prognosis", number="V.", lines=2),
        Field("Hướng điều trị", s.text("huong-dieu-tri"), key="plan", number="VI.", lines=2),
        DateLine(s.record_date, key="record-date-line"),
        Signatures((Signature(s.title("record-doctor"), s.record_author, key="record-doctor"),)),
        PageBreak(),
        Heading("B. TỔNG KẾT BỆNH ÁN RA VIỆN"),
        Field("Quá trình bệnh lý và diễn biến lâm sàng", s.summary("qua-trinh-benh-ly"), key="course", number="1.",
              lines=3),
        Field("Tóm tắt kết quả xét nghiệm cận lâm sàng có giá trị chẩn đoán", s.summary_or_results,
              key="key-results", number="2.", lines=2),
        Field("Phương pháp điều trị", s.summary("phuong-phap-dieu-tri"), key="method", number="3.", lines=2),
        Field("Tình trạng người bệnh ra viện", s.summary("tinh-trang-ra-vien"), key="status", number="4.", lines=2),
        Field("Hướng điều trị và các chế độ tiếp theo", s.summary("huong-dieu-tri-tiep"), key="onward",
              number="5.", lines=2),
        Table("handover", (Column("Hồ sơ, phim, ảnh", 0.7), Column("Số tờ", 0.3)), s.handover_rows, min_rows=0),
        DateLine(s.summary_date, key="summary-date-line"),
        Signatures((Signature(s.title("handed-by"), s.nobody, key="handed-by"),
                    Signature(s.title("received-by"), s.nobody, key="received-by"),
                    Signature(s.title("treating-doctor"), s.summary_author, key="treating", role="author"))),
    ),
)
