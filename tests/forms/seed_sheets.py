"""An inpatient stay of ten days for the inpatient sheets (tờ điều trị, phiếu chăm sóc, phiếu công khai):
the patient, facility and doctor of seed.build, two physicians and two nurses with distinct names,
progress and nursing notes written through clinical.notes (then dated on their day: the function takes
the clock's time), drug lines in the shape clinical.prescriptions writes, services ordered. Every
printed text is distinct, so a value found in the wrong column cannot pass for the right one."""
from __future__ import annotations

from datetime import datetime, timedelta

from benhan.auth.actor import Actor
from benhan.clinical import notes
from benhan.clinical.prescriptions import PRESCRIPTION_SYSTEM
from benhan.store.repository import Repository
from benhan.vn.identifiers import MA_LK_SYSTEM
from tests.forms import seed

ICT = seed.ICT
START = datetime(2026, 12, 10, 9, 20, tzinfo=ICT)
DAYS = 10
END = START + timedelta(days=DAYS - 1, hours=6)
W = {"ma-lk": "NT2026121001", "department": "Khoa Nội tổng hợp",
     "doctor-a": "Trịnh Quốc Khánh", "doctor-b": "Mai Thị Hồng Nhung",
     "nurse-a": "Đoàn Thị Lựu", "nurse-b": "Cù Văn Thạch",
     "drug": "Ceftriaxon 1g", "drug-unit": "lọ", "drug2": "Paracetamol 500mg", "drug2-unit": "viên",
     "service": "Chụp X-quang ngực thẳng"}
DOCTORS = (Actor(name="bskhanh", display=W["doctor-a"]), Actor(name="bsnhung", display=W["doctor-b"]))
NURSES = (Actor(name="ddluu", display=W["nurse-a"]), Actor(name="ddthach", display=W["nurse-b"]))


def course(day: int, n: int) -> str:
    return f"Diễn biến ngày {day + 1} lần {n}: sốt giảm dần, phổi còn ran nổ đáy phải, ăn được cháo"


def orders(day: int, n: int) -> str:
    return f"Y lệnh ngày {day + 1} lần {n}: chăm sóc cấp hai, chế độ ăn cháo thịt"


def watch(day: int, hour: int) -> str:
    return f"Theo dõi ngày {day + 1} lúc {hour} giờ: tỉnh, mạch đều, không khó thở"


def care(day: int, hour: int) -> str:
    return f"Chăm sóc ngày {day + 1} lúc {hour} giờ: thực hiện y lệnh tiêm thuốc, vỗ rung lồng ngực"


def at(day: int, hour: int, minute: int) -> datetime:
    return (START + timedelta(days=day)).replace(hour=hour, minute=minute)


def _dated(repo: Repository, rid: str, when: datetime) -> None:
    body = repo.read("ClinicalImpression", rid).json()
    body["date"] = body["effectiveDateTime"] = when.isoformat(timespec="milliseconds")
    repo.update("ClinicalImpression", rid, body)


def build(store) -> dict:  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    eid = repo.create("Encounter", {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "identifier": [{"system": MA_LK_SYSTEM, "value": W["ma-lk"]}],
        "subject": {"reference": f"Patient/{ids['patient']}"},
        "period": {"start": START.isoformat(), "end": END.isoformat()},
        "location": [{"location": {"display": W["department"]}}]}).res_id
    cid = repo.create("Condition", {
        "resourceType": "Condition", "subject": {"reference": f"Patient/{ids['patient']}"},
        "encounter": {"reference": f"Encounter/{eid}"},
        "code": {"coding": [{"system": seed.ICD10, "code": "J18.1", "display": "Viêm phổi thùy"}],
                 "text": "Viêm phổi thùy"}}).res_id
    enc = repo.read("Encounter", eid).json()
    enc["diagnosis"] = [{"condition": {"reference": f"Condition/{cid}"}, "rank": 1,
                         "use": {"coding": [{"system": seed.ROLE, "code": "AD"}]}}]
    repo.update("Encounter", eid, enc)
    encounter = repo.read("Encounter", eid).json()
    for day in range(DAYS):
        doctor = DOCTORS[day % 2]
        for n, (h, m) in enumerate(((8, 15), (16, 40)), 1):
            rid = notes.add(repo, doctor, encounter, "progress", course(day, n), orders(day, n))
            _dated(repo, rid, at(day, h, m))
        for n, (h, m) in enumerate(((7, 5), (19, 30))):
            rid = notes.add(repo, NURSES[n], encounter, "nursing", watch(day, h), care(day, h))
            _dated(repo, rid, at(day, h, m))
    # Day 1: ceftriaxon 1 lọ × 2 a day for 5 days; day 3: paracetamol 1 viên × 3 a day for 3 days.
    for name, unit, dose, per_day, days, day, who in ((W["drug"], W["drug-unit"], 1, 2, 5, 0, DOCTORS[0]),
                                                      (W["drug2"], W["drug2-unit"], 1, 3, 3, 2, DOCTORS[0])):
        route = "Tiêm tĩnh mạch" if unit == "lọ" else "Uống"
        repo.create("MedicationRequest", {
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "groupIdentifier": {"system": PRESCRIPTION_SYSTEM, "value": f"DT-{day}"},
            "medicationCodeableConcept": {"text": name}, "subject": {"reference": f"Patient/{ids['patient']}"},
            "encounter": {"reference": f"Encounter/{eid}"},
            "authoredOn": at(day, 9, 0).isoformat(timespec="milliseconds"),
            "requester": {"display": f"{who.display} ({who.name})"},
            "dosageInstruction": [{
                "text": f"{route} {dose} {unit} x {per_day} lần/ngày, {days} ngày", "route": {"text": route},
                "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d",
                                      "boundsDuration": {"value": days, "unit": "ngày"}}},
                "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}]}],
            "dispenseRequest": {"quantity": {"value": dose * per_day * days, "unit": unit}}})
    for day in (0, 4):
        repo.create("ServiceRequest", {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "code": {"text": W["service"]}, "subject": {"reference": f"Patient/{ids['patient']}"},
            "encounter": {"reference": f"Encounter/{eid}"}, "authoredOn": at(day, 10, 0).isoformat(),
            "requester": {"display": f"{DOCTORS[day % 2].display} ({DOCTORS[day % 2].name})"}})
    return {**ids, "stay": eid}


def render(store, ids: dict, key: str, signed: dict | None = None):  # noqa: ANN001, ANN201
    from benhan.clinical.printouts import forms as printouts
    from benhan.documents.forms import printing
    repo = Repository(store, Actor.system())
    ctx = printouts.gather(repo, ids["stay"], seed.TODAY, head_title=seed.V["head-title"])
    return printing.print_form(repo, ctx, key, seed.DOCTOR, seed.PRINTED, "http://benhan.test", None, signed)
