"""Allergies (AllergyIntolerance) and the check a prescription runs against them.

An allergy is recorded against a substance **from a list** where it can be — an active ingredient
(the curated ATC table, benhan.clinical.atc, and the ingredients of the facility's drug catalogue)
or a drug class (penicillins, cephalosporins, sulfonamides, NSAIDs … by ATC prefix) — and is then
coded: `code.coding` holds the ingredient's or class's code (WHO ATC where there is one, benhan's
`allergy-substance` code system otherwise). Typing the name of a listed substance, with or without
accents, codes it; anything else ("hải sản", a brand name the list does not know) stays free text.

The check compares a drug's coded active ingredients (their ATC codes and names, from the
catalogue's Medication) with a coded allergy: an allergy to a class warns for every drug with an
ingredient whose ATC code falls under the class; an allergy to an ingredient warns for every drug
holding it, whatever the brand name. A free-text allergy can only be compared **by name** (its
words against the drug's name and ingredient names, or the listed substance its text names): the
warning says so. A match is a warning the prescriber must confirm, never a silent block.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from benhan.auth.actor import Actor
from benhan.clinical import atc
from benhan.clinical.common import Problems, now, ref, stamp
from benhan.fhir.text import fold
from benhan.store.repository import Repository

CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CATEGORIES = ("medication", "food", "environment", "biologic")
CRITICALITIES = ("low", "high", "unable-to-assess")
# Words of a drug or salt name that say nothing of the substance ("acid" clavulanic, "natri" clorid):
# a free-text allergy is not matched on them.
GENERIC_WORDS = frozenset({"acid", "thuoc", "nhom", "vien", "natri", "kali", "calci", "magnesi", "muoi",
                           "hydroclorid", "hydrochlorid", "sulfat", "kem", "siro", "tiem", "uong"})


@dataclass(frozen=True)
class DrugFacts:
    """What the checks know of a drug: its name and its active ingredients (names and ATC codes)."""
    name: str
    ingredients: tuple[str, ...] = ()       # folded names
    atc: tuple[str, ...] = ()               # level-5 codes (or whatever level the data has)
    codes: tuple[str, ...] = field(default=())   # MA_THUOC: the insurer's active-ingredient code


@dataclass(frozen=True)
class Hit:
    allergy: str        # the substance as recorded
    coded: bool         # True: matched on coded data; False: by name (free-text allergy)


def choices(extra_ingredients: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The listed substances an allergy can be coded to: the classes, then the ingredients (the
    curated ones and those of the facility's catalogue), by name."""
    names = {fold(i.name): i.name for i in atc.INGREDIENTS}
    for name in extra_ingredients:
        names.setdefault(fold(name), name)
    return [c.name for c in atc.CLASSES] + sorted(names.values(), key=fold)


def coding_for(substance: str, catalogue_ingredients: list[str] | tuple[str, ...] = ()) -> list[dict]:
    """The coding of a listed substance (the class or ingredient its name denotes), [] for free text."""
    found = atc.substance(substance)
    if isinstance(found, atc.DrugClass):
        out = [{"system": atc.SUBSTANCE, "code": found.code, "display": found.name}]
        if found.atc:
            out.append({"system": atc.ATC, "code": found.atc})
        return out
    if isinstance(found, atc.Ingredient):
        out = [{"system": atc.SUBSTANCE, "code": "ingredient:" + fold(found.name), "display": found.name}]
        if found.atc:
            out.append({"system": atc.ATC, "code": found.atc[0], "display": found.name})
        return out
    known = {fold(n): n for n in catalogue_ingredients}
    if fold(substance) in known:
        name = known[fold(substance)]
        return [{"system": atc.SUBSTANCE, "code": "ingredient:" + fold(name), "display": name}]
    return []


