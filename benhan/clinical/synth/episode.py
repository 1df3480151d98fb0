"""What happened around a synthetic inpatient stay, in the shapes the app records (clinical.admission,
transfers, procedures, outcome, discharge), so the demo's 01/BV1 prints real content: how the
patient came in and who referred them, the departments with their periods (a child on the
paediatric ward, an appendicitis on the surgical one, some gastro-intestinal bleeds moved from the
medical ward to the surgical, and a few others), the surgery or procedure the illness calls for, an occasional
complication, the treatment result, and now and then a transfer out, a request to leave or a death.

Drawn from a stream of its own (seeded by the stay's diagnosis id): the main stream, and so every
other resource id of the data set, does not depend on these details.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from benhan.clinical.admission import (ADMISSION_DX_EXT, MA_CSKCB_SYSTEM, REFERRAL_DX_EXT, ROUTE_SYSTEM, ROUTES,
                                       SOURCE_EXT, SOURCE_SYSTEM, SOURCES)
from benhan.clinical.discharge import DISPOSITION, DISPOSITIONS, RESULT_EXT, RESULT_SYSTEM, RESULTS
from benhan.clinical.outcome import (CIRCUMSTANCE_SYSTEM, CIRCUMSTANCES, DEATH_EXT, LEVEL_EXT, LEVEL_SYSTEM, LEVELS)
from benhan.clinical.procedures import (ANAESTHESIA, ANAESTHESIA_EXT, ANAESTHESIA_SYSTEM, ANAESTHETIST,
                                        COMPLICATION_SYSTEM, COMPLICATIONS, KIND_SYSTEM, KINDS)
from benhan.clinical.synth.catalog import ICD10, Diagnosis, icd10_names

REFERRERS = ("Trạm Y tế xã Đông Tiến", "Trạm Y tế xã Hoằng Lộc", "Trạm Y tế phường Nam Ngạn",
             "Phòng khám đa khoa khu vực Hà Trung", "Trạm Y tế xã Yên Trường", "Phòng khám tư nhân Minh An")
SURGICAL = {"K35.8", "O80.0"}
# The procedure each illness may call for: (chance, kind, name, anaesthesia).
PROCEDURES = {"K35.8": (1.0, "phau-thuat", "Phẫu thuật nội soi cắt ruột thừa", ("me-noi-khi-quan", "te-tuy-song")),
              "O80.0": (1.0, "thu-thuat", "Đỡ đẻ thường ngôi chỏm", ("te-tai-cho", "khong")),
              "K92.2": (0.7, "thu-thuat", "Nội soi thực quản - dạ dày - tá tràng", ("te-tai-cho",)),
              "I63.9": (0.3, "thu-thuat", "Đặt ống thông dạ dày", ("khong",)),
              "J44.1": (0.2, "thu-thuat", "Khí dung thuốc giãn phế quản", ("khong",))}


@dataclass
class Episode:
    ward: str                                   # Location id of the admitting department
    extra: dict = field(default_factory=dict)   # Encounter elements (hospitalization, location, extension)
    resources: list[dict] = field(default_factory=list)   # Procedure, Condition (complications)
    died: datetime | None = None


def _coding(system: str, code: str, names: dict) -> dict:
    return {"system": system, "code": code, "display": names[code][0]}


def _dx(code: str) -> dict:
    name = icd10_names()[code]
    return {"coding": [{"system": ICD10, "code": code, "display": name}], "text": name}


def plan(seed: str, dx: Diagnosis, age: int, facility_code: str, departments: dict[str, str], ward: str,
         admitted: datetime, discharged: datetime, doctors: list[str], new_id) -> Episode:  # noqa: ANN001
    r = random.Random(seed)
    if age < 16 and "Khoa Nhi" in departments:
        ward = departments["Khoa Nhi"]
    elif dx.code in SURGICAL and "Khoa Ngoại" in departments:
        ward = departments["Khoa Ngoại"]
    names = {lid: name for name, lid in departments.items()}
    urgent = dx.code in {"I63.9", "K92.2", "K35.8", "I50.0", "J44.1"}
    route = r.choices(list(ROUTES), weights=(70, 28, 2) if urgent else (25, 70, 5))[0]
    source = r.choices(list(SOURCES), weights=(30, 65, 5))[0]
    ext: list[dict] = [{"url": SOURCE_EXT, "valueCoding": _coding(SOURCE_SYSTEM, source, SOURCES)}]
    hosp: dict = {"admitSource": {"coding": [_coding(ROUTE_SYSTEM, route, ROUTES)], "text": ROUTES[route][0]}}
    if source == "co-quan-y-te":
        i = r.randrange(len(REFERRERS))
        hosp["origin"] = {"display": REFERRERS[i],
                          "identifier": {"system": MA_CSKCB_SYSTEM, "value": f"{facility_code[:2]}{101 + i:03d}"}}
        ext.append({"url": REFERRAL_DX_EXT, "valueCodeableConcept": _dx(dx.code)})
    if route != "khoa-dieu-tri":
        ext.append({"url": ADMISSION_DX_EXT, "valueCodeableConcept": _dx(dx.code)})
    stays = [(ward, admitted)]
    surgical_ward = departments.get("Khoa Ngoại")
    # A bleed or a urinary infection on the medical ward may go to the surgeons (a surgical cause found).
    if surgical_ward and ward == departments.get("Khoa Nội") and (discharged - admitted).days >= 2 \
            and r.random() < (0.4 if dx.code in {"K92.2", "N39.0"} else 0.1):
        stays.append((surgical_ward, (admitted + timedelta(days=1)).replace(hour=10, minute=r.randint(0, 50))))
    hosp_locations = []
    for n, (lid, start) in enumerate(stays):
        end = stays[n + 1][1] if n + 1 < len(stays) else discharged
        hosp_locations.append({"location": {"reference": f"Location/{lid}", "display": names.get(lid, "")},
                               "status": "completed", "period": {"start": start.isoformat(), "end": end.isoformat()}})
    out = Episode(ward, resources=[])
    # The outcome: mostly home, cured or better; now and then a transfer up, a request to leave, a death.
    roll = r.random()
    if age >= 70 and dx.code in {"I63.9", "I50.0"} and roll < 0.12:
        disposition, result = "exp", "5"
        out.died = discharged
        out.extra["extension"] = [{"url": DEATH_EXT, "extension": [
            {"url": "time", "valueDateTime": discharged.isoformat()}, {"url": "cause", "valueCodeableConcept": _dx(dx.code)},
            {"url": "circumstance", "valueCoding": _coding(CIRCUMSTANCE_SYSTEM, "do-benh", CIRCUMSTANCES)},
            {"url": "autopsy", "valueBoolean": False}]}]
    elif roll < 0.06:
        disposition, result = "other-hcf", r.choice(["3", "4"])
        hosp["destination"] = {"display": "Bệnh viện Đa khoa tỉnh (demo)",
                               "identifier": {"system": MA_CSKCB_SYSTEM, "value": f"{facility_code[:2]}001"}}
        ext.append({"url": LEVEL_EXT, "valueCoding": _coding(LEVEL_SYSTEM, "tuyen-tren", LEVELS)})
    elif roll < 0.11:
        disposition, result = "aadvice", r.choice(["2", "3"])
    else:
        disposition, result = "home", r.choice(["1", "1", "1", "2", "2"])
    hosp["extension"] = ext
    hosp["dischargeDisposition"] = {"coding": [{"system": DISPOSITION, "code": disposition,
                                                "display": DISPOSITIONS[disposition][1]}],
                                    "text": DISPOSITIONS[disposition][0]}
    out.extra["hospitalization"] = hosp
    out.extra["location"] = hosp_locations
    out.extra["extension"] = [{"url": RESULT_EXT, "valueCoding": {"system": RESULT_SYSTEM, "code": result,
                                                                  "display": RESULTS[result][0]}},
                              *out.extra.get("extension", [])]
    _procedure(r, dx, admitted, doctors, new_id, out)
    return out


def _procedure(r: random.Random, dx: Diagnosis, admitted: datetime, doctors: list[str], new_id,  # noqa: ANN001
               out: Episode) -> None:
    chance, kind, name, methods = PROCEDURES.get(dx.code, (0.0, "", "", ()))
    if r.random() >= chance:
        return
    method = r.choice(methods)
    surgeon, anaesthetist = r.sample(doctors, 2) if len(doctors) > 1 else (doctors[0], None)
    pid = new_id(r)
    when = admitted + timedelta(hours=r.randint(1, 5), minutes=r.randint(0, 59))
    performers = [{"actor": {"reference": f"Practitioner/{surgeon}"}}]
    if kind == "phau-thuat" and anaesthetist:
        performers.append({"function": ANAESTHETIST, "actor": {"reference": f"Practitioner/{anaesthetist}"}})
    proc = {"resourceType": "Procedure", "id": pid, "status": "completed",
            "category": {"coding": [_coding(KIND_SYSTEM, kind, KINDS)], "text": KINDS[kind][0]},
            "code": {"text": name}, "performedDateTime": when.isoformat(), "performer": performers,
            "extension": [{"url": ANAESTHESIA_EXT, "valueCodeableConcept": {
                "coding": [_coding(ANAESTHESIA_SYSTEM, method, ANAESTHESIA)], "text": ANAESTHESIA[method][0]}}]}
    out.resources.append(proc)
    if kind == "phau-thuat" and r.random() < 0.1:
        cid = new_id(r)
        out.resources.append({
            "resourceType": "Condition", "id": cid,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "resolved"}]},
            "category": [{"coding": [_coding(COMPLICATION_SYSTEM, "bien-chung", COMPLICATIONS)]}],
            "code": {"text": "Nhiễm trùng vết mổ"}, "onsetDateTime": (when + timedelta(days=2)).isoformat()})
        proc["complicationDetail"] = [{"reference": f"Condition/{cid}"}]
