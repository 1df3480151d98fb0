"""01/BV2 Giấy cam kết chấp thuận phẫu thuật, thủ thuật và gây mê hồi sức (TT 32/2023 PL XXIX;
forms-tt32.md §2.9, confirmed from a hospital reproduction of the annex): the level, I. the doctor who
explains (and the anaesthetist), the patient and the diagnosis, the counselling checklist, the risks
explained, II. the patient or the representative with the decision, the date, three signatures side by
side. Read from the visit's Consent (clinical.consent; "consent:<id>" prints that one, else the
latest). The patient's side confirms by OTP or the signature pad on the signed document
(documents.confirmation), never by a digital signature of theirs."""
from __future__ import annotations

from benhan.documents.forms import procedure_sources as c, sources as s
from benhan.documents.layout.model import (DateLine, Field, Form, Heading, Line, Note, Signature, Signatures,
                                           Ticks)

FORM = Form(
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
