"""Ending a visit: discharge from the ward, or the end of an outpatient exam.

- The Encounter is finished: period.end, the disposition (hospitalization.dischargeDisposition:
  home, transferred, left against advice …) and the treatment result (khỏi / đỡ / không thay đổi /
  nặng hơn / tử vong — the KET_QUA_DTRI codes 1–5 of the BHYT XML, in an extension);
- the discharge diagnoses are Conditions listed on the Encounter with role DD (diagnoses.add);
- the summary (section B of 01/BV1: course, key results, treatment, status at discharge, onward
  plan) is a Composition of type LOINC 18842-5 "Discharge summary", one section per field;
- a follow-up visit is an Appointment (booked) for the patient;
- a transfer out, a death (with Patient.deceasedDateTime) and the pathology result: clinical.outcome;
  the last department's stay ends with the visit (clinical.transfers).
All in one transaction. That is the doctor's act (auth.roles.DISCHARGE). The front desk may only
`close` a visit nobody has treated yet (the patient left before being seen, a visit opened by
mistake): finished, with its end, and no outcome at all (auth.roles.CLOSE_VISIT; issue 12.4).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time

from benhan.auth.actor import Actor
from benhan.clinical.common import (BENHAN, LOINC, Problems, author, narrative, narrative_text, now, parse_date,
                                    ref, stamp, zone)
from benhan.clinical import beds, outcome, transfers
from benhan.store.repository import Repository

RESULT_EXT = f"{BENHAN}/StructureDefinition/treatment-result"
RESULT_SYSTEM = f"{BENHAN}/CodeSystem/ket-qua-dieu-tri"
RESULTS = {"1": ("Khỏi", "Cured"), "2": ("Đỡ, giảm", "Improved"), "3": ("Không thay đổi", "Unchanged"),
           "4": ("Nặng hơn", "Worse"), "5": ("Tử vong", "Died")}
DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DISPOSITIONS = {"home": ("Ra viện", "Discharged home"), "aadvice": ("Xin về", "Left on request"),
                "oth": ("Bỏ về", "Left without notice"), "other-hcf": ("Chuyển viện", "Transferred"),
                "exp": ("Tử vong", "Died")}
SUMMARY_TYPE = {"coding": [{"system": LOINC, "code": "18842-5", "display": "Discharge summary"}],
                "text": "Tổng kết bệnh án ra viện"}
SUMMARY_SYSTEM = f"{BENHAN}/CodeSystem/discharge-section"


@dataclass(frozen=True)
class SummarySection:
    code: str
    vi: str
    en: str


SUMMARY = (
    SummarySection("qua-trinh-benh-ly", "Quá trình bệnh lý và diễn biến lâm sàng", "Course and clinical progress"),
    SummarySection("ket-qua-can-lam-sang", "Tóm tắt kết quả xét nghiệm cận lâm sàng có giá trị chẩn đoán",
                   "Key paraclinical results"),
    SummarySection("phuong-phap-dieu-tri", "Phương pháp điều trị", "Treatment given"),
    SummarySection("tinh-trang-ra-vien", "Tình trạng người bệnh ra viện", "Status at discharge"),
    SummarySection("huong-dieu-tri-tiep", "Hướng điều trị và các chế độ tiếp theo", "Onward plan"),
)


def field_name(code: str) -> str:
    return "d_" + code.replace("-", "_")


def summary_texts(composition: dict | None) -> dict[str, str]:
    out = {}
    for s in (composition or {}).get("section", []):
        code = (s.get("code", {}).get("coding") or [{}])[0].get("code")
        if code:
            out[code] = narrative_text(s.get("text"))
    return out


def result_of(encounter: dict) -> str:
    return next((e.get("valueCoding", {}).get("code", "") for e in encounter.get("extension", [])
                 if e.get("url") == RESULT_EXT), "")


def disposition_of(encounter: dict) -> str:
    return ((encounter.get("hospitalization", {}).get("dischargeDisposition", {}).get("coding")) or [{}])[0].get(
        "code", "")


# What a visit is still in before anyone treats it: the front desk may close it (no outcome).
CLOSABLE = ("planned", "arrived", "triaged")
# The fields that record a clinical outcome: the front desk's close must carry none of them.
OUTCOME_FIELDS = ("result", "disposition", "followup_date", "followup_note", *(field_name(s.code) for s in SUMMARY),
                  *outcome.FIELDS)


def _start_date(encounter: dict):  # noqa: ANN202
    """The day the visit started, or None (no period, or only a year: both valid FHIR)."""
    start = (encounter.get("period") or {}).get("start") or ""
    try:
        return datetime.fromisoformat(start).date() if len(start) >= 10 else None
    except ValueError:
        return None


def has_outcome(values: dict[str, str]) -> bool:
    return any((values.get(name) or "").strip() for name in OUTCOME_FIELDS)


def close(repo: Repository, actor: Actor, encounter: dict, tz: str = "+07:00", when: datetime | None = None) -> None:
    """The front desk's administrative close: finished, with its end, without a treatment result,
    disposition, summary or follow-up — only for a visit nobody has recorded on yet."""
    p = Problems()
    status = encounter.get("status")
    if status == "finished":
        p.add("close", "ui.err.already_finished")
    elif status not in CLOSABLE:
        p.add("close", "ui.close.err.started")
    p.raise_if_any()
    when = when or now(tz)
    enc = {k: v for k, v in encounter.items() if k != "meta"}
    enc["status"] = "finished"
    enc["period"] = {**(enc.get("period") or {}), "end": when.isoformat()}
    enc["extension"] = [e for e in enc.get("extension", []) if e.get("url") != RESULT_EXT]
    if not enc["extension"]:
        del enc["extension"]
    version = int(encounter.get("meta", {}).get("versionId", "0")) or None
    repo.update("Encounter", enc["id"], stamp(enc, actor), if_match=version)


def discharge(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], tz: str = "+07:00",
              when: datetime | None = None) -> str | None:
    """Finish the visit; the Appointment id when a follow-up was booked. `when`: the clock (tests)."""
    p = Problems()
    result, disposition = values.get("result", ""), values.get("disposition", "")
    if encounter.get("status") == "finished":
        p.add("result", "ui.err.already_finished")
    if result not in RESULTS:
        p.add("result", "ui.err.choose")
    if disposition not in DISPOSITIONS:
        p.add("disposition", "ui.err.choose")
    follow = None
    try:
        follow = parse_date(values.get("followup_date", ""))
    except ValueError:
        p.add("followup_date", "ui.err.date")
    when = when or now(tz)
    if follow and follow <= when.date():
        p.add("followup_date", "ui.err.past")
    texts = {s.code: (values.get(field_name(s.code)) or "").strip() for s in SUMMARY}
    inpatient = encounter.get("class", {}).get("code") == "IMP"
    if inpatient and not texts["tinh-trang-ra-vien"]:
        p.add(field_name("tinh-trang-ra-vien"), "ui.err.required")
    details = outcome.check(repo, p, values, encounter, result, disposition, when, tz)
    p.raise_if_any()
    enc = {k: v for k, v in encounter.items() if k != "meta"}
    enc["status"] = "finished"
    enc["period"] = {**(enc.get("period") or {}), "end": when.isoformat()}
    enc["extension"] = [e for e in enc.get("extension", []) if e.get("url") != RESULT_EXT] + [
        {"url": RESULT_EXT, "valueCoding": {"system": RESULT_SYSTEM, "code": result, "display": RESULTS[result][0]}}]
    hosp = dict(enc.get("hospitalization", {}))
    hosp["dischargeDisposition"] = {"coding": [{"system": DISPOSITION, "code": disposition,
                                                "display": DISPOSITIONS[disposition][1]}],
                                    "text": DISPOSITIONS[disposition][0]}
    enc["hospitalization"] = hosp
    outcome.apply(enc, details)
    bed_writes = beds.release_writes(repo, actor, enc, when)      # the bed is free again
    transfers.close_current(enc, when)
    admitted = _start_date(enc)
    if admitted and inpatient:
        days = (when.date() - admitted).days + 1
        enc["length"] = {"value": days, "unit": "ngày", "system": "http://unitsofmeasure.org", "code": "d"}
    version = int(encounter.get("meta", {}).get("versionId", "0")) or None
    pending = [repo.prepare("PUT", "Encounter", enc["id"], stamp(enc, actor), if_match=version), *bed_writes]
    if details.deceased is not None:
        # The record of the person says so too (Patient.deceased), in the same transaction.
        patient = repo.read("Patient", encounter["subject"]["reference"].split("/", 1)[1]).json()
        patient_version = int(patient.get("meta", {}).get("versionId", "0")) or None
        patient = {k: v for k, v in patient.items() if k not in ("meta", "deceasedBoolean")}
        patient["deceasedDateTime"] = details.deceased.isoformat()
        pending.append(repo.prepare("PUT", "Patient", patient["id"], stamp(patient, actor), if_match=patient_version))
    if any(texts.values()):
        summary = {"resourceType": "Composition", "status": "final", "type": SUMMARY_TYPE,
                   "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
                   "date": when.isoformat(), "author": [author(actor)], "title": "Tổng kết bệnh án",
                   "section": [{"title": s.vi, "code": {"coding": [{"system": SUMMARY_SYSTEM, "code": s.code}]},
                                "text": narrative(texts[s.code])} for s in SUMMARY if texts[s.code]]}
        pending.append(repo.prepare("POST", "Composition", str(uuid.uuid4()), stamp(summary, actor), create_only=True))
    appointment_id = None
    if follow:
        appointment_id = str(uuid.uuid4())
        at = datetime.combine(follow, time(8, 0), tzinfo=zone(tz))
        note = (values.get("followup_note") or "").strip()
        # supportingInformation names the visit that booked it: each visit's printouts print their
        # own follow-up, not the next one the patient happens to have (issue 12.5).
        appt = {"resourceType": "Appointment", "status": "booked",
                "description": note or "Tái khám", "start": at.isoformat(),
                "end": at.replace(hour=8, minute=30).isoformat(), "created": when.date().isoformat(),
                "supportingInformation": [ref("Encounter", encounter["id"])],
                "participant": [{"actor": encounter["subject"], "status": "accepted"}]}
        pending.append(repo.prepare("POST", "Appointment", appointment_id, stamp(appt, actor), create_only=True))
    repo.commit(pending, "transaction")
    return appointment_id
