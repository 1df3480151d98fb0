"""Admission to the ward: how the patient came in (01/BV1 items 13, 14, 20, 21), recorded by the
doctor on the inpatient visit, never guessed.

Where each value lives (docs/fhir-api.md, "Where 01/BV1 takes its values"):
- item 13 "Trực tiếp vào" (cấp cứu / khoa khám bệnh / khoa điều trị): Encounter.hospitalization.admitSource,
  coded in benhan's code system `admit-route` (HL7's admit-source has no "khoa khám bệnh");
- item 14 "Nơi giới thiệu" (cơ quan y tế / tự đến / khác): an extension `referral-source` on
  Encounter.hospitalization; the referring facility itself is hospitalization.origin, a reference
  by identifier (its MA_CSKCB, when known) and display name: it is usually not a resource we hold;
- item 20 the referring facility's diagnosis and item 21 the diagnosis of the emergency room / outpatient
  department: extensions `referral-diagnosis` and `admission-department-diagnosis` on
  hospitalization (valueCodeableConcept: an ICD-10 coding when a code was given, and the words).
  They are other teams' diagnoses, not this ward's Conditions, so they are kept beside the admission.
The admitting department (item 15) is the first of Encounter.location (clinical.transfers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from benhan.auth.actor import Actor
from benhan.clinical import diagnoses
from benhan.clinical.common import BENHAN, ICD10, Problems, stamp, zone
from benhan.clinical.dx_ranking import CodeListMissing
from benhan.store.repository import Repository

MA_CSKCB_SYSTEM = "https://benhan.vn/sid/ma-cskcb"
ROUTE_SYSTEM = f"{BENHAN}/CodeSystem/admit-route"
ROUTES = {"cap-cuu": ("Cấp cứu", "Emergency room"), "kkb": ("Khoa khám bệnh", "Outpatient department"),
          "khoa-dieu-tri": ("Khoa điều trị", "Treating department")}
SOURCE_EXT = f"{BENHAN}/StructureDefinition/referral-source"
SOURCE_SYSTEM = f"{BENHAN}/CodeSystem/referral-source"
SOURCES = {"co-quan-y-te": ("Cơ quan y tế", "Health facility"), "tu-den": ("Tự đến", "Self-referred"),
           "khac": ("Khác", "Other")}
REFERRAL_DX_EXT = f"{BENHAN}/StructureDefinition/referral-diagnosis"
ADMISSION_DX_EXT = f"{BENHAN}/StructureDefinition/admission-department-diagnosis"
FIELDS = ("adm_route", "adm_source", "adm_origin_name", "adm_origin_code", "adm_referral_dx_code",
          "adm_referral_dx_text", "adm_kkb_dx_code", "adm_kkb_dx_text")
_MA_CSKCB = re.compile(r"\d{5}")


@dataclass(frozen=True)
class Admission:
    route: str              # code of ROUTES, or ""
    source: str             # code of SOURCES, or ""
    origin_name: str
    origin_code: str
    referral_dx: str        # "words (code)" as printed
    kkb_dx: str

    def values(self, hospitalization: dict) -> dict[str, str]:
        """The form's values as stored (to show them again in the form)."""
        out = {"adm_route": self.route, "adm_source": self.source, "adm_origin_name": self.origin_name,
               "adm_origin_code": self.origin_code}
        for key, url in (("referral_dx", REFERRAL_DX_EXT), ("kkb_dx", ADMISSION_DX_EXT)):
            cc = _ext(hospitalization, url).get("valueCodeableConcept") or {}
            out[f"adm_{key}_code"] = (cc.get("coding") or [{}])[0].get("code", "")
            out[f"adm_{key}_text"] = cc.get("text", "")
        return out


def _ext(element: dict, url: str) -> dict:
    return next((e for e in element.get("extension", []) if e.get("url") == url), {})


def dx_text(cc: dict | None) -> str:
    """A diagnosis as printed: 'words (code)', or either alone."""
    cc = cc or {}
    code = (cc.get("coding") or [{}])[0].get("code", "")
    words = cc.get("text") or (cc.get("coding") or [{}])[0].get("display", "")
    return f"{words} ({code})" if words and code else words or code


def of(encounter: dict) -> Admission:
    """What was recorded about the admission ("" for each value nobody gave)."""
    h = encounter.get("hospitalization") or {}
    route = next((c.get("code", "") for c in (h.get("admitSource") or {}).get("coding", [])
                  if c.get("system") == ROUTE_SYSTEM), "")
    source = (_ext(h, SOURCE_EXT).get("valueCoding") or {}).get("code", "")
    origin = h.get("origin") or {}
    return Admission(route, source, origin.get("display", ""), (origin.get("identifier") or {}).get("value", ""),
                     dx_text(_ext(h, REFERRAL_DX_EXT).get("valueCodeableConcept")),
                     dx_text(_ext(h, ADMISSION_DX_EXT).get("valueCodeableConcept")))


