"""Registering a patient at the desk: the form's fields checked (CCCD against birth date and sex,
BHYT number forms, phone), the address in the new units (34 provinces, communes), duplicates
found before they are made, patients without an ID (newborn, unknown emergency, foreigner) with a
reason, and the Patient (+ Coverage for BHYT) written in one transaction.

Field → FHIR: docs/ui.md "Registration".
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from benhan.auth.actor import Actor
from benhan.clinical.common import BENHAN, Problems, parse_date, ref, stamp
from benhan.clinical.patient_link import is_current
from benhan.fhir.text import fold
from benhan.store.repository import Repository
from benhan.terminology import sources
from benhan.terminology.admin_units import PROVINCE_URL, WARD_URL
from benhan.terminology.curated import OCCUPATION_GROUPS, OCCUPATION_URL
from benhan.terminology.small_lists import ETHNICITY_URL
from benhan.vn.bhyt import bhyt_problems, normalize
from benhan.vn.cccd_qr import CccdCard
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, cccd_problems
from benhan.vn.phone import normalize_phone, phone_problems
from benhan.vn.provinces import new_province_of, old_provinces

VN_EXT = "http://fhir.hl7.org.vn/core/StructureDefinition"
ETHNICITY_EXT = f"{VN_EXT}/vn-ext-ethnicity"
OCCUPATION_EXT = f"{VN_EXT}/vn-ext-occupation"
WORKPLACE_EXT = f"{BENHAN}/StructureDefinition/workplace"
NATIONALITY_EXT = f"{BENHAN}/StructureDefinition/nationality"
NO_ID_EXT = f"{BENHAN}/StructureDefinition/no-identifier-reason"
NO_ID_SYSTEM = f"{BENHAN}/CodeSystem/no-identifier-reason"
ADMIN_UNIT_EXT = f"{BENHAN}/StructureDefinition/admin-unit"
REGISTERED_FACILITY_EXT = f"{BENHAN}/StructureDefinition/bhyt-registered-facility"
OLD_ID_SYSTEM = "https://benhan.vn/sid/cmnd"
PASSPORT_SYSTEM = "https://benhan.vn/sid/passport"
NO_ID_REASONS = ("newborn", "unknown", "foreigner")
GENDERS = ("male", "female", "other", "unknown")

FIELDS = ("cccd", "old_id", "name", "birth_date", "gender", "phone", "bhyt", "bhyt_from", "bhyt_to", "bhyt_place",
          "province", "commune", "address_line", "ethnicity", "occupation", "workplace", "contact_name",
          "contact_phone", "no_id_reason", "no_id_note", "nationality", "passport", "confirm_new")


# --- reference lists ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def provinces() -> list[tuple[str, str]]:
    return sorted(((r["code"], r["name"]) for r in sources.rows(sources.PROVINCES_2025)), key=lambda p: fold(p[1]))


@lru_cache(maxsize=1)
def _communes() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for r in sources.rows(sources.WARDS_2025):
        out.setdefault(r["province_code"], []).append((r["code"], r["name"]))
    return {k: sorted(v, key=lambda c: fold(c[1])) for k, v in out.items()}


def communes(province: str) -> list[tuple[str, str]]:
    return _communes().get(province, [])


@lru_cache(maxsize=1)
def ethnicities() -> list[tuple[str, str]]:
    return [(r["code"], r["name_vi"]) for r in sources.rows(sources.ETHNICITY_1979)]


def occupations() -> list[tuple[str, str, str]]:
    return list(OCCUPATION_GROUPS)


def _province_name(code: str) -> str:
    return dict(provinces()).get(code, "")


def _commune_name(province: str, code: str) -> str:
    return dict(communes(province)).get(code, "")


def _strip_unit(text: str) -> str:
    t = fold(text).replace(".", " ")
    for word in ("thanh pho", "tinh", "tp", "phuong", "xa", "thi tran", "dac khu"):
        if t.startswith(word + " "):
            return t[len(word) + 1:].strip()
    return t.strip()


def match_address(address: str) -> tuple[str, str, str]:
    """(province code, commune code, the rest as the address line) read from a card's address.
    The card may still name old units (a district, a merged province): the province is mapped to
    its 2025 successor; a commune is recognised only by a name of the 2025 list."""
    parts = [p.strip() for p in address.split(",") if p.strip()]
    if not parts:
        return "", "", ""
    wanted = _strip_unit(parts[-1])
    province = next((code for code, name in provinces() if _strip_unit(name) == wanted), "")
    if not province:
        old = next((code for code, name in old_provinces().items() if _strip_unit(name) == wanted), "")
        province = new_province_of().get(old, "")
    if not province:
        return "", "", address
    for i in range(len(parts) - 2, -1, -1):
        folded = fold(parts[i])
        hit = next((code for code, name in communes(province) if fold(name) == folded), "")
        if hit:
            return province, hit, ", ".join(parts[:i])
    return province, "", ", ".join(parts[:-1])


# --- the form ----------------------------------------------------------------------------------

@dataclass
class PatientForm:
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: dict[str, str]) -> "PatientForm":
        return cls({k: (data.get(k) or "").strip() for k in FIELDS})

    @classmethod
    def from_card(cls, card: CccdCard) -> "PatientForm":
        province, commune, line = match_address(card.address)
        return cls.from_mapping({"cccd": card.cccd, "old_id": card.old_id or "", "name": card.name,
                                 "birth_date": card.birth_date.strftime("%d/%m/%Y"), "gender": card.gender,
                                 "province": province, "commune": commune, "address_line": line,
                                 "ethnicity": "01"})

    def __getitem__(self, key: str) -> str:
        return self.values.get(key, "")


@dataclass
class Duplicate:
    patient_id: str
    name: str
    birth_date: str
    cccd: str | None


def _cccd_key(problem: str) -> str:
    if "exactly 12" in problem:
        return "ui.err.cccd_length"
    if "province" in problem:
        return "ui.err.cccd_province"
    if "woman" in problem or " man " in problem or "(even" in problem:
        return "ui.err.cccd_sex"
    return "ui.err.cccd_birth"


def _bhyt_key(problem: str) -> str:
    if problem.startswith("as a CCCD"):
        return "ui.err.bhyt_cccd"
    if "beneficiary group" in problem:
        return "ui.err.bhyt_group"
    if "benefit level" in problem:
        return "ui.err.bhyt_level"
    if "issuing province" in problem:
        return "ui.err.bhyt_province"
    return "ui.err.bhyt_format"


def year_only(text: str) -> bool:
    """The birth date typed as the year alone: many elderly patients know no more, and their BHYT card
    shows only the year. The record then holds the year (FHIR birthDate "1948"), never an invented
    1 January."""
    return bool(re.fullmatch(r"\d{4}", (text or "").strip()))


def card_problems(p: Problems, form: PatientForm) -> None:
    """The BHYT card's fields (number, valid from, to): at registration and when a card is renewed."""
    if form["bhyt"]:
        problems = bhyt_problems(form["bhyt"])
        if problems:
            p.add("bhyt", _bhyt_key(problems[0]))
    dates = {}
    for name in ("bhyt_from", "bhyt_to"):
        try:
            dates[name] = parse_date(form[name])
        except ValueError:
            p.add(name, "ui.err.date")
    if form["bhyt"] and not dates.get("bhyt_to") and "bhyt_to" not in p.errors:
        p.add("bhyt_to", "ui.err.required")
    if dates.get("bhyt_from") and dates.get("bhyt_to") and dates["bhyt_to"] < dates["bhyt_from"]:
        p.add("bhyt_to", "ui.err.date_order")


