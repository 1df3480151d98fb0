"""The episode of a claim read from the FHIR record: Patient, Coverage (through the billing layer's
entitlement, so the claim and the bill agree on the card and the object code), Encounter,
Conditions with ICD-10 ranked on the Encounter, laboratory Observations, progress notes
(ClinicalImpression), the discharge summary, the transfer out and the follow-up Appointment; the
charge lines from billing.charges. MA_LK is the Encounter's MA_LK identifier (the "số khám bệnh" the
desk prints, also on the cost statement; the Encounter id for a visit without one): unique and never
changed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from benhan import errors
from benhan.billing import charges as billing_charges
from benhan.billing.lines import ChargeLine
from benhan.claims.episode import Appointment, Episode, Progress, Referral, Result
from benhan.clinical import chart, diagnoses, discharge
from benhan.clinical.common import name_of
from benhan.clinical.visits import facility, kind_of
from benhan.store.repository import Repository
from benhan.terminology.curated import OCCUPATION_URL
from benhan.terminology.small_lists import ETHNICITY_URL
from benhan.vn.identifiers import CCCD_SYSTEM, MA_LK_SYSTEM

# Encounter kind → MA_LOAI_KCB (QĐ 1804/2026): an emergency seen and sent home is an exam (its
# object code, 2, says emergency); the kinds the desk opens today.
VISIT_TYPES = {"kham-benh": "01", "cap-cuu": "01", "noi-tru": "03", "dieu-tri-ngoai-tru": "02",
               "dieu-tri-ban-ngay": "04"}
log = logging.getLogger("benhan.claims")
T = TypeVar("T")

DISCHARGE_TYPES = {"home": 1, "exp": 1, "other-hcf": 2, "oth": 3, "aadvice": 4}


def _dt(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text and len(text) > 10 else None
    except ValueError:
        return None


def _follow_up(repo: Repository, patient_id: str, end: datetime) -> Appointment | None:
    """The first appointment booked after the visit ended (XML1's NGAY_TAI_KHAM), read in date order
    from the day before it ended (a day's bounds differ between time zones; the times decide): the
    patient's older appointments left "booked" (never marked fulfilled) had hidden it once they
    filled the one page read."""
    since = (end.date() - timedelta(days=1)).isoformat()
    items = [("patient", f"Patient/{patient_id}"), ("status", "booked"), ("date", f"ge{since}"), ("_sort", "date")]
    for page in repo.search_pages("Appointment", items):
        for m in page.matches:
            when = _dt(m.json().get("start"))
            if when is not None and when > end:
                return Appointment(number=m.res_id[:50], day=when.date())
    return None


def _code_in(body: dict, system: str) -> str:
    for ext in body.get("extension", []):
        for coding in (ext.get("valueCodeableConcept") or {}).get("coding", []):
            if coding.get("system") == system:
                return coding.get("code", "")
    return ""


def _value(obs: dict) -> tuple[str, str]:
    if "valueQuantity" in obs:
        q = obs["valueQuantity"]
        return str(q.get("value", "")), q.get("unit", "") or q.get("code", "")
    if "valueString" in obs:
        return obs["valueString"], ""
    if "valueCodeableConcept" in obs:
        c = obs["valueCodeableConcept"]
        return c.get("text") or (c.get("coding") or [{}])[0].get("display", ""), ""
    return "", ""


def made_or_why(make: Callable[[], T], encounter_id: str) -> T | str:
    """What `make` makes of one visit, or why it could not, for the batches over many visits (the day's
    claims, check-ins and health books, the month's report, the desks' lists): a record that cannot
    give it (its patient not in the record …) or a fault of ours on one visit's data (logged with its
    traceback) names that visit and never stops the others."""
    try:
        return make()
    except errors.BenhanError as exc:
        return exc.message
    except Exception as exc:     # as the outbox does for a sender's bug
        log.exception("claims: Encounter/%s could not be made into a claim", encounter_id)
        return (f"benhan không lập được hồ sơ của lượt khám này (lỗi {type(exc).__name__}, đã ghi vào nhật ký máy "
                f"chủ) | benhan could not make this visit's claim ({type(exc).__name__}, in the server log)")


def episode_or_why(repo: Repository, encounter_id: str) -> tuple[Episode, list[ChargeLine]] | str:
    """The visit's claim, or why it cannot be made (made_or_why)."""
    return made_or_why(lambda: episode_from_record(repo, encounter_id), encounter_id)


def episode_from_record(repo: Repository, encounter_id: str, *, on: date | None = None
                        ) -> tuple[Episode, list[ChargeLine]]:
    computed = billing_charges.compute(repo, encounter_id, on=on)
    encounter, patient, ent = computed.encounter, computed.patient, computed.entitlement
    visit = chart.visit(repo, encounter, patient)
    fac = facility(repo)
    card = ent.card
    birth_text = patient.get("birthDate", "")
    try:
        born: date | datetime = date.fromisoformat(birth_text[:10]) if len(birth_text) >= 10 else date(
            int(birth_text[:4] or 1900), 1, 1)
    except ValueError:
        born = date(1900, 1, 1)
    listed = [d for d in diagnoses.listed(encounter, visit.conditions) if not d.cancelled]
    role = "DD" if diagnoses.has_main(listed, "DD") else "AD"
    main = next((d for d in listed if d.role == role and d.kind == "main"), None)
    others = tuple(dict.fromkeys(d.code for d in listed if d.role == role and d.kind == "secondary" and d.code))
    period = encounter.get("period") or {}
    start, end = _dt(period.get("start")), _dt(period.get("end"))
    kind = kind_of(encounter)
    visit_type = VISIT_TYPES.get(kind, "03" if encounter.get("class", {}).get("code") == "IMP" else "01")
    summary = discharge.summary_texts(visit.summary)
    hosp = encounter.get("hospitalization") or {}
    disposition = discharge.disposition_of(encounter)
    referral = None
    dest = (hosp.get("destination") or {})
    if disposition == "other-hcf":
        referral = Referral(number=encounter_id[:50], to_facility=(dest.get("identifier") or {}).get("value", ""),
                            clinical_signs=summary.get("tinh-trang-ra-vien", "") or summary.get("qua-trinh-benh-ly", ""),
                            reason_code="1", direction=summary.get("huong-dieu-tri-tiep", ""), transport="")
    results = []
    for obs in visit.observations:
        cats = {c.get("code") for cat in obs.get("category", []) for c in cat.get("coding", [])}
        if "laboratory" not in cats and "imaging" not in cats:
            continue
        coding = ((obs.get("code") or {}).get("coding") or [{}])[0]
        value, unit = _value(obs)
        results.append(Result(service_code=coding.get("code", "")[:15], indicator_code=coding.get("code", ""),
                              indicator_name=coding.get("display", "") or (obs.get("code") or {}).get("text", ""),
                              value=value[:50], unit=unit, time=_dt(obs.get("issued") or obs.get("effectiveDateTime"))))
    progress = [Progress(text=n.get("summary") or n.get("description") or "", time=_dt(n.get("date")) or start)
                for n in visit.notes if (n.get("summary") or n.get("description")) and (_dt(n.get("date")) or start)]
    appointment = _follow_up(repo, patient.get("id", ""), end) if end is not None else None
    departments = tuple(dict.fromkeys(line.department for line in computed.lines if line.department))
    ma_lk = next((i.get("value", "") for i in encounter.get("identifier", []) if i.get("system") == MA_LK_SYSTEM),
                 "") or encounter_id
    ep = Episode(
        ma_lk=ma_lk, patient_code=patient.get("id", ""), name=name_of(patient), birth=born,
        birth_day_known=len(birth_text) >= 10,
        sex={"male": 1, "female": 2}.get(patient.get("gender", ""), 3),
        cccd=next((i.get("value", "") for i in patient.get("identifier", []) if i.get("system") == CCCD_SYSTEM), ""),
        ethnicity=_code_in(patient, ETHNICITY_URL) or "01", occupation=_code_in(patient, OCCUPATION_URL) or "00000",
        address=((patient.get("address") or [{}])[0]).get("text", ""),
        phone=next((t.get("value", "") for t in patient.get("telecom", []) if t.get("system") == "phone"), ""),
        card=card.number if card and ent.insured else "", card_place=card.registered_facility if card else "",
        card_from=card.valid_from if card else None, card_to=card.valid_to if card else None,
        copay_exempt_from=card.copay_exempt_from if card else None,
        facility=fac.code, object_code=ent.object_code, visit_type=visit_type,
        reason=((encounter.get("reasonCode") or [{}])[0]).get("text", ""),
        admitted=start, admitted_inpatient=start if visit_type in ("03", "04") else None, discharged=end,
        diagnosis_in=diagnoses.text_of(listed, "AD", True), diagnosis_out=diagnoses.text_of(listed, role, True),
        main_icd=main.code if main else "", other_icd=others,
        to_facility=referral.to_facility if referral else "", transfer_paper=referral.number if referral else "",
        treatment=summary.get("phuong-phap-dieu-tri", ""), outcome=int(discharge.result_of(encounter) or 1),
        discharge_type=DISCHARGE_TYPES.get(disposition, 1), departments=departments or ("K01",),
        record_number=encounter_id, history_summary=summary.get("qua-trinh-benh-ly", ""),
        results_summary=summary.get("ket-qua-can-lam-sang", ""), plan=summary.get("huong-dieu-tri-tiep", ""),
        referral=referral, appointment=appointment,
        discharge_paper=visit_type in ("03", "04"), results=results, progress=progress)
    return ep, computed.lines
