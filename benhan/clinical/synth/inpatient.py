"""An inpatient stay: an Encounter of class IMP (type noi-tru) with admission and discharge, the
admitting diagnosis, admission labs, treatment orders, and every day in hospital a round of vital
signs and a progress note (tờ điều trị).

The daily note is a ClinicalImpression (http://hl7.org/fhir/R4/clinicalimpression.html): the
doctor's assessment of the patient's progress on that day, with the working diagnosis as a finding,
the evolution in `summary` and the orders in `note`. It is the record of a clinical judgement at a
point in time, which is what a tờ điều trị is; the discharge paper and the signed medical record
will be Compositions (DESIGN §10), which can reference these notes.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from benhan.clinical.synth import episode
from benhan.clinical.synth.care import (Context, condition, encounter, lab_panel, new_id, prescription, ref,
                                        vital_signs)
from benhan.clinical.synth.catalog import ICD10, Diagnosis, icd10_names

_BETTER = ["Bệnh nhân tỉnh, tiếp xúc tốt, ăn uống được.", "Đỡ mệt, ngủ được, đại tiểu tiện bình thường.",
           "Các triệu chứng giảm dần, không có biến chứng mới.", "Tình trạng ổn định, đáp ứng tốt với điều trị."]
_FIRST = ["Bệnh nhân mệt, {symptom}.", "Vào viện trong tình trạng {symptom}."]
_SYMPTOM = {"J18.9": "sốt, ho khạc đờm đục, khó thở nhẹ", "A97.0": "sốt cao liên tục, đau mỏi người",
            "I63.9": "yếu nửa người, nói khó", "J44.1": "khó thở tăng, ho khạc đờm nhiều",
            "I50.0": "khó thở khi nằm, phù hai chi dưới", "A09.0": "đi ngoài phân lỏng nhiều lần, mệt",
            "N39.0": "sốt, tiểu buốt, tiểu rắt", "K92.2": "đi ngoài phân đen, da xanh",
            "K35.8": "đau hố chậu phải, sốt nhẹ", "O80.0": "chuyển dạ, ối còn"}


def stay(ctx: Context, dx: Diagnosis, days: int, admitted: datetime, ward_location: str,
         departments: dict[str, str] | None = None) -> None:
    """`departments`: the facility's Location ids by name (Khoa Nội, Khoa Ngoại, Khoa Nhi …)."""
    rng = ctx.rng
    discharged = admitted + timedelta(days=days - 1, hours=rng.randint(1, 6))
    cid = new_id(rng)
    ep = episode.plan(cid, dx, ctx.age, ctx.facility_code, departments or {}, ward_location, admitted, discharged,
                      ctx.practitioners, new_id)
    enc = encounter(ctx, "noi-tru", admitted, discharged, diagnoses=[cid], extra={
        **ep.extra, "length": {"value": days, "unit": "ngày", "system": "http://unitsofmeasure.org", "code": "d"},
    })
    for r in ep.resources:
        ctx.out.append({**r, "subject": ctx.patient, "encounter": ref("Encounter", enc)})
    if ep.died is not None:
        patient = next(r for r in ctx.out if r["resourceType"] == "Patient" and r["id"] == ctx.patient_id)
        patient["deceasedDateTime"] = ep.died.isoformat()
    condition(ctx, cid, dx, enc, admitted, resolved=True)
    febrile = dx.code in {"J18.9", "A97.0", "N39.0", "J44.1", "K35.8"}
    for panel in dx.labs:
        lab_panel(ctx, panel, enc, admitted + timedelta(hours=1), [dx.code])
    for drug in dx.drugs:
        prescription(ctx, drug, enc, admitted + timedelta(minutes=30), days)
    name = icd10_names()[dx.code]
    for day in range(days):
        when = (admitted + timedelta(days=day)).replace(hour=8, minute=rng.randint(0, 40)) if day else admitted
        still_febrile = febrile and day < max(1, days // 3)
        vital_signs(ctx, enc, when, febrile=still_febrile, full=day == 0)
        if day == 0:
            summary = rng.choice(_FIRST).format(symptom=_SYMPTOM.get(dx.code, "mệt mỏi"))
        elif day == days - 1:
            summary = "Bệnh ổn định, đủ điều kiện ra viện. " + rng.choice(_BETTER)
        else:
            summary = (("Còn sốt nhẹ. " if still_febrile else "Hết sốt. " if febrile else "") + rng.choice(_BETTER))
        ctx.out.append({
            "resourceType": "ClinicalImpression", "id": new_id(rng), "status": "completed",
            "code": {"text": "Tờ điều trị"},
            "description": f"Diễn biến ngày điều trị thứ {day + 1}",
            "subject": ctx.patient, "encounter": ref("Encounter", enc),
            "effectiveDateTime": when.isoformat(), "date": when.isoformat(),
            "assessor": ref("Practitioner", rng.choice(ctx.practitioners)),
            "summary": summary,
            "finding": [{"itemCodeableConcept": {"coding": [{"system": ICD10, "code": dx.code, "display": name}],
                                                 "text": name}}],
            "note": [{"text": "Ra viện, hẹn tái khám sau 1 tuần." if day == days - 1
                      else "Tiếp tục điều trị theo y lệnh, theo dõi mạch, nhiệt độ, huyết áp."}],
        })
    if days >= 4 and "cbc" in dx.labs:
        lab_panel(ctx, "cbc", enc, discharged - timedelta(hours=3), [])
