"""A visit whose every printed field has its own, distinct value (so a value found in the wrong box
cannot pass for the right one), at injected times (December 2026, never today). Each form's golden
test renders from it and looks for each value in its field's box."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from benhan.auth.actor import Actor
from benhan.clinical import discharge, record
from benhan.clinical.common import narrative
from benhan.clinical.registration import ETHNICITY_EXT, NATIONALITY_EXT, OCCUPATION_EXT, WORKPLACE_EXT
from benhan.documents.forms import sources
from benhan.documents.forms.data import DOCUMENT_KIND, ENCOUNTER_EXT, REFERRAL, SICK_LEAVE, SNOMED
from benhan.documents.prescription_code import NATIONAL_CODE_SYSTEM
from benhan.store.repository import Repository
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, MA_LK_SYSTEM

ICT = timezone(timedelta(hours=7))
TODAY = date(2026, 12, 20)
PRINTED = datetime(2026, 12, 20, 15, 45, tzinfo=ICT)
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
MA_CSKCB = "https://benhan.vn/sid/ma-cskcb"

# Every value below is printed somewhere, and no two are alike.
V = {
    "authority": "Sở Y tế Tỉnh Quảng Trị", "facility": "Trung tâm Y tế huyện Đắk Rơ Ông", "facility-code": "45123",
    "department": "Phòng khám Nội tổng hợp",
    "name": "Hoàng Thị Thùy Dương", "birth": "1987-04-23", "cccd": "045187004321", "bhyt": "GD4454512345678",
    "bhyt-valid-to": "2027-06-30", "occupation": "Giáo viên tiểu học", "occupation-code": "07",
    "ethnicity": "Tày", "ethnicity-code": "02", "nationality": "Việt Nam", "workplace": "Trường Tiểu học Hướng Hóa",
    "address": "Thôn Tà Rụt, xã Đakrông, tỉnh Quảng Trị", "next-of-kin": "Lò Văn Khánh",
    "next-of-kin-phone": "0935112233", "phone": "0912778899", "ma-lk": "MLK2026122001",
    "referring-facility": "Trạm Y tế xã Tà Long",
    "reason": "Đau thượng vị âm ỉ kèm ợ chua", "history": "Khởi phát tuần trước sau bữa ăn nhiều dầu mỡ",
    "personal-history": "Viêm dạ dày cách đây năm năm", "family-history": "Mẹ bị loét tá tràng",
    "general": "Tỉnh táo, da niêm hồng", "organ": "Bụng mềm, ấn đau vùng thượng vị",
    "plan": "Ăn nhẹ, tránh cay nóng", "course": "Đỡ đau sau ba ngày dùng thuốc",
    "key-results": "Nội soi: viêm xung huyết hang vị", "method": "Điều trị nội khoa ngoại trú",
    "status": "Hết đau, ăn uống bình thường", "onward": "Tái khám khi đau lại",
    "dx-ad": ("K29.7", "Viêm dạ dày không đặc hiệu"), "dx-ad2": ("K21.9", "Bệnh trào ngược dạ dày thực quản"),
    "dx-dd": ("K29.5", "Viêm dạ dày mạn không đặc hiệu"), "dx-dd2": ("E11.9", "Đái tháo đường týp hai"),
    "drug": "Omeprazol 20mg", "drug-usage": "Uống 1 viên trước ăn sáng 30 phút", "advice": "Kiêng rượu bia",
    "followup": "2027-01-05", "followup-note": "Khám lại dạ dày sau điều trị", "followup-number": "GH-0457",
    "doctor": "Đinh Công Tráng", "prescriber": "Phan Thanh Giản",
    "rx-code": "45123k7m2p9q-C",
    "to": "Bệnh viện Đa khoa tỉnh Quảng Trị", "to-code": "45001", "referral-number": "CT-0931",
    "direction": "Nội soi can thiệp cầm máu", "transport": "Xe cứu thương của trung tâm",
    "escort": "Vi Thị Nguyệt", "escort-title": "Điều dưỡng hạng ba", "condition": "Mạch nhanh, da xanh nhợt",
    "head-title": "Giám đốc trung tâm",
    "leave-number": "NV-2026-0088", "bhxh": "4512345678", "leave-treatment": "Nghỉ ngơi, dùng thuốc theo đơn",
    "father": "Hoàng Văn Sáu", "mother": "Lường Thị Bảy", "leave-note": "Nghỉ tại nhà theo dõi",
}
VITALS = {"pulse": "84", "temperature": "37,2", "systolic": "128", "diastolic": "82", "respiratory_rate": "19",
          "weight": "52", "height": "158"}
DOCTOR = Actor(name="bstrang", display=V["doctor"])


def _ref(t: str, i: str, display: str | None = None) -> dict:
    return {"reference": f"{t}/{i}", **({"display": display} if display else {})}


def build(store) -> dict:  # noqa: ANN001
    repo = Repository(store, Actor.system())
    org = repo.create("Organization", {
        "resourceType": "Organization", "active": True, "name": V["facility"],
        "identifier": [{"system": MA_CSKCB, "value": V["facility-code"]}],
        "partOf": {"display": V["authority"]}}).res_id
    doctor = repo.create("Practitioner", {"resourceType": "Practitioner", "name": [{"text": V["doctor"]}]}).res_id
    pid = repo.create("Patient", {
        "resourceType": "Patient", "name": [{"text": V["name"]}], "gender": "female", "birthDate": V["birth"],
        "identifier": [{"system": CCCD_SYSTEM, "value": V["cccd"]}, {"system": BHYT_SYSTEM, "value": V["bhyt"]}],
        "telecom": [{"system": "phone", "value": V["phone"]}],
        "address": [{"text": V["address"]}],
        "contact": [{"name": {"text": V["next-of-kin"]}, "telecom": [{"system": "phone", "value": V["next-of-kin-phone"]}]}],
        "extension": [
            {"url": OCCUPATION_EXT, "valueCodeableConcept": {"coding": [{"code": V["occupation-code"],
                                                                          "display": V["occupation"]}]}},
            {"url": ETHNICITY_EXT, "valueCodeableConcept": {"coding": [{"code": V["ethnicity-code"],
                                                                         "display": V["ethnicity"]}]}},
            {"url": NATIONALITY_EXT, "valueString": V["nationality"]},
            {"url": WORKPLACE_EXT, "valueString": V["workplace"]}]}).res_id
    repo.create("Coverage", {"resourceType": "Coverage", "status": "active", "beneficiary": _ref("Patient", pid),
                             "payor": [_ref("Organization", org)], "subscriberId": V["bhyt"],
                             "identifier": [{"system": BHYT_SYSTEM, "value": V["bhyt"]}],
                             "period": {"start": "2026-01-01", "end": V["bhyt-valid-to"]}})
    start = datetime(2026, 12, 14, 7, 35, tzinfo=ICT)
    end = datetime(2026, 12, 18, 16, 10, tzinfo=ICT)
    eid = repo.create("Encounter", {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "identifier": [{"system": MA_LK_SYSTEM, "value": V["ma-lk"]}],
        "subject": _ref("Patient", pid), "period": {"start": start.isoformat(), "end": end.isoformat()},
        "location": [{"location": {"display": V["department"]}}],
        "hospitalization": {"admitSource": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/admit-source",
                                                        "code": "gp"}]},
                            "origin": {"display": V["referring-facility"]}}}).res_id
    texts = {"ly-do-vao-vien": V["reason"], "qua-trinh-benh-ly": V["history"], "tien-su-ban-than": V["personal-history"],
             "tien-su-gia-dinh": V["family-history"], "toan-than": V["general"], "tieu-hoa": V["organ"],
             "huong-dieu-tri": V["plan"]}
    repo.create("Composition", {
        "resourceType": "Composition", "status": "final", "type": record.RECORD_TYPE,
        "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid), "date": "2026-12-14T08:05:00+07:00",
        "author": [_ref("Practitioner", doctor, V["doctor"])], "title": "Bệnh án",
        "section": [{"title": record.BY_CODE[c].vi, "code": {"coding": [{"system": record.SECTION_SYSTEM, "code": c}]},
                     "text": narrative(t)} for c, t in texts.items()]})
    summary = {"qua-trinh-benh-ly": V["course"], "ket-qua-can-lam-sang": V["key-results"],
               "phuong-phap-dieu-tri": V["method"], "tinh-trang-ra-vien": V["status"],
               "huong-dieu-tri-tiep": V["onward"]}
    repo.create("Composition", {
        "resourceType": "Composition", "status": "final", "type": discharge.SUMMARY_TYPE,
        "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid), "date": "2026-12-18T16:00:00+07:00",
        "author": [_ref("Practitioner", doctor, V["doctor"])], "title": "Tổng kết bệnh án",
        "section": [{"title": c, "code": {"coding": [{"system": discharge.SUMMARY_SYSTEM, "code": c}]},
                     "text": narrative(t)} for c, t in summary.items()]})
    diagnosis = []
    for rank, (key, role) in enumerate((("dx-ad", "AD"), ("dx-ad2", "AD"), ("dx-dd", "DD"), ("dx-dd2", "DD"))):
        code, display = V[key]
        cid = repo.create("Condition", {
            "resourceType": "Condition", "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "code": {"coding": [{"system": ICD10, "code": code, "display": display}], "text": display}}).res_id
        diagnosis.append({"condition": _ref("Condition", cid), "rank": 1 if rank % 2 == 0 else 2,
                          "use": {"coding": [{"system": ROLE, "code": role}]}})
    enc = repo.read("Encounter", eid).json()
    enc["diagnosis"] = diagnosis
    repo.update("Encounter", eid, enc)
    from benhan.clinical import vitals
    vitals.record(repo, DOCTOR, pid, eid, VITALS, "2026-12-14T07:50:00+07:00")
    repo.create("MedicationRequest", {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "identifier": [{"system": NATIONAL_CODE_SYSTEM, "value": V["rx-code"]}],
        "medicationCodeableConcept": {"text": V["drug"]}, "subject": _ref("Patient", pid),
        "encounter": _ref("Encounter", eid), "authoredOn": "2026-12-18T15:30:00+07:00",
        "requester": {"display": f"{V['prescriber']} (bsgian)"},
        "dosageInstruction": [{"text": V["drug-usage"], "patientInstruction": V["advice"]}],
        "dispenseRequest": {"quantity": {"value": 7, "unit": "viên"}}})
    repo.create("Appointment", {
        "resourceType": "Appointment", "status": "booked", "start": f"{V['followup']}T08:00:00+07:00",
        "end": f"{V['followup']}T08:30:00+07:00", "created": "2026-12-18",
        "identifier": [{"value": V["followup-number"]}], "description": V["followup-note"],
        "supportingInformation": [_ref("Encounter", eid)],
        "participant": [{"actor": _ref("Patient", pid), "status": "accepted"},
                        {"actor": _ref("Practitioner", doctor, V["doctor"]), "status": "accepted"}]})
    repo.create("ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "identifier": [{"value": V["referral-number"]}],
        "code": {"coding": [{"system": SNOMED, "code": REFERRAL, "display": "Patient referral"}]},
        "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid),
        "authoredOn": "2026-12-18T15:50:00+07:00", "occurrenceDateTime": "2026-12-18T16:30:00+07:00",
        "requester": _ref("Practitioner", doctor, V["doctor"]),
        "performer": [{"display": V["to"], "identifier": {"system": MA_CSKCB, "value": V["to-code"]}}],
        "reasonCode": [{"coding": [{"system": sources.REFERRAL_REASON, "code": "1b"}]}],
        "extension": [{"url": sources.REFERRAL_EXT["treatment-direction"], "valueString": V["direction"]},
                      {"url": sources.REFERRAL_EXT["transport"], "valueString": V["transport"]},
                      {"url": sources.REFERRAL_EXT["escort"], "valueString": V["escort"]},
                      {"url": sources.REFERRAL_EXT["escort-title"], "valueString": V["escort-title"]},
                      {"url": sources.REFERRAL_EXT["condition-at-transfer"], "valueString": V["condition"]},
                      {"url": sources.REFERRAL_EXT["valid-one-year"], "valueBoolean": True}]})
    leave = {"period": {"valuePeriod": {"start": "2026-12-18", "end": "2026-12-22"}},
             "number": {"valueString": V["leave-number"]}, "bhxh": {"valueString": V["bhxh"]},
             "treatment": {"valueString": V["leave-treatment"]}, "father": {"valueString": V["father"]},
             "mother": {"valueString": V["mother"]}, "note": {"valueString": V["leave-note"]}}
    repo.create("Basic", {
        "resourceType": "Basic", "code": {"coding": [{"system": DOCUMENT_KIND, "code": SICK_LEAVE}]},
        "subject": _ref("Patient", pid), "created": "2026-12-18", "author": _ref("Practitioner", doctor, V["doctor"]),
        "extension": [{"url": ENCOUNTER_EXT, "valueReference": _ref("Encounter", eid)},
                      *({"url": sources.SICK_LEAVE_EXT[k], **v} for k, v in leave.items())]})
    return {"patient": pid, "encounter": eid, "doctor": doctor, "organization": org}
