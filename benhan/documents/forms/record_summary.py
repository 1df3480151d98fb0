"""Tóm tắt hồ sơ bệnh án, TT 25/2025/TT-BYT Phụ lục II Mẫu 03 (replaced 52/BV2 "CV-01" from
01/07/2025; forms-tt32.md §2.11 — the fields are secondary, read from a scan): the patient with the
personal identification number, admission and discharge with the diagnoses and their codes, the
course, the key results, the treatment, the condition at discharge, what follows; signed by the
treating doctor and the unit's representative with the facility's seal (documents.seal, LOINC
34133-9). Given to the patient: no abbreviation (TT 32 Đ52 k2 c), in the labels either."""
from __future__ import annotations

from benhan.documents.forms import blocks, procedure_sources as c, sources as s
from benhan.documents.layout.model import DateLine, Digits, Field, Form, Heading, Line, Signature

FORM = Form(
    key="summary", code="Mẫu 03, Thông tư 25/2025/TT-BYT", code_prefix="", given_to_patient=True,
    title="TÓM TẮT HỒ SƠ BỆNH ÁN",
    identifiers=(Field("Số hồ sơ", s.record_number, key="record-number", code=True),
                 Field("Số lưu trữ", s.nobody, key="archive-number", code=True)),
    record_number=s.record_number,
    needs=("Condition", "Composition", "MedicationRequest", "Appointment"),
    document_type=("34133-9", "Summary of episode note"),
    body=(
        Heading("I. THÔNG TIN NGƯỜI BỆNH"),
        Line((Field("Họ và tên", s.name, key="name", width=0.6, caps=True),
              Field("Ngày sinh", s.birth_date, key="birth", width=0.4, code=True))),
        Line((Field("Giới tính", s.gender_words, key="gender", width=0.3),
              Field("Dân tộc", s.ethnicity, key="ethnicity", width=0.3),
              Field("Quốc tịch", s.nationality, key="nationality", width=0.4))),
        Field("Nghề nghiệp", s.occupation, key="occupation"),
        Digits("Số định danh cá nhân/Căn cước/Hộ chiếu", s.cccd, 12, key="cccd"),
        Digits("Số thẻ bảo hiểm y tế", s.bhyt_number, 15, key="bhyt"),
        Field("Địa chỉ", s.address, key="address"),
        Heading("II. THÔNG TIN ĐIỀU TRỊ"),
        Line((Field("Vào viện lúc", s.arrived, key="arrived", width=0.5, code=True),
              Field("Ra viện lúc", s.ended, key="left", width=0.5, code=True))),
        Field("Khoa", s.department, key="department"),
        Field("Chẩn đoán lúc vào viện (kèm mã bệnh)", c.diagnoses_of("AD"), key="dx-admission", lines=2),
        Field("Chẩn đoán lúc ra viện (kèm mã bệnh)", c.diagnoses_of("DD"), key="dx-discharge", lines=2),
        Heading("III. TÓM TẮT QUÁ TRÌNH ĐIỀU TRỊ"),
        Field("Tóm tắt quá trình bệnh lý và diễn biến lâm sàng", s.summary("qua-trinh-benh-ly"), key="course",
              lines=3),
        Field("Tóm tắt kết quả xét nghiệm cận lâm sàng có giá trị chẩn đoán", s.summary("ket-qua-can-lam-sang"),
              key="key-results", lines=2),
        Field("Phương pháp điều trị", s.summary("phuong-phap-dieu-tri"), key="method", lines=2),
        Field("Tình trạng người bệnh ra viện", s.summary("tinh-trang-ra-vien"), key="status", lines=2),
        Field("Hướng điều trị và các chế độ tiếp theo", s.summary("huong-dieu-tri-tiep"), key="onward", lines=2),
        Field("Lời dặn của thầy thuốc", s.advice, key="advice"),
        Field("Hẹn khám lại", s.follow_up, key="follow-up"),
    ),
    closing=(
        DateLine(s.summary_date),
        blocks.head_and(Signature(s.title("treating-doctor"), s.summary_author, key="doctor", role="author")),
    ),
)
