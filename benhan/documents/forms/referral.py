"""Phiếu chuyển cơ sở khám bệnh, chữa bệnh bảo hiểm y tế, TT 01/2025/TT-BYT PL VI (forms-tt32.md §2.8),
with the fields of BHYT XML13 (SO_CHUYENTUYEN, MA_NOI_DEN, HO_TEN, GIOI_TINH, NGAY_SINH, DIA_CHI,
MA_DANTOC, MA_QUOCTICH, MA_NGHE_NGHIEP, MA_THE_BHYT, GT_THE_DEN, NGAY_VAO, NGAY_RA, DAU_HIEU_LS,
TOMTAT_KQ, CHAN_DOAN_RV, MA_BENH_CHINH, PP_DIEUTRI, TEN_THUOC, TINH_TRANG_CT, MA_LYDO_CT,
HUONG_DIEU_TRI, PHUONGTIEN_VC, HOTEN_NGUOI_HT, CHUCDANH_NGUOI_HT, MA_BAC_SI, MA_TTDV). The transfer
is a ServiceRequest of the visit (documents/forms/data.py). A paper given to the patient: no
abbreviations, in the labels too."""
from __future__ import annotations

from benhan.documents.forms import blocks, sources as s
from benhan.documents.layout.model import DateLine, Field, Form, Heading, Line, Signature, Ticks

FORM = Form(
    key="referral", code="Phụ lục VI, Thông tư 01/2025/TT-BYT", code_prefix="",
    title="PHIẾU CHUYỂN CƠ SỞ KHÁM BỆNH, CHỮA BỆNH BẢO HIỂM Y TẾ", given_to_patient=True,
    identifiers=(Field("Số", s.referral_number, key="number", code=True),
                 Field("Số hồ sơ", s.record_number, key="record-number", code=True)),
    record_number=s.record_number, needs=("Condition", "ServiceRequest", "MedicationRequest", "DiagnosticReport"),
    document_type=("57133-1", "Referral note"),
    body=(
        Line((Field("Kính gửi", s.referral_to, key="to", width=0.7),
              Field("Mã cơ sở", s.referral_to_code, key="to-code", width=0.3, code=True))),
        Field("Cơ sở khám bệnh, chữa bệnh trân trọng giới thiệu", s.facility, key="from"),
        *blocks.SLIP_PATIENT[:1],
        Line((Field("Dân tộc", s.ethnicity, key="ethnicity", width=0.33),
              Field("Quốc tịch", s.nationality, key="nationality", width=0.33),
              Field("Nghề nghiệp", s.occupation, key="occupation", width=0.34))),
        *blocks.SLIP_PATIENT[1:],
        Field("Nơi làm việc", s.workplace, key="workplace"),
        Field("Đã được khám bệnh, điều trị tại", s.facility, key="treated-at"),
        Line((Field("Từ ngày", s.start_date, key="from-date", width=0.5, code=True),
              Field("đến ngày", s.end_date, key="to-date", width=0.5, code=True))),
        Heading("TÓM TẮT BỆNH ÁN"),
        Field("Dấu hiệu lâm sàng", s.referral_signs, key="signs", lines=2),
        Field("Kết quả xét nghiệm, cận lâm sàng", s.results, key="results", lines=2),
        Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis", lines=2),
        Field("Phương pháp, thủ thuật, kỹ thuật, thuốc đã sử dụng trong điều trị", s.referral_treatment,
              key="treatment", lines=2),
        Field("Tình trạng người bệnh lúc chuyển cơ sở", s.referral_ext("condition-at-transfer"), key="condition",
              lines=2),
        Ticks("Lý do chuyển cơ sở", "ly-do-chuyen", s.referral_reason, key="reason"),
        Field("Hướng điều trị", s.referral_ext("treatment-direction"), key="direction", lines=2),
        Field("Chuyển cơ sở hồi (giờ, ngày)", s.referral_when, key="when", code=True),
        Field("Phương tiện vận chuyển", s.referral_ext("transport"), key="transport"),
        Line((Field("Họ tên người hộ tống", s.referral_ext("escort"), key="escort", width=0.55),
              Field("Chức danh", s.referral_ext("escort-title"), key="escort-title", width=0.45))),
        Ticks("Thời hạn", "gia-tri-mot-nam", s.referral_one_year, key="one-year"),
        DateLine(s.referral_date),
        blocks.head_and(Signature(s.title("referring-doctor"), s.referral_author, key="doctor", role="author")),
    ),
)
