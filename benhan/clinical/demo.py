"""Fixed-shape demo Bundles: a commune health station and patients with a few visits each, as
transaction Bundles, deterministic from a seed.

The server benchmarks (bench/bench_server.py, bench/gen_search_data.py) ingest these exact shapes, so
they stay as they are to keep figures comparable across releases. The demo facility and the bulk
data sets come from the synthetic-record generator instead (benhan.clinical.synth; `benhan demo`).
"""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone

from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, CCHN_SYSTEM, make_cccd

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
          "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_M = ["Văn", "Đức", "Minh", "Quốc", "Hữu", "Thành", "Công"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Phương"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân",
           "Sơn", "Thắng", "Tuấn", "Việt"]
GIVEN_F = ["Anh", "Chi", "Dung", "Giang", "Hà", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Oanh",
           "Phượng", "Thảo", "Trang", "Yến"]
PLACES = [("001", "Hà Nội", "Phường Ba Đình"), ("079", "Thành phố Hồ Chí Minh", "Phường Sài Gòn"),
          ("048", "Đà Nẵng", "Phường Hải Châu"), ("038", "Thanh Hóa", "Xã Quảng Phú"),
          ("040", "Nghệ An", "Xã Diễn Châu"), ("092", "Cần Thơ", "Phường Ninh Kiều")]
# Common primary-care diagnoses (ICD-10, MoH Vietnamese names).
DIAGNOSES = [("J06.9", "Nhiễm trùng đường hô hấp trên cấp, không đặc hiệu"),
             ("I10", "Bệnh lý tăng huyết áp"), ("E11.9", "Bệnh đái tháo đường không phụ thuộc insuline, không có biến chứng"),
             ("K29.7", "Viêm dạ dày, không đặc hiệu"), ("J20.9", "Viêm phế quản cấp, không đặc hiệu"),
             ("M54.5", "Đau vùng thắt lưng"), ("A09", "Tiêu chảy và viêm dạ dày-ruột do nhiễm trùng"),
             ("J18.9", "Viêm phổi, không đặc hiệu")]
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITALS = [("8867-4", "Heart rate", "/min", (60, 100)), ("8310-5", "Body temperature", "Cel", (36.2, 38.5)),
          ("9279-1", "Respiratory rate", "/min", (14, 22)), ("29463-7", "Body weight", "kg", (42, 80))]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _entry(resource: dict, rng: random.Random) -> tuple[str, dict]:
    full = f"urn:uuid:{_uuid(rng)}"
    return full, {"fullUrl": full, "resource": resource,
                  "request": {"method": "POST", "url": resource["resourceType"]}}


def facility_bundle(seed: int = 2026) -> dict:
    """The facility, its rooms and its staff."""
    rng = random.Random(seed)
    org_url, org = _entry({
        "resourceType": "Organization", "active": True, "name": "Trạm Y tế xã Quảng Phú (demo)",
        "identifier": [{"system": "https://benhan.vn/sid/ma-cskcb", "value": "38001"}],
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}]}],
        "address": [{"line": ["Thôn 1"], "city": "Xã Quảng Phú", "state": "Thanh Hóa", "country": "VN"}],
    }, rng)
    entries = [org]
    for name in ("Phòng khám đa khoa", "Phòng tiêm chủng", "Phòng lưu bệnh"):
        entries.append(_entry({"resourceType": "Location", "status": "active", "name": name,
                               "managingOrganization": {"reference": org_url}}, rng)[1])
    staff = [("Lê Văn Hùng", "male", "doctor"), ("Nguyễn Thị Mai", "female", "nurse"),
             ("Trần Thị Hương", "female", "midwife")]
    for i, (name, gender, role) in enumerate(staff):
        family, *given = name.split()
        entries.append(_entry({"resourceType": "Practitioner", "active": True, "gender": gender,
                               "name": [{"family": family, "given": given, "text": name}],
                               "identifier": [{"system": CCHN_SYSTEM, "value": f"0038{i:02d}/TH-CCHN"}]}, rng)[1])
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def patients_bundle(count: int = 200, seed: int = 2026, today: date | None = None) -> dict:
    """Patients with visits, vital signs and diagnoses, as one transaction Bundle."""
    rng = random.Random(seed + 1)
    today = today or date(2026, 11, 1)
    entries = []
    for n in range(count):
        female = rng.random() < 0.52
        birth = date(rng.randint(1940, 2022), rng.randint(1, 12), rng.randint(1, 28))
        code, province, ward = rng.choice(PLACES)
        family = rng.choice(FAMILY)
        middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
        given = rng.choice(GIVEN_F if female else GIVEN_M)
        cccd = make_cccd(code, birth, female, rng.randrange(1_000_000))
        patient_url, patient = _entry({
            "resourceType": "Patient", "active": True,
            "identifier": [{"system": CCCD_SYSTEM, "value": cccd},
                           {"system": BHYT_SYSTEM, "value": f"HT4{code[1:]}{rng.randrange(10**10):010d}"}],
            "name": [{"use": "official", "text": f"{family} {middle} {given}", "family": family,
                      "given": [middle, given]}],
            "gender": "female" if female else "male",
            "birthDate": birth.isoformat(),
            "telecom": [{"system": "phone", "value": f"09{rng.randrange(10**8):08d}", "use": "mobile"}],
            "address": [{"use": "home", "line": [f"Số {rng.randint(1, 200)}"], "city": ward, "state": province,
                         "country": "VN"}],
        }, rng)
        entries.append(patient)
        for _ in range(rng.randint(1, 3)):
            start = datetime.combine(today - timedelta(days=rng.randint(0, 365)), datetime.min.time(),
                                     tzinfo=timezone(timedelta(hours=7))) + timedelta(hours=rng.randint(7, 16))
            enc_url, enc = _entry({
                "resourceType": "Encounter", "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                          "display": "ambulatory"},
                "subject": {"reference": patient_url},
                "period": {"start": start.isoformat(), "end": (start + timedelta(minutes=20)).isoformat()},
            }, rng)
            entries.append(enc)
            for loinc, display, unit, (lo, hi) in VITALS:
                value = round(rng.uniform(lo, hi), 1)
                entries.append(_entry({
                    "resourceType": "Observation", "status": "final",
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                              "code": "vital-signs"}]}],
                    "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                    "subject": {"reference": patient_url}, "encounter": {"reference": enc_url},
                    "effectiveDateTime": start.isoformat(),
                    "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
                }, rng)[1])
            icd, name = rng.choice(DIAGNOSES)
            entries.append(_entry({
                "resourceType": "Condition",
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": "active"}]},
                "code": {"coding": [{"system": ICD10, "code": icd, "display": name}], "text": name},
                "subject": {"reference": patient_url}, "encounter": {"reference": enc_url},
                "recordedDate": start.date().isoformat(),
            }, rng)[1])
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
