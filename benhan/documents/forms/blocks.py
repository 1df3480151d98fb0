"""Blocks several forms share, defined once: the administrative part of the record forms (items 1–11
of 15/BV1 and 01/BV1), the patient lines of the slips, the vital-signs box, signature rows."""
from __future__ import annotations

from benhan.documents.forms import sources as s
from benhan.documents.layout.model import Box, Digits, Field, Line, Signature, Signatures, Ticks

# TT 32/2023 PL XXVIII, items 1–11 of the record forms (15/BV1 §2.1 of forms-tt32.md).
ADMINISTRATIVE = (
    Line((Field("Họ và tên (in hoa)", s.name, key="name", number="1.", width=0.50, caps=True),
          Digits("Sinh ngày", s.birth_date, 8, key="birth", number="2.", width=0.38, groups=(2, 2, 4)),
          Field("Tuổi", s.age, key="age", width=0.12, code=True))),
    Line((Ticks("Giới", "gioi-tinh", s.gender, key="gender", number="3.", width=0.40),
          Field("Nghề nghiệp", s.occupation, key="occupation", number="4.", width=0.42),
          Digits("Mã", s.occupation_code, 2, key="occupation-code", width=0.18))),
    Line((Field("Dân tộc", s.ethnicity, key="ethnicity", number="5.", width=0.32),
          Digits("Mã", s.ethnicity_code, 2, key="ethnicity-code", width=0.16),
          Field("Ngoại kiều", s.nationality, key="nationality", number="6.", width=0.52))),
    Field("Địa chỉ", s.address, key="address", number="7."),
    Line((Field("Nơi làm việc", s.workplace, key="workplace", number="8.", width=0.42),
          Ticks("Đối tượng", "doi-tuong", s.payer, key="payer", number="9.", width=0.58))),
    Line((Field("BHYT giá trị đến ngày", s.bhyt_valid_to, key="bhyt-valid-to", number="10.", width=0.38, code=True),
          Digits("Số thẻ BHYT", s.bhyt_number, 15, key="bhyt", width=0.62))),
    Digits("Số CCCD/định danh", s.cccd, 12, key="cccd"),
    Line((Field("Họ tên, địa chỉ người nhà khi cần báo tin", s.next_of_kin, key="next-of-kin", number="11.",
                width=0.72),
          Field("Điện thoại", s.next_of_kin_phone, key="next-of-kin-phone", width=0.28, code=True))),
)

# The paper's vital-signs box (Mạch, Nhiệt độ, Huyết áp, Nhịp thở, Cân nặng), with the height benhan records.
VITALS = Box((
    Field("Mạch (lần/phút)", s.vital("pulse"), key="pulse", code=True),
    Field("Nhiệt độ (°C)", s.vital("temperature"), key="temperature", code=True),
    Field("Huyết áp (mmHg)", s.vital("blood_pressure"), key="blood-pressure", code=True),
    Field("Nhịp thở (lần/phút)", s.vital("respiratory_rate"), key="respiratory-rate", code=True),
    Field("Cân nặng (kg)", s.vital("weight"), key="weight", code=True),
    Field("Chiều cao (cm)", s.vital("height"), key="height", code=True)), per_row=3)

# The slips' patient lines (TT 01/2025 PL V, PL VI): no abbreviation in their labels either.
SLIP_PATIENT = (
    Line((Field("Họ và tên", s.name, key="name", width=0.5, caps=True),
          Field("Giới tính", s.gender_words, key="gender", width=0.2),
          Field("Ngày sinh", s.birth_date, key="birth", width=0.3, code=True))),
    Field("Địa chỉ", s.address, key="address"),
    Line((Field("Số thẻ bảo hiểm y tế", s.bhyt_number, key="bhyt", width=0.55, code=True),
          Field("Giá trị sử dụng đến ngày", s.bhyt_valid_to, key="bhyt-valid-to", width=0.45, code=True))),
)


def head_and(author: Signature) -> Signatures:
    """The facility's representative at the left (title from the setting / the facility's name), the
    author at the right — the paper's order."""
    return Signatures((Signature(s.head_title, s.nobody, key="head", role="seal"), author))
