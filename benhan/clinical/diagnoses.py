"""Diagnoses by ICD-10 (the loaded TT 06/2026 list, vietnam.md §1.2): found by typing Vietnamese or
English words with or without accents, or the code ("viem phoi", "pneumonia", "J18"), through the
terminology service's $expand (the same the API's type-ahead uses); recorded as a Condition of the
visit and listed on the Encounter with its rank (1 = main disease, 2+ = comorbidities) and role
(AD: on admission or at the exam, DD: at discharge).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical.common import ICD10, ICD10_VS, Problems, now, ref, stamp
from benhan.store.repository import Repository
from benhan.terminology import operations
from benhan.terminology.params import Param

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
ROLES = ("AD", "DD")


@dataclass(frozen=True)
class Code:
    code: str
    display: str


def search(repo: Repository, text: str, lang: str = "vi", count: int = 40) -> list[Code]:
    text = text.strip()
    if len(text) < 2:
        return []
    params = [Param("url", ICD10_VS), Param("filter", text), Param("count", str(count))]
    if lang == "en":
        params.append(Param("displayLanguage", "en"))
    expansion = operations.expand(repo, params)
    return [Code(c["code"], c.get("display", "")) for c in expansion.get("expansion", {}).get("contains", [])]


def lookup(repo: Repository, code: str) -> Code | None:
    """The code as the list has it (an exact match of the code), or None."""
    hits = search(repo, code, count=5)
    return next((h for h in hits if h.code.replace(".", "").upper() == code.replace(".", "").upper().strip()), None)


def add(repo: Repository, actor: Actor, encounter: dict, code_text: str, rank_kind: str, role: str,
        note: str = "", tz: str = "+07:00") -> str:
    """Record a diagnosis: `code_text` is the code (what the type-ahead or the fallback list put
    in the form). Condition and the Encounter's diagnosis list are written in one transaction."""
    p = Problems()
    code = (code_text or "").split(" ")[0].strip()
    found = lookup(repo, code) if code else None
    if not code:
        p.add("dx_code", "ui.err.dx_required")
    elif found is None:
        p.add("dx_code", "ui.err.dx_unknown", code=code)
    if rank_kind not in ("main", "secondary"):
        p.add("dx_rank", "ui.err.choose")
    if role not in ROLES:
        p.add("dx_role", "ui.err.choose")
    p.raise_if_any()
    assert found is not None
    patient = encounter["subject"]
    cid = str(uuid.uuid4())
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": ICD10, "code": found.code, "display": found.display}], "text": found.display},
        "subject": patient, "encounter": ref("Encounter", encounter["id"]), "recordedDate": now(tz).isoformat(),
        "recorder": {"display": actor.display or actor.name},
    }
    if note.strip():
        condition["note"] = [{"text": note.strip()}]
    enc = {k: v for k, v in encounter.items() if k != "meta"}
    listed = [d for d in enc.get("diagnosis", [])]
    same_role = [d for d in listed if _role(d) == role]
    if rank_kind == "main":
        # The new main disease takes rank 1; the former main one becomes a comorbidity.
        for d in same_role:
            if d.get("rank") == 1:
                d["rank"] = 2
        rank = 1
    else:
        rank = max([d.get("rank", 1) for d in same_role] + [1]) + 1
    listed.append({"condition": ref("Condition", cid, found.display),
                   "use": {"coding": [{"system": ROLE, "code": role}]}, "rank": rank})
    enc["diagnosis"] = listed
    if enc.get("status") in ("arrived", "planned", "triaged"):
        enc["status"] = "in-progress"
    version = int(encounter.get("meta", {}).get("versionId", "0")) or None
    repo.commit([repo.prepare("POST", "Condition", cid, stamp(condition, actor), create_only=True),
                 repo.prepare("PUT", "Encounter", enc["id"], stamp(enc, actor), if_match=version)], "transaction")
    return cid


def _role(entry: dict) -> str:
    return (entry.get("use", {}).get("coding") or [{}])[0].get("code", "AD")


@dataclass
class Listed:
    condition_id: str
    code: str
    display: str
    rank: int
    role: str
    cancelled: bool


def listed(encounter: dict, conditions: dict[str, dict]) -> list[Listed]:
    """The visit's diagnoses in rank order, per role, with their codes."""
    out = []
    for d in encounter.get("diagnosis", []):
        cid = d.get("condition", {}).get("reference", "/").split("/")[-1]
        c = conditions.get(cid, {})
        coding = (c.get("code", {}).get("coding") or [{}])[0]
        status = (c.get("verificationStatus", {}).get("coding") or [{}])[0].get("code")
        out.append(Listed(cid, coding.get("code", ""), coding.get("display", d.get("condition", {}).get("display", "")),
                          d.get("rank", 1), _role(d), status == "entered-in-error"))
    return sorted(out, key=lambda x: (x.role, x.cancelled, x.rank))


def text_of(items: list[Listed], role: str, main: bool) -> str:
    chosen = [d for d in items if d.role == role and not d.cancelled and ((d.rank == 1) == main)]
    return "; ".join(f"{d.display} ({d.code})" for d in chosen)
