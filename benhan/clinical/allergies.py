"""Allergies (AllergyIntolerance) and the check a prescription runs against them.

The substance is usually written as free text at a commune station ("Penicillin", "hải sản"); the
check therefore compares folded words: an allergy to "amoxicilin" or "penicillin" matches a drug
whose name holds that word, and the well-known cross-reactive family (penicillins) is recognised by
a short list of its members. A match is a warning the prescriber must confirm, never a silent block.
"""
from __future__ import annotations

import uuid

from benhan.auth.actor import Actor
from benhan.clinical.common import Problems, now, ref, stamp
from benhan.fhir.text import fold
from benhan.store.repository import Repository

CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CATEGORIES = ("medication", "food", "environment", "biologic")
CRITICALITIES = ("low", "high", "unable-to-assess")
# Members of a family an allergy to the family's name also covers (beta-lactam penicillins, sulfonamides).
FAMILIES = {"penicillin": ("amoxicilin", "amoxicillin", "ampicilin", "ampicillin", "cloxacilin", "oxacilin",
                           "penicilin", "penicillin"),
            "sulfamid": ("sulfamethoxazol", "cotrimoxazol", "sulfadiazin"),
            "nsaid": ("ibuprofen", "diclofenac", "meloxicam", "aspirin", "naproxen", "piroxicam")}


def add(repo: Repository, actor: Actor, patient_id: str, encounter_id: str | None, substance: str, category: str,
        criticality: str, reaction: str, tz: str = "+07:00") -> str:
    p = Problems()
    if len(substance.strip()) < 2:
        p.add("allergy_substance", "ui.err.required")
    if category not in CATEGORIES:
        p.add("allergy_category", "ui.err.choose")
    if criticality not in CRITICALITIES:
        p.add("allergy_criticality", "ui.err.choose")
    p.raise_if_any()
    body: dict = {"resourceType": "AllergyIntolerance",
                  "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
                  "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
                  "category": [category], "criticality": criticality,
                  "code": {"text": substance.strip()}, "patient": ref("Patient", patient_id),
                  "recordedDate": now(tz).isoformat(), "recorder": {"display": actor.display or actor.name}}
    if encounter_id:
        body["encounter"] = ref("Encounter", encounter_id)
    if reaction.strip():
        body["reaction"] = [{"manifestation": [{"text": reaction.strip()}]}]
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "AllergyIntolerance", rid, stamp(body, actor), create_only=True)], "create")
    return rid


def active(allergies: list[dict]) -> list[dict]:
    def code(a: dict, part: str) -> str:
        return (a.get(part, {}).get("coding") or [{}])[0].get("code", "")
    return [a for a in allergies if code(a, "verificationStatus") not in ("entered-in-error", "refuted")
            and code(a, "clinicalStatus") in ("active", "")]


def substance(a: dict) -> str:
    return a.get("code", {}).get("text") or (a.get("code", {}).get("coding") or [{}])[0].get("display", "")


def conflicts(allergies: list[dict], drug_name: str) -> list[str]:
    """The allergies (their substance text) a drug may trigger."""
    drug_words = set(fold(drug_name).replace(",", " ").split())
    hits = []
    for a in active(allergies):
        words = fold(substance(a)).split()
        members = set()
        for w in words:
            for family, names in FAMILIES.items():
                if w.startswith(family[:7]):
                    members.update(names)
        if any(len(w) >= 4 and any(d.startswith(w) or w.startswith(d) for d in drug_words if len(d) >= 4)
               for w in words) or members & drug_words:
            hits.append(substance(a))
    return hits