def coded_dx(repo: Repository, p: Problems, field: str, code: str, text: str) -> dict | None:
    """A diagnosis typed as an ICD-10 code and/or words: the code must be in the list (its name is
    taken from it when no words were given); None when both are empty."""
    code, text = (code or "").split(" ")[0].strip(), (text or "").strip()
    if not code:
        return {"text": text} if text else None
    try:
        found = diagnoses.lookup(repo, code)
    except CodeListMissing as exc:
        p.errors.setdefault(field, exc.errors["dx_query"])
        return None
    if found is None:
        p.add(field, "ui.err.dx_unknown", code=code)
        return None
    return {"coding": [{"system": ICD10, "code": found.code, "display": found.display}], "text": text or found.display}


def parse_datetime(text: str, tz: str = "+07:00") -> datetime | None:
    """'dd/mm/yyyy hh:mm' (how it is written here) or 'yyyy-mm-ddThh:mm' (<input type=datetime-local>);
    '' is None. Raises ValueError for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})", text)
    if m:
        y, mo, d, h, mi = (int(x) for x in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})\s+(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text) or None
        if m:
            h, mi, d, mo, y = (int(x) for x in m.groups())
        else:
            m = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s+(\d{1,2})[:h](\d{2})", text)
            if not m:
                raise ValueError(text)
            d, mo, y, h, mi = (int(x) for x in m.groups())
    return datetime(y, mo, d, h, mi, tzinfo=zone(tz))


def record(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str]) -> None:
    """Save the admission's route, referring source and facility, and the two earlier diagnoses.
    An empty field stays empty (and is removed if it held something): nothing is filled in for
    the doctor."""
    p = Problems()
    if encounter.get("class", {}).get("code") != "IMP":
        p.add("adm_route", "ui.adm.err.not_inpatient")
    route, source = (values.get("adm_route") or "").strip(), (values.get("adm_source") or "").strip()
    if route and route not in ROUTES:
        p.add("adm_route", "ui.err.choose")
    if source and source not in SOURCES:
        p.add("adm_source", "ui.err.choose")
    name = (values.get("adm_origin_name") or "").strip()
    code = (values.get("adm_origin_code") or "").strip()
    if code and not _MA_CSKCB.fullmatch(code):
        p.add("adm_origin_code", "ui.adm.err.ma_cskcb")
    if source == "co-quan-y-te" and not name:
        p.add("adm_origin_name", "ui.err.required")
    if source != "co-quan-y-te" and (name or code):
        p.add("adm_origin_name", "ui.adm.err.origin_only_facility")
    referral = coded_dx(repo, p, "adm_referral_dx_code", values.get("adm_referral_dx_code", ""),
                        values.get("adm_referral_dx_text", ""))
    kkb = coded_dx(repo, p, "adm_kkb_dx_code", values.get("adm_kkb_dx_code", ""), values.get("adm_kkb_dx_text", ""))
    p.raise_if_any()
    enc = {k: v for k, v in encounter.items() if k != "meta"}
    h = dict(enc.get("hospitalization") or {})
    for key in ("admitSource", "origin"):
        h.pop(key, None)
    ext = [e for e in h.get("extension", []) if e.get("url") not in (SOURCE_EXT, REFERRAL_DX_EXT, ADMISSION_DX_EXT)]
    if route:
        h["admitSource"] = {"coding": [{"system": ROUTE_SYSTEM, "code": route, "display": ROUTES[route][0]}],
                            "text": ROUTES[route][0]}
    if source:
        ext.append({"url": SOURCE_EXT, "valueCoding": {"system": SOURCE_SYSTEM, "code": source,
                                                      "display": SOURCES[source][0]}})
    if name:
        h["origin"] = {"display": name, **({"identifier": {"system": MA_CSKCB_SYSTEM, "value": code}} if code else {})}
    if referral:
        ext.append({"url": REFERRAL_DX_EXT, "valueCodeableConcept": referral})
    if kkb:
        ext.append({"url": ADMISSION_DX_EXT, "valueCodeableConcept": kkb})
    if ext:
        h["extension"] = ext
    else:
        h.pop("extension", None)
    if h:
        enc["hospitalization"] = h
    else:
        enc.pop("hospitalization", None)
    version = int(encounter.get("meta", {}).get("versionId", "0")) or None
    repo.update("Encounter", enc["id"], stamp(enc, actor), if_match=version)
