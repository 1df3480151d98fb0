"""Diagnoses by ICD-10 (the loaded TT 06/2026 list, vietnam.md §1.2): found by typing Vietnamese or
English words with or without accents, or the code ("viem phoi", "pneumonia", "J18"), ranked the way
clinicians mean them (clinical.dx_ranking: the typed code, then whole-word matches, then the codes
this facility uses most); recorded as a Condition of the visit and listed on the Encounter with its
rank (1 = main disease, 2+ = comorbidities) and role (AD: on admission or at the exam, DD: at discharge).

Nothing is chosen for the clinician: the form must name a code, and the code is checked against
the patient and its use (TT 06/2026 annex flags): a code for the other sex, or a code not to be used
as the main diagnosis (asterisk manifestation codes, external causes …) given as the main one, is a
warning to override with a reason (clinical.overrides), never a silent save.

A diagnosis cancelled as entered in error stays on the Encounter's list (its history matters) but
is no longer a diagnosis: it is neither main nor comorbidity anywhere it is shown or printed.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical import dx_ranking, overrides
from benhan.clinical.common import ICD10, Problems, now, ref, stamp
from benhan.clinical.dx_ranking import Ranked
from benhan.store.repository import Repository

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
ROLES = ("AD", "DD")


Code = Ranked


def search(repo: Repository, text: str, lang: str = "vi", count: int = 40) -> list[Ranked]:
    """The best matches first (dx_ranking); CodeListMissing when ICD-10 is not loaded."""
    return dx_ranking.rank(repo, text, lang, count)


def lookup(repo: Repository, code: str) -> Ranked | None:
    """The code as the list has it (an exact match of the code), or None."""
    wanted = code.replace(".", "").upper().strip()
    if not wanted:
        return None
    hits = search(repo, code, count=5)
    return next((h for h in hits if h.code.replace(".", "").upper() == wanted), None)


def chosen(repo: Repository, code: str) -> list[Ranked]:
    """The code the clinician chose, to show it chosen again when the form comes back (warnings to
    confirm, a field to fix): kept, never guessed."""
    try:
        found = lookup(repo, code) if code else None
    except dx_ranking.CodeListMissing:
        return []
    return [found] if found else []


def warnings_for(found: Ranked, gender: str | None, main: bool) -> list[overrides.Warning]:
    """What the TT 06 flags say against recording `found` for this patient, as this rank."""
    out: list[overrides.Warning] = []
    label = f"{found.code} {found.display}".strip()
    if gender == "male" and "female_only_or_mainly" in found.flags:
        out.append(("ui.warn.dx_female_only", {"code": label}))
    if gender == "female" and "male_only_or_mainly" in found.flags:
        out.append(("ui.warn.dx_male_only", {"code": label}))
    if main and found.flags & {"not_primary", "cause_of_death_only"}:
        out.append(("ui.warn.dx_not_primary", {"code": label}))
    elif main and "primary_discouraged" in found.flags:
        out.append(("ui.warn.dx_primary_discouraged", {"code": label}))
    return out


def add(repo: Repository, actor: Actor, encounter: dict, code_text: str, rank_kind: str, role: str,
        note: str = "", tz: str = "+07:00", patient: dict | None = None, confirm: dict | None = None) -> str:
    """Record a diagnosis: `code_text` is the code the clinician chose in the list (nothing is
    chosen for them). Warnings about the patient's sex or the code's use as the main diagnosis are
    overridden by `confirm` (the form: confirm_warnings + override_reason). Condition and the
    Encounter's diagnosis list are written in one transaction."""
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
    warned = warnings_for(found, (patient or {}).get("gender"), rank_kind == "main")
    reason = overrides.confirm(confirm or {}, warned)
    subject = encounter["subject"]
    cid = str(uuid.uuid4())
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": ICD10, "code": found.code, "display": found.display}], "text": found.display},
        "subject": subject, "encounter": ref("Encounter", encounter["id"]), "recordedDate": now(tz).isoformat(),
        "recorder": {"display": actor.display or actor.name},
    }
    if note.strip():
        condition["note"] = [{"text": note.strip()}]
    overrides.record(condition, warned, reason)
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

    @property
    def kind(self) -> str:
        """main, secondary (bệnh kèm theo) or cancelled — a cancelled entry is neither of the others."""
        return "cancelled" if self.cancelled else "main" if self.rank == 1 else "secondary"


# Verification statuses that mean "not a diagnosis of this patient" (R4 condition-ver-status).
NOT_A_DIAGNOSIS = {"entered-in-error", "refuted"}


def listed(encounter: dict, conditions: dict[str, dict]) -> list[Listed]:
    """The visit's diagnoses in rank order, per role, with their codes."""
    out = []
    for d in encounter.get("diagnosis", []):
        cid = d.get("condition", {}).get("reference", "/").split("/")[-1]
        c = conditions.get(cid, {})
        coding = (c.get("code", {}).get("coding") or [{}])[0]
        status = (c.get("verificationStatus", {}).get("coding") or [{}])[0].get("code")
        out.append(Listed(cid, coding.get("code", ""), coding.get("display", d.get("condition", {}).get("display", "")),
                          d.get("rank", 1), _role(d), status in NOT_A_DIAGNOSIS))
    return sorted(out, key=lambda x: (x.role, x.cancelled, x.rank))


def has_main(items: list[Listed], role: str) -> bool:
    return any(d.kind == "main" and d.role == role for d in items)


def text_of(items: list[Listed], role: str, main: bool) -> str:
    chosen = [d for d in items if d.role == role and d.kind == ("main" if main else "secondary")]
    return "; ".join(f"{d.display} ({d.code})" for d in chosen)
