"""One synthetic patient with their record, from the patient's own random stream.

Every patient is generated from Random(f"{seed}:{number}") alone, so the data set is the same
whatever order or process makes each patient (bulk.py prepares them in worker processes), and a
patient can be regenerated without the others. Ids are UUIDs drawn from the same stream: the same
seed gives the same ids, so loading the demo again updates nothing.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from benhan.clinical.synth import care, inpatient
from benhan.clinical.synth.catalog import ACUTE, CHRONIC, INPATIENT, Diagnosis
from benhan.clinical.synth.names import Weighted, person_name, region_of
from benhan.clinical.synth.people import PROVINCES, Person, make_person, province_names, wards_by_province
from benhan.terminology.curated import OCCUPATION_URL
from benhan.terminology.small_lists import ETHNICITY_URL
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, CCHN_SYSTEM

ICT = timezone(timedelta(hours=7))
TODAY = date(2026, 11, 1)
MA_CSKCB_SYSTEM = "https://benhan.vn/sid/ma-cskcb"
VN_EXT = "http://fhir.hl7.org.vn/core/StructureDefinition"
LOCATIONS = ("Phòng khám đa khoa", "Khoa Nội", "Khoa Ngoại", "Khoa Nhi", "Phòng xét nghiệm")
ROLES = ("Bác sĩ", "Bác sĩ", "Bác sĩ", "Điều dưỡng", "Điều dưỡng", "Kỹ thuật viên xét nghiệm", "Dược sĩ")
HISTORY_DAYS = 3 * 365          # visits spread over the last three years


@dataclass(frozen=True)
class Facility:
    organization_id: str
    code: str                    # MA_CSKCB
    name: str
    province_code: str
    practitioners: tuple[str, ...]
    locations: tuple[str, ...]


def facility(seed: int, index: int) -> tuple[Facility, list[dict]]:
    """A district health centre with its departments and staff (Organization, Locations, Practitioners)."""
    rng = random.Random(f"{seed}:facility:{index}")
    province = PROVINCES.pick(rng) if index else "38"
    ward_code, ward, _ = rng.choice(wards_by_province()[province])
    org_id = care.new_id(rng)
    code = f"{province}{rng.randrange(1, 1000):03d}"
    name = f"Trung tâm Y tế {ward.removeprefix('Xã ').removeprefix('Phường ')} (demo)"
    out: list[dict] = [{
        "resourceType": "Organization", "id": org_id, "active": True, "name": name,
        "identifier": [{"system": MA_CSKCB_SYSTEM, "value": code}],
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov",
                              "display": "Healthcare Provider"}]}],
        "telecom": [{"system": "phone", "value": f"02{rng.randrange(10**9):09d}", "use": "work"}],
        "address": [{"line": ["Số 1 đường Trần Phú"], "city": ward, "state": province_names()[province],
                     "country": "VN"}],
    }]
    locations = []
    for loc in LOCATIONS:
        lid = care.new_id(rng)
        locations.append(lid)
        out.append({"resourceType": "Location", "id": lid, "status": "active", "name": loc,
                    "managingOrganization": care.ref("Organization", org_id)})
    practitioners = []
    for i, role in enumerate(ROLES):
        gender = "female" if rng.random() < 0.55 else "male"
        family, middle, given = person_name(rng, region_of(province), gender, 1980)
        pid = care.new_id(rng)
        practitioners.append(pid)
        out.append({"resourceType": "Practitioner", "id": pid, "active": True, "gender": gender,
                    "name": [{"use": "official", "family": family, "given": [middle, given],
                              "text": f"{family} {middle} {given}", "prefix": [role]}],
                    "identifier": [{"system": CCHN_SYSTEM, "value": f"{i + 1:06d}/{province}-CCHN"}]})
    doctors = tuple(p for p, role in zip(practitioners, ROLES) if role == "Bác sĩ")
    return Facility(org_id, code, name, province, doctors, tuple(locations)), out


def patient_resource(pid: str, p: Person, organization_id: str) -> dict:
    identifiers = [{"use": "official", "system": CCCD_SYSTEM, "value": p.cccd}]
    if p.bhyt and p.bhyt != p.cccd:
        identifiers.append({"system": BHYT_SYSTEM, "value": p.bhyt})
    body = {
        "resourceType": "Patient", "id": pid,
        "extension": [{"url": f"{VN_EXT}/vn-ext-ethnicity",
                       "valueCodeableConcept": {"coding": [{"system": ETHNICITY_URL, "code": p.ethnicity}]}}],
        "identifier": identifiers, "active": True,
        "name": [{"use": "official", "text": p.name, "family": p.family, "given": [p.middle, p.given]}],
        "telecom": [{"system": "phone", "value": p.phone, "use": "mobile"}],
        "gender": p.gender, "birthDate": p.birth.isoformat(),
        "address": [{"use": "home", "type": "physical", "text": f"{p.line}, {p.ward}, {p.province}",
                     "line": [p.line], "city": p.ward, "state": p.province, "country": "VN"}],
        "managingOrganization": care.ref("Organization", organization_id),
    }
    if p.occupation:
        body["extension"].append({"url": f"{VN_EXT}/vn-ext-occupation", "valueCodeableConcept": {
            "coding": [{"system": OCCUPATION_URL, "code": p.occupation}]}})
    return body


def _fits(dx: Diagnosis, age: int, female: bool) -> bool:
    return dx.ages[0] <= age <= dx.ages[1] and (female or not dx.female_only)


def _moment(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(rng.randint(7, 16), rng.randint(0, 59)), tzinfo=ICT)


def patient_record(seed: int, number: int, fac: Facility, today: date = TODAY) -> list[dict]:
    """The patient and everything recorded about them, each resource with its id."""
    rng = random.Random(f"{seed}:{number}")
    person = make_person(rng, number, today, fac.province_code if rng.random() < 0.85 else None)
    pid = care.new_id(rng)
    age = person.age(today)
    chronic = [dx for dx, share, min_age in CHRONIC if age >= min_age and rng.random() < share * (1 + (age - min_age) / 40)]
    ctx = care.Context(rng, pid, person.female, age, chronic, fac.organization_id, fac.code, list(fac.practitioners))
    ctx.out.append(patient_resource(pid, person, fac.organization_id))
    acute = Weighted([(dx, dx.weight) for dx in ACUTE if _fits(dx, age, person.female)])
    earliest = max(person.birth + timedelta(days=30), today - timedelta(days=HISTORY_DAYS))
    span = (today - earliest).days
    visits = 1 + min(int(rng.expovariate(1 / 1.15)), 8) + (1 if chronic else 0)
    days = sorted(earliest + timedelta(days=rng.randrange(max(span, 1))) for _ in range(visits))
    for n, day in enumerate(days):
        start = _moment(rng, day)
        follow_up = chronic and rng.random() < 0.55
        dx = rng.choice(chronic) if follow_up else acute.pick(rng)
        cid = care.new_id(rng)
        enc = care.encounter(ctx, "ngoai-tru" if follow_up else "kham-benh", start,
                             start + timedelta(minutes=rng.randint(10, 35)), diagnoses=[cid], location=fac.locations[0])
        care.vital_signs(ctx, enc, start, febrile=not follow_up and dx.code in care.FEVERISH and rng.random() < 0.6)
        care.condition(ctx, cid, dx, enc, start, resolved=not follow_up)
        if n == 0:
            for c in chronic:
                care.condition(ctx, care.new_id(rng), c, enc, start, problem_list=True)
        if dx.labs and rng.random() < dx.lab_chance:
            for panel in dx.labs:
                care.lab_panel(ctx, panel, enc, start + timedelta(minutes=20), [dx.code])
        recent = (today - day).days < 30
        for drug in dx.drugs[: rng.randint(1, len(dx.drugs))] if dx.drugs else ():
            care.prescription(ctx, drug, enc, start + timedelta(minutes=30), 30 if follow_up else rng.randint(3, 7),
                              active=recent and follow_up)
    if rng.random() < (0.04 if age < 60 else 0.10):
        reasons = Weighted([(dx, dx.weight) for dx, _ in INPATIENT if _fits(dx, age, person.female)])
        dx = reasons.pick(rng)
        low, high = dict((d.code, r) for d, r in INPATIENT)[dx.code]
        admitted = _moment(rng, earliest + timedelta(days=rng.randrange(max(span - high, 1))))
        inpatient.stay(ctx, dx, rng.randint(low, high), admitted, fac.locations[1], dict(zip(LOCATIONS, fac.locations)))
    return ctx.out


def data_set(seed: int, patients: int, facilities: int, first: int = 0) -> tuple[list[Facility], list[dict]]:
    """The facilities (and their resources) a data set of this size uses; patient n goes to n % facilities."""
    made = [facility(seed, i) for i in range(max(1, facilities))]
    return [f for f, _ in made], [r for _, rs in made for r in rs]