def check(form: PatientForm, today: date) -> tuple[Problems, date | None]:
    """The form's problems by field, and the birth date when it could be read (1 January of the year
    when only the year was given: what the CCCD and the future-date checks need)."""
    p = Problems()
    no_id = form["no_id_reason"]
    if no_id and no_id not in NO_ID_REASONS:
        p.add("no_id_reason", "ui.err.choose")
    if not form["name"] and no_id != "unknown":
        p.add("name", "ui.err.required")
    birth = None
    try:
        birth = date(int(form["birth_date"].strip()), 1, 1) if year_only(form["birth_date"]) \
            else parse_date(form["birth_date"])
    except ValueError:
        p.add("birth_date", "ui.err.date")
    if birth and birth.year < 1880:
        p.add("birth_date", "ui.err.date")
    if birth is None and "birth_date" not in p.errors and no_id != "unknown":
        p.add("birth_date", "ui.err.required")
    if birth and birth > today:
        p.add("birth_date", "ui.err.future")
    if form["gender"] not in GENDERS:
        p.add("gender", "ui.err.choose")
    if form["cccd"]:
        problems = cccd_problems(form["cccd"], birth, {"female": True, "male": False}.get(form["gender"]),
                                 today=today)
        if problems:
            p.add("cccd", _cccd_key(problems[0]))
    elif not no_id:
        p.add("cccd", "ui.err.cccd_or_reason")
    if no_id and len(form["no_id_note"]) < 3:
        p.add("no_id_note", "ui.err.no_id_note")
    if form["old_id"] and not (form["old_id"].isdigit() and len(form["old_id"]) in (9, 12)):
        p.add("old_id", "ui.err.old_id")
    card_problems(p, form)
    for name in ("phone", "contact_phone"):
        if form[name] and phone_problems(form[name]):
            p.add(name, "ui.err.phone")
    if form["province"] and form["province"] not in dict(provinces()):
        p.add("province", "ui.err.choose")
    if form["commune"] and form["commune"] not in dict(communes(form["province"])):
        p.add("commune", "ui.err.commune")
    if form["ethnicity"] and form["ethnicity"] not in dict(ethnicities()):
        p.add("ethnicity", "ui.err.choose")
    if form["occupation"] and form["occupation"] not in {c for c, _, _ in OCCUPATION_GROUPS}:
        p.add("occupation", "ui.err.choose")
    return p, birth


