"""A sync conflict as a reviewer reads it (/admin/sync): the two versions side by side, only the
fields that differ, each named in Vietnamese (and English) — "Địa chỉ", "Số điện thoại" — with the
value both edits started from, and which of them are true conflicts (changed on both sides).

The values are read through the Repository as the reviewer (an audited read under their access
rules): a reviewer who may not read the record (a facility admin) sees which fields differ, never
their values."""
from __future__ import annotations

from typing import Any

from benhan import errors
from benhan.fhir.resource_json import loads
from benhan.store.repository import Repository
from benhan.sync import merge

# FHIR element → (Vietnamese, English). Unknown elements show their FHIR name.
LABELS: dict[str, tuple[str, str]] = {
    "name": ("Họ và tên", "Name"), "telecom": ("Số điện thoại / liên lạc", "Phone / contact"),
    "address": ("Địa chỉ", "Address"), "birthDate": ("Ngày sinh", "Date of birth"),
    "gender": ("Giới tính", "Sex"), "identifier": ("Giấy tờ (CCCD, BHYT)", "Identifiers (ID card, insurance)"),
    "maritalStatus": ("Tình trạng hôn nhân", "Marital status"), "contact": ("Người liên hệ", "Contact person"),
    "communication": ("Ngôn ngữ", "Language"), "active": ("Đang dùng", "Active"),
    "deceasedBoolean": ("Đã mất", "Deceased"), "deceasedDateTime": ("Ngày mất", "Date of death"),
    "generalPractitioner": ("Bác sĩ phụ trách", "General practitioner"),
    "managingOrganization": ("Cơ sở quản lý", "Managing organization"), "link": ("Liên kết hồ sơ", "Linked records"),
    "extension": ("Thông tin bổ sung (dân tộc, nghề nghiệp…)", "Extensions (ethnicity, occupation…)"),
    "photo": ("Ảnh", "Photo"), "multipleBirthBoolean": ("Sinh đa thai", "Multiple birth"),
    "multipleBirthInteger": ("Thứ tự sinh", "Birth order"), "status": ("Trạng thái", "Status"),
    "clinicalStatus": ("Tình trạng lâm sàng", "Clinical status"),
    "verificationStatus": ("Mức độ xác định", "Verification status"), "category": ("Phân loại", "Category"),
    "code": ("Mã / chẩn đoán", "Code"), "subject": ("Người bệnh", "Patient"), "period": ("Thời gian", "Period"),
    "note": ("Ghi chú", "Note"), "onsetDateTime": ("Ngày khởi phát", "Onset"), "severity": ("Mức độ", "Severity"),
    "reaction": ("Phản ứng", "Reaction"), "dosageInstruction": ("Liều dùng", "Dosage"),
    "medicationCodeableConcept": ("Thuốc", "Medication"), "reasonCode": ("Lý do", "Reason"),
    "participant": ("Người tham gia", "Participants"), "location": ("Nơi khám / điều trị", "Location"),
    "hospitalization": ("Nhập / ra viện", "Admission / discharge"), "class": ("Loại lượt khám", "Encounter class"),
    "type": ("Loại", "Type"), "text": ("Mô tả", "Text"), "coding": ("Mã", "Coding"), "meta": ("Nhãn", "Meta"),
    "line": ("Số nhà, đường", "Street"), "city": ("Tỉnh / thành phố", "City"), "district": ("Quận / huyện", "District"),
    "value": ("Giá trị", "Value"), "system": ("Loại", "System"), "family": ("Họ", "Family name"),
    "given": ("Tên đệm và tên", "Given names"),
}
ABSENT = "—"


def label(path: tuple[str, ...], lang: str) -> str:
    """'Tình trạng hôn nhân › Mô tả' for ("maritalStatus", "text")."""
    i = 0 if lang == "vi" else 1
    return " › ".join(LABELS[k][i] if k in LABELS else k for k in path) or ("Toàn bộ" if i == 0 else "Whole record")


def show(value: Any, lang: str) -> str:
    """A value as a person reads it: phone numbers, addresses, names, codes; JSON otherwise."""
    if value is merge.MISSING or value is None:
        return ABSENT
    if isinstance(value, bool):
        return ("có" if value else "không") if lang == "vi" else ("yes" if value else "no")
    if isinstance(value, list):
        return "; ".join(show(v, lang) for v in value) or ABSENT
    if isinstance(value, dict):
        if "line" in value or "city" in value or "district" in value:
            parts = list(value.get("line") or []) + [value.get(k) for k in ("district", "city", "state")]
            return ", ".join(str(p) for p in parts if p)
        if "family" in value or "given" in value:
            return value.get("text") or " ".join([value.get("family", "")] + list(value.get("given") or [])).strip()
        if "value" in value and "system" in value and len(value) <= 3:       # ContactPoint, Identifier
            return f"{value['system']}: {value['value']}"
        if "coding" in value or "text" in value:                              # CodeableConcept
            return value.get("text") or show(value.get("coding"), lang)
        if "code" in value:                                                    # Coding
            return value.get("display") or value["code"]
        if "reference" in value or "display" in value:
            return value.get("display") or value["reference"]
        return ", ".join(f"{k}: {show(v, lang)}" for k, v in value.items())
    return str(value)


def view(repo: Repository, row: Any, lang: str) -> dict:
    """One open conflict for the page: the rows of differing fields, or only their labels when the
    reviewer may not read the record."""
    theirs, unreadable = None, False
    if not row.their_deleted and row.their_body is not None:
        theirs = _json(row.their_body)
        unreadable = theirs is None            # an invalid version set aside (not JSON, not a resource)
    base = _json(row.base_body) if getattr(row, "base_body", None) else None
    try:
        current = repo.read(row.res_type, row.res_id)
        kept, kept_version, visible = current.json(), current.version, True
    except errors.BenhanError:                     # not theirs to read (403), or gone (404/410)
        kept, kept_version, visible = None, row.kept_version, False
    fields = []
    if visible and not unreadable:
        changed_kept = set(merge.differences(base, kept)) if base is not None else set()
        changed_theirs = set(merge.differences(base, theirs)) if base is not None else set()
        for path in merge.differences(kept, theirs):
            both = any(_overlaps(path, p) for p in changed_kept) and any(_overlaps(path, p) for p in changed_theirs)
            fields.append({"label": label(path, lang), "path": ".".join(path), "conflict": both,
                           "base": show(merge.value_at(base, path), lang) if base is not None else None,
                           "kept": show(merge.value_at(kept, path), lang),
                           "theirs": show(merge.value_at(theirs, path), lang) if theirs is not None else ABSENT})
    return {"row": row, "visible": visible, "kept_version": kept_version, "fields": fields,
            "deleted": theirs is None and not unreadable, "unreadable": unreadable, "has_base": base is not None}


def _json(raw: bytes) -> dict | None:
    try:
        data = loads(bytes(raw))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _overlaps(a: tuple, b: tuple) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]
