"""The consent and commitment papers of TT 32/2023 PL XXIX (forms-tt32.md §2.9), one Consent each
(clinical.consent.KINDS):

- 01/BV2 Giấy cam kết chấp thuận phẫu thuật, thủ thuật và gây mê hồi sức (confirmed from a hospital
  reproduction of the annex): the level, I. the doctor who explains (and the anaesthetist), the patient
  and the diagnosis, the counselling checklist, the risks explained, II. the patient or the
  representative with the decision, the date, three signatures side by side;
- 40/BV2 (admission), 41/BV2 (refusal of a service), 45/BV2 (transfer at the patient's request), 46/BV2
  (leaving against medical advice): only their titles are in our sources, so their items are designed
  like 01/BV2's (secondary — check against PL XXIX): I. the patient, II. the person who commits (the
  patient or the representative and the relation), III. what was explained and by whom, the patient's
  reason, the commitment, the decision ticked, the date, two signatures side by side.

Each prints one Consent of its kind ("consent-refusal:<id>" that one, else the visit's latest of the
kind: `ConsentPaper.for_item`). The patient's side confirms by OTP or the signature pad on the signed
document (documents.confirmation), never by a digital signature of theirs."""
from __future__ import annotations

import dataclasses

from benhan.clinical import consent as consents
from benhan.documents.forms import procedure_sources as c, sources as s
from benhan.documents.forms.data import FormData
from benhan.documents.layout.model import (DateLine, Field, Form, Heading, Line, Note, Signature, Signatures,
                                           Ticks)


@dataclasses.dataclass(frozen=True)
class ConsentPaper(Form):
    """A consent paper of one kind (clinical.consent.KINDS): it reads only the visit's Consents of that kind."""
    kind: str = consents.SURGERY

    def for_item(self, d: FormData) -> Form:
        # The sources read d.consents (clinical.consent.of_visit, every kind): keep this paper's own.
        d.consents = [x for x in d.consents if consents.kind(x) == self.kind]
        return self


FORM = ConsentPaper(
    key="consent", code="01/BV2",
    title="GIẤY CAM KẾT CHẤP THUẬN PHẪU THUẬT, THỦ THUẬT VÀ GÂY MÊ HỒI SỨC",
    identifiers=(Field("Số vào viện", s.record_number, key="record-number", code=True),),
    record_number=s.record_number, needs=("Consent", "Condition"),
    document_type=("59284-0", "Patient Consent"),
    body=(
        Ticks("Mức", "muc-cam-ket", c.consent_level, key="level"),
        Heading("I. BÁC SĨ PHẪU THUẬT/THỦ THUẬT/GÂY MÊ HỒI SỨC"),
        Line((Field("Tôi tên là", c.consent_doctor, key="doctor-name", width=0.55),
              Field("Khoa", s.department, key="department", width=0.45))),
        Field("Bác sĩ gây mê hồi sức tham gia", c.consent_anaesthetist, key="anaesthetist-name"),
        Line((Field("Đã giải thích cho người bệnh", s.name, key="name", width=0.6, caps=True),
              Field("Năm sinh", c.consent_patient_birth_year, key="patient-birth-year", width=0.2, code=True),
              Field("Giới tính", s.gender_words, key="gender", width=0.2))),
        Field("Địa chỉ", s.address, key="address"),
        Field("Chẩn đoán bệnh", s.diagnoses_with_codes, key="diagnosis", lines=2),
        Field("Phẫu thuật/thủ thuật dự kiến", c.consent_procedure, key="procedure", lines=2),
        Field("Phương pháp vô cảm dự kiến", c.consent_anaesthesia, key="anaesthesia"),
        Ticks("Những nội dung đã giải thích", "noi-dung-giai-thich", c.consent_explained, key="explained"),
        Field("Nguy cơ, rủi ro, tai biến, biến chứng đã giải thích", c.consent_risks, key="risks", lines=3),
        Note("Tôi cam kết đã giải thích đầy đủ, trung thực các nội dung trên để người bệnh/thân nhân người bệnh "
             "hiểu và quyết định; trong quá trình phẫu thuật, thủ thuật và gây mê hồi sức sẽ thực hiện đúng quy "
             "định chuyên môn."),
        Heading("II. NGƯỜI BỆNH/THÂN NHÂN NGƯỜI BỆNH"),
        Line((Field("Họ và tên", c.consent_signer("name"), key="signer-name", width=0.6, caps=True),
              Field("Năm sinh", c.consent_signer("birth_year"), key="signer-birth-year", width=0.4, code=True))),
        Line((Field("Quan hệ với người bệnh", c.consent_signer("relation"), key="signer-relation", width=0.5),
              Field("Số định danh cá nhân/CCCD", c.consent_signer("cccd"), key="signer-cccd", width=0.5,
                    code=True))),
        Note("Sau khi được bác sĩ giải thích, tôi đã hiểu rõ các nội dung trên và tự nguyện quyết định:"),
        Ticks("Quyết định", "dong-y", c.consent_decision, key="decision"),
        Field("Thời điểm cam kết", c.consent_time, key="when", code=True),
    ),
    closing=(
        DateLine(c.consent_date),
        Signatures((Signature(s.title("consent-patient"), c.consent_signer("name"), key="patient"),
                    Signature(s.title("consent-anaesthetist"), c.consent_anaesthetist, key="anaesthetist"),
                    Signature(s.title("consent-surgeon"), c.consent_doctor, key="doctor", role="author"))),
    ),
)


