"""Giấy hẹn khám lại, TT 01/2025/TT-BYT PL V (forms-tt32.md §1.4), A5, with the fields of BHYT XML14
(SO_GIAYHEN_KL, MA_CSKCB, HO_TEN, NGAY_SINH, GIOI_TINH, DIA_CHI, MA_THE_BHYT, GT_THE_DEN, NGAY_VAO,
NGAY_RA, CHAN_DOAN_RV, MA_BENH_CHINH, NGAY_HEN_KL, MA_BAC_SI, MA_TTDV). A paper given to the patient:
no abbreviations (TT 32 Đ52 k2 c)."""
from __future__ import annotations

from benhan.documents.forms import blocks, sources as s
from benhan.documents.layout.model import DateLine, Field, Form, Line, Note, Signature

FORM = Form(
    key="followup", code="Phụ lục V, Thông tư 01/2025/TT-BYT", code_prefix="", title="GIẤY HẸN KHÁM LẠI",
    page="A5", given_to_patient=True,
    identifiers=(Field("Số", s.follow_up_number, key="number", code=True),
                 Field("Số hồ sơ", s.record_number, key="record-number", code=True)),
    record_number=s.record_number, needs=("Condition",),
    document_type=("57133-1", "Referral note"),
    body=(
        *blocks.SLIP_PATIENT,
        Line((Field("Vào ngày", s.start_date, key="arrived", width=0.5, code=True),
              Field("Ra ngày", s.end_date, key="left", width=0.5, code=True))),
        Field("Khoa/phòng khám", s.department, key="department"),
        Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis", lines=2),
        Field("Hẹn khám lại vào ngày", s.follow_up_date, key="follow-up-date", code=True),
        Field("Nội dung hẹn", s.follow_up_note, key="follow-up-note"),
        Note("hoặc đến bất kỳ thời gian nào trước ngày hẹn khám lại nếu có dấu hiệu (triệu chứng) bất thường. "
             "Giấy hẹn khám lại chỉ có giá trị sử dụng 01 (một) lần trong thời hạn 10 ngày làm việc, kể từ ngày "
             "được hẹn khám lại."),
        DateLine(s.follow_up_booked_on),
        blocks.head_and(Signature(s.title("appointing-doctor"), s.follow_up_by, key="doctor", role="author")),
    ),
)