def substance_code(substance: str, category: str, catalogue_ingredients: list[str] | tuple[str, ...] = ()) -> dict:
    """AllergyIntolerance.code: coded when a drug allergy names a listed ingredient or class, else
    the text as typed (checked by name only)."""
    coding = coding_for(substance, catalogue_ingredients) if category == "medication" else []
    return {"coding": coding, "text": coding[0]["display"]} if coding else {"text": substance.strip()}


def add(repo: Repository, actor: Actor, patient_id: str, encounter_id: str | None, substance: str, category: str,
        criticality: str, reaction: str, tz: str = "+07:00",
        catalogue_ingredients: list[str] | tuple[str, ...] = ()) -> str:
    p = Problems()
    if len(substance.strip()) < 2:
        p.add("allergy_substance", "ui.err.required")
    if category not in CATEGORIES:
        p.add("allergy_category", "ui.err.choose")
    if criticality not in CRITICALITIES:
        p.add("allergy_criticality", "ui.err.choose")
    p.raise_if_any()
    code = substance_code(substance, category, catalogue_ingredients)
    body: dict = {"resourceType": "AllergyIntolerance",
                  "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
                  "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
                  "category": [category], "criticality": criticality,
                  "code": code, "patient": ref("Patient", patient_id),
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


def is_coded(a: dict) -> bool:
    return any(c.get("system") in (atc.SUBSTANCE, atc.ATC) for c in a.get("code", {}).get("coding", []))


def _covers(codings: list[dict], drug: DrugFacts) -> bool:
    """Whether a coded substance (class or ingredient) covers one of the drug's ingredients."""
    for c in codings:
        system, code = c.get("system"), c.get("code", "")
        if system == atc.SUBSTANCE and code in atc.CLASS_BY_CODE:
            if any(atc.under(x, atc.CLASS_BY_CODE[code].prefixes) for x in drug.atc):
                return True
        elif system == atc.SUBSTANCE and code.startswith("ingredient:"):
            name = code.removeprefix("ingredient:")
            if name in drug.ingredients:
                return True
            listed = atc.ingredient(name)
            if listed and set(listed.atc) & set(drug.atc):
                return True
        elif system == atc.ATC and code:
            if any(x.upper() == code.upper() or (len(code) < 7 and x.upper().startswith(code.upper()))
                   for x in drug.atc):
                return True
    return False


def _by_name(text: str, drug: DrugFacts) -> bool:
    """A free-text allergy against the drug's name and ingredient names (folded words; a word of
    4+ letters matches the start of another), or — when its text names a listed substance — that
    substance's codes against the drug's ingredients."""
    listed = atc.substance(text)
    if listed is not None and _covers(coding_for(text), drug):
        return True
    drug_words = set(fold(drug.name).replace(",", " ").replace("+", " ").split())
    for ingredient in drug.ingredients:
        drug_words.update(ingredient.split())
    words = [w for w in fold(text).replace("(", " ").replace(")", " ").split() if w not in GENERIC_WORDS]
    drug_words -= GENERIC_WORDS
    return any(len(w) >= 4 and any(d.startswith(w) or w.startswith(d) for d in drug_words if len(d) >= 4)
               for w in words)


def facts(name: str) -> DrugFacts:
    """A drug known only by its name: its ingredient is guessed from the curated table when the
    name's first word is a listed ingredient ('Amoxicilin 500mg')."""
    first = fold(name).split()[0] if name.strip() else ""
    listed = atc.ingredient(first) if first else None
    return DrugFacts(name, (fold(listed.name),) if listed else (), listed.atc if listed else ())


def conflicts(allergies: list[dict], drug: DrugFacts | str) -> list[Hit]:
    """The allergies a drug may trigger, each saying whether it matched coded data or only by name."""
    if isinstance(drug, str):
        drug = facts(drug)
    hits = []
    for a in active(allergies):
        if is_coded(a) and (drug.ingredients or drug.atc):
            if _covers(a.get("code", {}).get("coding", []), drug):
                hits.append(Hit(substance(a), True))
        elif _by_name(substance(a), drug):      # free text, or a drug whose ingredients are unknown
            hits.append(Hit(substance(a), False))
    return hits