# --- 40, 41, 45, 46/BV2: the blocks they share ---

IDENTIFIERS = (Field("Số vào viện", s.record_number, key="record-number", code=True),)
PATIENT = (
    Heading("I. THÔNG TIN NGƯỜI BỆNH"),
    Line((Field("Họ và tên người bệnh", s.name, key="name", width=0.55, caps=True),
          Field("Năm sinh", c.consent_patient_birth_year, key="patient-birth-year", width=0.2, code=True),
          Field("Giới tính", s.gender_words, key="gender", width=0.25))),
    Field("Địa chỉ", s.address, key="address"),
    Line((Field("Số định danh cá nhân/CCCD", s.cccd, key="cccd", width=0.5, code=True),
          Field("Khoa", s.department, key="department", width=0.5))),
    Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis", lines=2),
)
SIGNER = (
    Heading("II. NGƯỜI CAM KẾT (NGƯỜI BỆNH HOẶC NGƯỜI ĐẠI DIỆN HỢP PHÁP)"),
    Line((Field("Họ và tên", c.consent_signer("name"), key="signer-name", width=0.6, caps=True),
          Field("Năm sinh", c.consent_signer("birth_year"), key="signer-birth-year", width=0.4, code=True))),
    Line((Field("Quan hệ với người bệnh", c.consent_signer("relation"), key="signer-relation", width=0.5),
          Field("Số định danh cá nhân/CCCD", c.consent_signer("cccd"), key="signer-cccd", width=0.5, code=True))),
)


def _informed(staff_label: str) -> tuple:
    return (Heading("III. NỘI DUNG ĐÃ ĐƯỢC GIẢI THÍCH, CUNG CẤP THÔNG TIN"),
            Field(staff_label, c.consent_doctor, key="staff-name"),
            Ticks("Những nội dung đã được giải thích", "thong-tin-da-cung-cap", c.consent_explained,
                  key="explained"))


def _closing(staff_title: str) -> tuple:
    return (Field("Thời điểm cam kết", c.consent_time, key="when", code=True),
            DateLine(c.consent_date, key="date-line"),
            Signatures((Signature(s.title("consent-signer"), c.consent_signer("name"), key="patient"),
                        Signature(s.title(staff_title), c.consent_doctor, key="staff", role="author"))))


def _paper(key: str, kind: str, title: str, body: tuple, staff_title: str) -> ConsentPaper:
    closing = _closing(staff_title)
    return ConsentPaper(key=key, code=kind.replace("-", "/"), title=title, identifiers=IDENTIFIERS,
                        record_number=s.record_number, needs=("Consent", "Condition"),
                        document_type=("59284-0", "Patient Consent"), kind=kind,
                        body=(*PATIENT, *SIGNER, *body, closing[0]), closing=closing[1:])


