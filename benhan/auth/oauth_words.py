"""Granted scopes in words, Vietnamese and English, for the consent page: a clinician approving an
app must understand what it will be able to do, not read `patient/*.rs`."""
from __future__ import annotations

from benhan.auth.scopes import parse_resource_scope

LETTER_WORDS = {"c": ("tạo mới", "create"), "r": ("xem", "read"), "u": ("sửa", "update"),
                "d": ("xóa", "delete"), "s": ("tìm kiếm", "search")}
CONTEXT_WORDS = {
    "patient": ("của người bệnh được chọn", "of the selected patient"),
    "user": ("mà bạn được phép truy cập", "that you may access"),
    "system": ("của toàn cơ sở", "of the whole facility"),
}
# The resource types a clinician meets most; others are shown by their FHIR name.
TYPE_WORDS = {
    "*": ("mọi loại dữ liệu", "all data"),
    "Patient": ("thông tin hành chính người bệnh", "patient demographics"),
    "Observation": ("kết quả xét nghiệm, sinh hiệu", "observations (lab results, vital signs)"),
    "Condition": ("chẩn đoán, bệnh", "conditions and diagnoses"),
    "Encounter": ("lượt khám, đợt điều trị", "encounters"),
    "MedicationRequest": ("đơn thuốc", "prescriptions"),
    "AllergyIntolerance": ("dị ứng", "allergies"),
    "Procedure": ("thủ thuật, phẫu thuật", "procedures"),
    "Immunization": ("tiêm chủng", "immunizations"),
    "DiagnosticReport": ("phiếu kết quả cận lâm sàng", "diagnostic reports"),
    "DocumentReference": ("tài liệu", "documents"),
    "Composition": ("bệnh án, giấy tờ lâm sàng", "clinical documents"),
    "ServiceRequest": ("chỉ định", "orders"),
    "Practitioner": ("nhân viên y tế", "practitioners"),
    "Organization": ("cơ sở, khoa phòng", "organizations and departments"),
}
OTHER_WORDS = {
    "launch/patient": ("Chọn một người bệnh khi mở ứng dụng", "Pick one patient when the app starts"),
    "offline_access": ("Tiếp tục truy cập khi bạn không dùng ứng dụng (đến khi thu hồi)",
                       "Keep access while you are not using the app (until revoked)"),
    "online_access": ("Tiếp tục truy cập trong vài giờ (tối đa bằng một phiên đăng nhập)",
                      "Keep access for a few hours (at most as long as a login session)"),
}


def _join(words: list[str], and_word: str) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {and_word} " + words[-1]


def describe(scope: str) -> list[tuple[str, str, str]]:
    """(the scope, Vietnamese, English) for each word of a granted scope."""
    out = []
    for word in scope.split():
        rs = parse_resource_scope(word)
        if rs is None:
            vi, en = OTHER_WORDS.get(word, (word, word))
        else:
            t_vi, t_en = TYPE_WORDS.get(rs.res_type, (rs.res_type, rs.res_type))
            c_vi, c_en = CONTEXT_WORDS[rs.context]
            acts = [LETTER_WORDS[ch] for ch in rs.letters]
            vi = f"{_join([a[0] for a in acts], 'và').capitalize()} {t_vi} {c_vi}"
            en = f"{_join([a[1] for a in acts], 'and').capitalize()} {t_en} {c_en}"
        out.append((word, vi, en))
    return out
