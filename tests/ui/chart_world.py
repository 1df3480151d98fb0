"""A patient with several encounters, built at fixed (injected) times — never today's date — for the
page tests that need a real chart: Trần Thị Hoa, severe penicillin allergy, a fall-risk alert, a
BHYT card; an inpatient stay (01/12 → 10/12, follow-up booked for 20/12) overlapping an outpatient
visit (06/12, follow-up booked for 13/12), each with its own diagnosis, prescription, notes (the
doctor's progress note and the nurse's care note), vital signs (38.5 °C) and a blood count in 10*9/L;
and an open visit nobody has treated yet."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from benhan.auth.actor import Actor
from benhan.clinical import discharge, notes, vitals
from benhan.clinical.common import BENHAN
from benhan.store.repository import Repository
from benhan.terminology.curated import ENCOUNTER_TYPE_URL
from benhan.vn.identifiers import CCCD_SYSTEM

ICT = timezone(timedelta(hours=7))
DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")
NURSE = Actor(name="dieuduong", display="Nguyễn Thị Mai")
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ICD10 = "http://hl7.org/fhir/sid/icd-10"


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=ICT)


def _ref(res_type: str, res_id: str) -> dict:
    return {"reference": f"{res_type}/{res_id}"}


def encounter(pid: str, kind: str, start: datetime, status: str = "in-progress") -> dict:
    klass = {"noi-tru": "IMP", "kham-benh": "AMB"}[kind]
    name = {"noi-tru": "Điều trị nội trú", "kham-benh": "Khám bệnh"}[kind]
    return {"resourceType": "Encounter", "status": status, "class": {"system": ACT, "code": klass},
            "type": [{"coding": [{"system": ENCOUNTER_TYPE_URL, "code": kind, "display": name}]}],
            "subject": _ref("Patient", pid), "period": {"start": start.isoformat()}}


def _diagnosis(repo: Repository, pid: str, eid: str, code: str, display: str) -> None:
    cid = repo.create("Condition", {
        "resourceType": "Condition", "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": ICD10, "code": code, "display": display}], "text": display}}).res_id
    enc = repo.read("Encounter", eid).json()
    enc["diagnosis"] = [{"condition": _ref("Condition", cid), "rank": 1,
                         "use": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role",
                                             "code": "AD"}]}}]
    repo.update("Encounter", eid, enc)


def _prescription(repo: Repository, pid: str, eid: str, drug: str, when: datetime) -> None:
    repo.create("MedicationRequest", {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": drug}, "subject": _ref("Patient", pid),
        "encounter": _ref("Encounter", eid), "authoredOn": when.isoformat(),
        "requester": {"display": "Lê Văn Hùng"},
        "dosageInstruction": [{"text": "Uống 1 viên × 2 lần/ngày"}],
        "dispenseRequest": {"quantity": {"value": 10.5, "unit": "viên"}}})


def _blood_count(repo: Repository, pid: str, eid: str, when: datetime) -> None:
    sr = repo.create("ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "completed", "intent": "order",
        "code": {"text": "Tổng phân tích tế bào máu"}, "subject": _ref("Patient", pid),
        "encounter": _ref("Encounter", eid), "authoredOn": when.isoformat()}).res_id
    obs = repo.create("Observation", {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": {"text": "Số lượng bạch cầu (WBC)"}, "subject": _ref("Patient", pid),
        "encounter": _ref("Encounter", eid), "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": 12.5, "unit": "10*9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"},
        "referenceRange": [{"low": {"value": 4.0, "unit": "10*9/L"}, "high": {"value": 10.5, "unit": "10*9/L"}}]}).res_id
    repo.create("DiagnosticReport", {
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Tổng phân tích tế bào máu"},
        "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid), "basedOn": [_ref("ServiceRequest", sr)],
        "result": [_ref("Observation", obs)]})


def build(store) -> dict:  # noqa: ANN001
    repo = Repository(store, Actor.system())
    pid = repo.create("Patient", {
        "resourceType": "Patient", "name": [{"text": "Trần Thị Hoa", "family": "Trần", "given": ["Thị", "Hoa"]}],
        "gender": "female", "birthDate": "1989-03-15",
        "identifier": [{"system": CCCD_SYSTEM, "value": "001189012345"}]}).res_id
    repo.create("Coverage", {"resourceType": "Coverage", "status": "active", "beneficiary": _ref("Patient", pid),
                             "payor": [{"display": "BHXH"}], "subscriberId": "HT4790123456789",
                             "period": {"start": "2026-01-01", "end": "2027-12-31"}})
    repo.create("AllergyIntolerance", {
        "resourceType": "AllergyIntolerance", "patient": _ref("Patient", pid), "criticality": "high",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                       "code": "active"}]},
        "category": ["medication"], "code": {"text": "Penicillin"}})
    repo.create("Flag", {"resourceType": "Flag", "status": "active", "subject": _ref("Patient", pid),
                         "code": {"text": "Nguy cơ ngã"}})
    bare = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Lý Văn Không"}],
                                   "gender": "male", "birthDate": "1990-01-01"}).res_id

    inpatient = repo.create("Encounter", encounter(pid, "noi-tru", at(1))).res_id
    outpatient = repo.create("Encounter", encounter(pid, "kham-benh", at(6))).res_id
    waiting = repo.create("Encounter", encounter(pid, "kham-benh", at(6, 9), status="arrived")).res_id
    for eid, (code, name), drug, day in ((inpatient, ("J18.9", "Viêm phổi"), "Amoxicilin 500mg", 2),
                                         (outpatient, ("I10", "Tăng huyết áp vô căn"), "Amlodipin 5mg", 6)):
        _diagnosis(repo, pid, eid, code, name)
        _prescription(repo, pid, eid, drug, at(day, 9))
        _blood_count(repo, pid, eid, at(day, 10))
        vitals.record(repo, NURSE, pid, eid, {"temperature": "38,5", "pulse": "96"}, at(day, 7).isoformat())
        enc = repo.read("Encounter", eid).json()
        notes.add(repo, DOCTOR, enc, "progress", f"Sốt, ho ({name})", f"Y LỆNH BÁC SĨ {code}")
        notes.add(repo, NURSE, enc, "nursing", f"Đã chườm mát ({name})", f"CHĂM SÓC ĐIỀU DƯỠNG {code}")
    # The outpatient visit ends first (06/12, back on 13/12), the stay later (10/12, back on 20/12).
    discharge.discharge(repo, DOCTOR, repo.read("Encounter", outpatient).json(),
                        {"result": "2", "disposition": "home", "followup_date": "13/12/2026",
                         "followup_note": "Tái khám ngoại trú huyết áp"}, when=at(6, 11))
    discharge.discharge(repo, DOCTOR, repo.read("Encounter", inpatient).json(),
                        {"result": "1", "disposition": "home", "followup_date": "20/12/2026",
                         "followup_note": "Tái khám sau ra viện", "d_tinh_trang_ra_vien": "Hết sốt, ổn định"},
                        when=at(10, 11))
    return {"patient": pid, "bare_patient": bare, "inpatient": inpatient, "outpatient": outpatient,
            "waiting": waiting, "extension_base": BENHAN}
