"""15/BV1 Bệnh án ngoại trú (TT 32/2023 PL XXVIII), forms-tt32.md §2.1: the administrative part
(items 1–13), II–IV, the signatures under item 7; page 2 the record summary with the handover table."""
from __future__ import annotations

from benhan.documents.forms import blocks, sources as s
from benhan.documents.layout.model import (Column, DateLine, Digits, Field, Form, Heading, Line, PageBreak,
                                           Signature, Signatures, Table, Ticks)


def _handover(d) -> list[list[str]]:  # noqa: ANN001
    """Hồ sơ, phim, ảnh: the kinds the paper lists; the number of result sheets benhan holds for
    "Xét nghiệm", the others not recorded yet (blank)."""
    reports = len(d.ctx.rec.reports)
    return [["X-quang", ""], ["CT Scanner", ""], ["Siêu âm", ""], ["Xét nghiệm", str(reports) if reports else ""],
            ["Khác", ""], ["Toàn bộ hồ sơ", ""]]


FORM = Form(
    key="outpatient", code="15/BV1", title="BỆNH ÁN NGOẠI TRÚ",
    identifiers=(Field("Số ngoại trú", s.record_number, key="record-number", code=True),
                 Field("Số lưu trữ", s.nobody, key="archive-number", code=True)),
    record_number=s.record_number, needs=("Observation", "Condition", "Composition", "MedicationRequest",
                                         "ServiceRequest", "DiagnosticReport"),
    document_type=("34108-1", "Outpatient Note"),
    body=(
        Heading("I. HÀNH CHÍNH"),
        *blocks.ADMINISTRATIVE,
        Line((Field("Đến khám bệnh lúc", s.arrived, key="arrived", number="12.", width=0.45, code=True),
              Field("Nơi giới thiệu", s.referring_facility, key="referring-facility", width=0.55))),
        Ticks("Chẩn đoán của nơi giới thiệu", "noi-gioi-thieu", s.referred_by, key="referred-by", number="13."),
        Heading("II. LÝ DO VÀO VIỆN"),
        Field("Lý do đến khám", s.text("ly-do-vao-vien"), key="reason", lines=2),
        Heading("III. HỎI BỆNH"),
        Field("Quá trình bệnh lý", s.text("qua-trinh-benh-ly"), key="history", number="1.", lines=3),
        Field("Tiền sử bệnh - bản thân", s.text("tien-su-ban-than"), key="personal-history", number="2.", lines=2),
        Field("Gia đình", s.text("tien-su-gia-dinh"), key="family-history", lines=1),
        Heading("IV. KHÁM BỆNH"),
        Field("Toàn thân", s.text("toan-than"), key="general", number="1.", lines=2),
        blocks.VITALS,
        Field("Các bộ phận", s.exam_by_part, key="organs", number="2.", lines=3),
        Field("Tóm tắt kết quả cận lâm sàng", s.results, key="results", number="3.", lines=2),
        Field("Chẩn đoán ban đầu", s.diagnosis("AD", True), key="initial-diagnosis", number="4."),
        Field("Bệnh kèm theo", s.diagnosis("AD", False), key="initial-other"),
        Field("Đã xử lý (thuốc, chăm sóc…)", s.treatment_given, key="treated", number="5.", lines=2),
        Line((Field("Chẩn đoán khi ra viện", s.diagnosis("DD", True), key="discharge-diagnosis", number="6.",
                    width=0.75),
              Digits("Mã", s.diagnosis_code("DD"), 5, key="discharge-icd", width=0.25))),
        Line((Field("Điều trị ngoại trú từ ngày", s.start_date, key="from", number="7.", width=0.5, code=True),
              Field("đến ngày", s.end_date, key="to", width=0.5, code=True))),
        Field("Hẹn tái khám", s.follow_up, key="follow-up"),
        DateLine(s.record_date),
        blocks.head_and(Signature(s.title("examining-doctor"), s.record_author, key="doctor", role="author")),
        PageBreak(),
        Heading("TỔNG KẾT BỆNH ÁN"),
        Field("Quá trình bệnh lý và diễn biến lâm sàng", s.summary("qua-trinh-benh-ly"), key="course", number="1.",
              lines=3),
        Field("Tóm tắt kết quả xét nghiệm cận lâm sàng có giá trị chẩn đoán", s.summary("ket-qua-can-lam-sang"),
              key="key-results", number="2.", lines=2),
        Field("Chẩn đoán ra viện - Bệnh chính", s.diagnosis("DD", True), key="final-main", number="3."),
        Field("Bệnh kèm theo", s.diagnosis("DD", False), key="final-other"),
        Field("Phương pháp điều trị", s.summary("phuong-phap-dieu-tri"), key="method", number="4.", lines=2),
        Field("Tình trạng người bệnh ra viện", s.summary("tinh-trang-ra-vien"), key="status", number="5.", lines=2),
        Field("Hướng điều trị và các chế độ tiếp theo", s.summary("huong-dieu-tri-tiep"), key="onward",
              number="6.", lines=2),
        Table("handover", (Column("Hồ sơ, phim, ảnh", 0.7), Column("Số tờ", 0.3)), _handover, min_rows=0),
        DateLine(s.summary_date, key="summary-date-line"),
        Signatures((Signature(s.title("handed-by"), s.nobody, key="handed-by"),
                    Signature(s.title("received-by"), s.nobody, key="received-by"),
                    Signature(s.title("treating-doctor"), s.summary_author, key="treating"))),
    ),
)
