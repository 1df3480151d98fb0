"""The written record of a visit: reason, history (present illness, personal, family), examination
(general and by organ system), summary, prognosis and plan — section A of the MoH inpatient record
(01/BV1, TT 32/2023 PL XXVIII; vietnam.md §1.3) and the body of the outpatient record.

It is one Composition per visit (type LOINC 34117-2 "History and physical note"), one section per
field, each coded in benhan's record-section code system. Saving it again makes a new version of
the same Composition (the history keeps every earlier text); a change after the first save needs a
reason, kept on the version (corrections, not overwrites).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical.common import (BENHAN, CORRECTION_REASON, LOINC, Problems, author, narrative, narrative_text,
                                    now, ref, stamp)
from benhan.store.repository import Repository

SECTION_SYSTEM = f"{BENHAN}/CodeSystem/record-section"


@dataclass(frozen=True)
class Section:
    code: str
    vi: str
    en: str
    group: str          # reason, history, exam, conclusion


SECTIONS = (
    Section("ly-do-vao-vien", "Lý do vào viện / lý do khám", "Reason for the visit", "reason"),
    Section("qua-trinh-benh-ly", "Quá trình bệnh lý (bệnh sử)", "History of present illness", "history"),
    Section("tien-su-ban-than", "Tiền sử bản thân", "Personal history", "history"),
    Section("dac-diem-lien-quan", "Đặc điểm liên quan bệnh (dị ứng, ma túy, rượu bia, thuốc lá, thuốc lào, khác)",
            "Risk factors (allergy, drugs, alcohol, tobacco, other)", "history"),
    Section("tien-su-gia-dinh", "Tiền sử gia đình", "Family history", "history"),
    Section("toan-than", "Khám toàn thân", "General examination", "exam"),
    Section("tuan-hoan", "Tuần hoàn", "Cardiovascular", "exam"),
    Section("ho-hap", "Hô hấp", "Respiratory", "exam"),
    Section("tieu-hoa", "Tiêu hóa", "Gastrointestinal", "exam"),
    Section("than-tiet-nieu-sinh-duc", "Thận - Tiết niệu - Sinh dục", "Renal, urinary and genital", "exam"),
    Section("than-kinh", "Thần kinh", "Neurological", "exam"),
    Section("co-xuong-khop", "Cơ - Xương - Khớp", "Musculoskeletal", "exam"),
    Section("tai-mui-hong", "Tai - Mũi - Họng", "Ear, nose and throat", "exam"),
    Section("rang-ham-mat", "Răng - Hàm - Mặt", "Dental and maxillofacial", "exam"),
    Section("mat", "Mắt", "Eyes", "exam"),
    Section("noi-tiet-khac", "Nội tiết, dinh dưỡng và các bệnh lý khác", "Endocrine, nutrition and other", "exam"),
    Section("xet-nghiem-can-lam", "Các xét nghiệm cận lâm sàng cần làm", "Tests needed", "conclusion"),
    Section("tom-tat-benh-an", "Tóm tắt bệnh án", "Record summary", "conclusion"),
    Section("chan-doan-phan-biet", "Chẩn đoán phân biệt", "Differential diagnosis", "conclusion"),
    Section("tien-luong", "Tiên lượng", "Prognosis", "conclusion"),
    Section("huong-dieu-tri", "Hướng điều trị", "Treatment plan", "conclusion"),
)
BY_CODE = {s.code: s for s in SECTIONS}
RECORD_TYPE = {"coding": [{"system": LOINC, "code": "34117-2", "display": "History and physical note"}],
               "text": "Bệnh án"}
MAX_TEXT = 20_000


def field_name(code: str) -> str:
    return "s_" + code.replace("-", "_")


def texts(composition: dict | None) -> dict[str, str]:
    """Section code → its text, from a stored record."""
    out: dict[str, str] = {}
    for s in (composition or {}).get("section", []):
        code = (s.get("code", {}).get("coding") or [{}])[0].get("code")
        if code:
            out[code] = narrative_text(s.get("text"))
    return out


def save(repo: Repository, actor: Actor, patient_id: str, encounter_id: str, values: dict[str, str],
         current: dict | None, reason: str = "", tz: str = "+07:00") -> str:
    """Create the visit's record, or make a new version of it (then `reason` is required)."""
    p = Problems()
    typed = {s.code: (values.get(field_name(s.code)) or "").strip() for s in SECTIONS}
    # Sections of the same record that another form owns (the traditional-medicine part,
    # clinical.traditional_medicine) are kept as they are, and are not this form's change.
    kept = [s for s in (current or {}).get("section", [])
            if (s.get("code", {}).get("coding") or [{}])[0].get("code") not in BY_CODE]
    for s in SECTIONS:
        if len(typed[s.code]) > MAX_TEXT:
            p.add(field_name(s.code), "ui.err.too_long", n=MAX_TEXT)
    if not any(typed.values()):
        p.add(field_name(SECTIONS[0].code), "ui.err.required")
    mine = {k: v for k, v in texts(current).items() if k in BY_CODE}
    if current is not None and mine != {k: v for k, v in typed.items() if v} and len(reason.strip()) < 3:
        p.add("reason", "ui.err.correction_reason")
    p.raise_if_any()
    body = {"resourceType": "Composition", "status": "preliminary", "type": RECORD_TYPE,
            "subject": ref("Patient", patient_id), "encounter": ref("Encounter", encounter_id),
            "date": now(tz).isoformat(), "author": [author(actor)], "title": "Bệnh án",
            "section": [{"title": s.vi, "code": {"coding": [{"system": SECTION_SYSTEM, "code": s.code,
                                                              "display": s.vi}]},
                         "text": narrative(typed[s.code])} for s in SECTIONS if typed[s.code]] + kept}
    stamp(body, actor)
    if current is None:
        rid = str(uuid.uuid4())
        repo.commit([repo.prepare("POST", "Composition", rid, body, create_only=True)], "create")
        return rid
    body["id"] = current["id"]
    if reason.strip():
        body["extension"].append({"url": CORRECTION_REASON, "valueString": reason.strip()})
    version = int(current.get("meta", {}).get("versionId", "0")) or None
    repo.commit([repo.prepare("PUT", "Composition", current["id"], body, if_match=version)], "update")
    return current["id"]
