"""Giấy ra viện, TT 25/2025/TT-BYT Mẫu 02 (forms-tt32.md §2.7), on A5: the patient (name, birth and
age, sex, ethnicity, occupation, identity number, social/health insurance number, address), in and
out times, the diagnosis with its ICD-10 codes (with the pregnancy lines), the treatment, the notes
(rest days, the parent or guardian of a patient under 16), the follow-up date that makes it a
follow-up slip too (TT 01/2025 Đ11), the practitioner and the unit's representative. Given to the
patient: no abbreviation, in the labels either (TT 32 Đ52 k2 c)."""
from __future__ import annotations

from benhan.documents.forms import blocks, sources as s
from benhan.documents.layout.model import DateLine, Field, Form, Line, Signature

FORM = Form(
    key="discharge", code="Mẫu 02, Thông tư 25/2025/TT-BYT", code_prefix="", page="A5",
    title="GIẤY RA VIỆN", given_to_patient=True,
    identifiers=(Field("Số lưu trữ", s.nobody, key="archive-number", code=True),
                 Field("Mã hồ sơ", s.record_number, key="record-number", code=True)),
    record_number=s.record_number, needs=("Condition", "Composition"),
    document_type=("18842-5", "Discharge summary"),
    body=(
        Field("Họ và tên người bệnh", s.name, key="name", caps=True),
        Line((Field("Ngày sinh", s.birth_date, key="birth", width=0.6, code=True),
              Field("Tuổi", s.age, key="age", width=0.4, code=True))),
        Line((Field("Giới tính", s.gender_words, key="gender", width=0.4),
              Field("Dân tộc", s.ethnicity, key="ethnicity", width=0.6))),
        Field("Nghề nghiệp", s.occupation, key="occupation"),
        Line((Field("Số căn cước/định danh cá nhân/hộ chiếu", s.cccd, key="cccd", width=0.68, code=True),
              Field("Ngày cấp", s.nobody, key="issued", width=0.32, code=True))),
        Field("Mã số bảo hiểm xã hội/Số thẻ bảo hiểm y tế", s.bhyt_number, key="bhyt", code=True),
        Field("Địa chỉ", s.address, key="address"),
        Field("Vào viện lúc", s.arrived, key="arrived", code=True),
        Field("Ra viện lúc", s.ended, key="ended", code=True),
        Field("Chẩn đoán ra viện", s.diagnoses_with_codes, key="diagnosis", lines=2),
        Field("Mã bệnh theo Bảng phân loại quốc tế bệnh tật lần thứ 10", s.all_diagnosis_codes, key="icd", code=True),
        Line((Field("Tuổi thai", s.nobody, key="gestation", width=0.4),
              Field("Phương pháp kết thúc thai kỳ", s.nobody, key="termination", width=0.6))),
        Field("Phương pháp điều trị", s.summary("phuong-phap-dieu-tri"), key="method", lines=2),
        Field("Ghi chú", s.summary("huong-dieu-tri-tiep"), key="note", lines=2),
        Field("Họ tên cha, mẹ hoặc người giám hộ", s.guardian, key="guardian"),
        Field("Hẹn khám lại", s.follow_up, key="follow-up"),
        DateLine(s.end_day),
        blocks.head_and(Signature(s.title("practitioner"), s.summary_author, key="doctor", role="author")),
    ),
)