ADMISSION = _paper("consent-admission", "40-BV2", "GIẤY CUNG CẤP THÔNG TIN VÀ CAM KẾT CHUNG VỀ NHẬP VIỆN NỘI TRÚ", (
    *_informed("Họ tên người cung cấp thông tin"),
    Field("Nội dung thông tin khác đã cung cấp", c.consent_risks, key="information", lines=2),
    Note("Tôi đã được cung cấp đầy đủ thông tin về tình trạng bệnh, quyền và nghĩa vụ của người bệnh, nội quy "
         "và chi phí khám bệnh, chữa bệnh; tôi cam kết chấp hành nội quy, quy định của cơ sở khám bệnh, chữa "
         "bệnh và phối hợp với người hành nghề trong quá trình điều trị nội trú."),
    Ticks("Quyết định", "quyet-dinh-nhap-vien", c.consent_decision, key="decision"),
), "consent-informer")

REFUSAL = _paper("consent-refusal", "41-BV2", "GIẤY CAM KẾT TỪ CHỐI SỬ DỤNG DỊCH VỤ KHÁM BỆNH, CHỮA BỆNH", (
    *_informed("Họ tên bác sĩ giải thích"),
    Field("Dịch vụ khám bệnh, chữa bệnh được chỉ định", c.consent_procedure, key="service", lines=2),
    Field("Nguy cơ, rủi ro khi không sử dụng dịch vụ đã được giải thích", c.consent_risks, key="risks", lines=3),
    Field("Lý do của người bệnh", c.consent_reason, key="reason", lines=2),
    Note("Tôi đã được bác sĩ giải thích rõ về sự cần thiết của dịch vụ và những nguy cơ, rủi ro nếu không sử "
         "dụng; tôi tự nguyện quyết định và tự chịu trách nhiệm về quyết định của mình."),
    Ticks("Quyết định", "quyet-dinh-tu-choi", c.consent_decision, key="decision"),
), "consent-doctor")

TRANSFER = _paper("consent-transfer", "45-BV2", "GIẤY CAM KẾT CHUYỂN CƠ SỞ KHÁM BỆNH, CHỮA BỆNH", (
    *_informed("Họ tên bác sĩ giải thích"),
    Field("Cơ sở khám bệnh, chữa bệnh đề nghị chuyển đến", c.consent_destination, key="destination"),
    Field("Nguy cơ, rủi ro trong khi chuyển đã được giải thích", c.consent_risks, key="risks", lines=3),
    Field("Lý do đề nghị chuyển", c.consent_reason, key="reason", lines=2),
    Note("Tôi đã được bác sĩ giải thích rõ về tình trạng bệnh và những nguy cơ, rủi ro có thể xảy ra trong "
         "quá trình chuyển; việc chuyển theo yêu cầu của tôi, tôi tự chịu trách nhiệm về quyết định của mình."),
    Ticks("Quyết định", "quyet-dinh-chuyen", c.consent_decision, key="decision"),
), "consent-doctor")

LEAVE = _paper("consent-leave", "46-BV2", "GIẤY CAM KẾT RA VIỆN KHÔNG THEO CHỈ ĐỊNH CỦA BÁC SĨ", (
    *_informed("Họ tên bác sĩ giải thích"),
    Field("Nguy cơ, rủi ro khi ra viện đã được giải thích", c.consent_risks, key="risks", lines=3),
    Field("Lý do xin ra viện", c.consent_reason, key="reason", lines=2),
    Note("Tôi đã được bác sĩ giải thích rõ tình trạng bệnh chưa cho phép ra viện và những nguy cơ, rủi ro có "
         "thể xảy ra; tôi tự nguyện xin ra viện và tự chịu trách nhiệm về quyết định của mình."),
    Ticks("Quyết định", "quyet-dinh-ra-vien", c.consent_decision, key="decision"),
), "consent-doctor")

PAPERS = (ADMISSION, REFUSAL, TRANSFER, LEAVE)