# --- finding patients --------------------------------------------------------------------------

def find_by_cccd(repo: Repository, cccd: str) -> str | None:
    found = repo.search_type("Patient", [("identifier", f"{CCCD_SYSTEM}|{cccd}"), ("_count", "10")])
    return next((m.res_id for m in found.matches if is_current(m.json())), None)


def search(repo: Repository, text: str, limit: int = 20) -> list[dict]:
    """Patients by CCCD (12 digits), BHYT number, phone, or name (accents optional)."""
    text = text.strip()
    digits = text.replace(" ", "")
    if digits.isdigit() and len(digits) == 12:
        items = [("identifier", f"{CCCD_SYSTEM}|{digits}")]
    elif digits.isdigit() and len(digits) in (10, 11) and digits.startswith("0"):
        items = [("phone", normalize_phone(digits))]
    elif len(digits) == 15 and digits[:2].isalpha():
        items = [("identifier", f"{BHYT_SYSTEM}|{normalize(digits)}")]
    else:
        items = [("name", text)]
    found = [m.json() for m in repo.search_type("Patient", items + [("_count", str(limit))]).matches]
    return [p for p in found if is_current(p)]


# Patients a work list's search (the lab bench, the pharmacy window) may match.
MATCHES_SOUGHT = 50


def matching_ids(repo: Repository, text: str, limit: int = MATCHES_SOUGHT) -> list[str]:
    """The ids of the patients `search` finds by `text`: a work list then shows only theirs."""
    return [p["id"] for p in search(repo, text, limit=limit)]


def duplicates(repo: Repository, form: PatientForm, birth: date | None) -> tuple[str | None, list[Duplicate]]:
    """(the patient with the same CCCD, patients with a similar name born the same day)."""
    same = find_by_cccd(repo, form["cccd"]) if form["cccd"] else None
    similar: list[Duplicate] = []
    if birth and form["name"]:
        wanted = fold(form["name"]).split()
        born = str(birth.year) if year_only(form["birth_date"]) else birth.isoformat()
        for m in repo.search_type("Patient", [("birthdate", born), ("_count", "50")]).matches:
            body = m.json()
            name = (body.get("name") or [{}])[0].get("text", "")
            words = fold(name).split()
            # Same folded name, or the same family and given name (a middle name often varies).
            if m.res_id != same and is_current(body) and words and (words == wanted or (words[0] == wanted[0] and words[-1] == wanted[-1])):
                cccd = next((i["value"] for i in body.get("identifier", []) if i.get("system") == CCCD_SYSTEM), None)
                similar.append(Duplicate(m.res_id, name, body.get("birthDate", ""), cccd))
    return same, similar


# --- building and writing ----------------------------------------------------------------------

def _split_name(text: str) -> dict:
    words = text.split()
    out: dict = {"use": "official", "text": " ".join(words)}
    if len(words) >= 2:
        out["family"] = words[0]
        out["given"] = words[1:]
    elif words:
        out["given"] = words
    return out


def patient_resource(form: PatientForm, birth: date | None, organization_id: str | None) -> dict:
    f = form
    identifiers = []
    if f["cccd"]:
        identifiers.append({"use": "official", "system": CCCD_SYSTEM, "value": f["cccd"]})
    if f["old_id"]:
        identifiers.append({"use": "old", "system": OLD_ID_SYSTEM, "value": f["old_id"]})
    if f["bhyt"] and normalize(f["bhyt"]) != f["cccd"]:
        identifiers.append({"system": BHYT_SYSTEM, "value": normalize(f["bhyt"])})
    if f["passport"]:
        identifiers.append({"system": PASSPORT_SYSTEM, "value": f["passport"]})
    ext = []
    if f["ethnicity"]:
        ext.append({"url": ETHNICITY_EXT, "valueCodeableConcept": {"coding": [
            {"system": ETHNICITY_URL, "code": f["ethnicity"], "display": dict(ethnicities())[f["ethnicity"]]}]}})
    if f["occupation"]:
        ext.append({"url": OCCUPATION_EXT, "valueCodeableConcept": {"coding": [
            {"system": OCCUPATION_URL, "code": f["occupation"],
             "display": next(vi for c, vi, _ in OCCUPATION_GROUPS if c == f["occupation"])}]}})
    if f["workplace"]:
        ext.append({"url": WORKPLACE_EXT, "valueString": f["workplace"]})
    if f["nationality"]:
        ext.append({"url": NATIONALITY_EXT, "valueString": f["nationality"]})
    if f["no_id_reason"]:
        ext.append({"url": NO_ID_EXT, "valueCodeableConcept": {
            "coding": [{"system": NO_ID_SYSTEM, "code": f["no_id_reason"]}], "text": f["no_id_note"]}})
    body: dict = {"resourceType": "Patient", "active": True}
    if ext:
        body["extension"] = ext
    if identifiers:
        body["identifier"] = identifiers
    body["name"] = [_split_name(f["name"] or "Không rõ tên")]
    if f["phone"]:
        body["telecom"] = [{"system": "phone", "value": normalize_phone(f["phone"]), "use": "mobile"}]
    body["gender"] = f["gender"]
    if birth:
        body["birthDate"] = str(birth.year) if year_only(f["birth_date"]) else birth.isoformat()
    if f["province"] or f["address_line"]:
        province, commune = _province_name(f["province"]), _commune_name(f["province"], f["commune"])
        address: dict = {"use": "home", "type": "physical",
                         "text": ", ".join(x for x in (f["address_line"], commune, province) if x)}
        if f["address_line"]:
            address["line"] = [f["address_line"]]
        if commune:
            address["city"] = commune
            address["extension"] = [{"url": ADMIN_UNIT_EXT, "valueCoding": {
                "system": WARD_URL, "code": f["commune"], "display": commune}}]
        elif f["province"]:
            address["extension"] = [{"url": ADMIN_UNIT_EXT, "valueCoding": {
                "system": PROVINCE_URL, "code": f["province"], "display": province}}]
        if province:
            address["state"] = province
        address["country"] = "VN"
        body["address"] = [address]
    if f["contact_name"] or f["contact_phone"]:
        contact: dict = {"relationship": [{"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N", "display": "Next-of-Kin"}]}]}
        if f["contact_name"]:
            contact["name"] = {"text": f["contact_name"]}
        if f["contact_phone"]:
            contact["telecom"] = [{"system": "phone", "value": normalize_phone(f["contact_phone"])}]
        body["contact"] = [contact]
    if organization_id:
        body["managingOrganization"] = ref("Organization", organization_id)
    return body


def coverage_resource(form: PatientForm, patient_id: str) -> dict:
    f = form
    number = normalize(f["bhyt"])
    period = {}
    if f["bhyt_from"]:
        period["start"] = parse_date(f["bhyt_from"]).isoformat()      # type: ignore[union-attr]
    if f["bhyt_to"]:
        period["end"] = parse_date(f["bhyt_to"]).isoformat()          # type: ignore[union-attr]
    body = {"resourceType": "Coverage", "status": "active",
            "identifier": [{"system": BHYT_SYSTEM, "value": number}],
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PUBLICPOL",
                                 "display": "public healthcare"}], "text": "BHYT"},
            "subscriberId": number, "beneficiary": ref("Patient", patient_id),
            "payor": [{"display": "Bảo hiểm xã hội Việt Nam"}]}
    if period:
        body["period"] = period
    if f["bhyt_place"]:
        body["extension"] = [{"url": REGISTERED_FACILITY_EXT, "valueString": f["bhyt_place"]}]
    return body


@dataclass
class Registered:
    patient_id: str
    coverage_id: str | None


def register(repo: Repository, form: PatientForm, actor: Actor, today: date,
             organization_id: str | None) -> Registered:
    """Check the form, refuse a duplicate CCCD, ask for confirmation when a similar patient
    exists (FormInvalid with 'confirm_new'), then write Patient (+ Coverage) in one transaction."""
    problems, birth = check(form, today)
    problems.raise_if_any()
    same, similar = duplicates(repo, form, birth)
    if same:
        problems.add("cccd", "ui.err.duplicate_cccd", patient=same)
    elif similar and form["confirm_new"] != "yes":
        problems.add("confirm_new", "ui.err.similar_patient", count=len(similar))
    problems.raise_if_any()
    patient_id = str(uuid.uuid4())
    pending = [repo.prepare("POST", "Patient", patient_id, stamp(patient_resource(form, birth, organization_id), actor),
                            create_only=True)]
    coverage_id = None
    if form["bhyt"]:
        coverage_id = str(uuid.uuid4())
        pending.append(repo.prepare("POST", "Coverage", coverage_id, stamp(coverage_resource(form, patient_id), actor),
                                    create_only=True))
    repo.commit(pending, "transaction")
    return Registered(patient_id, coverage_id)
