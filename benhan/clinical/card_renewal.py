"""A registered patient's BHYT card renewed or replaced at the desk.

Most cards are valid for a year at a time and a patient comes back with the new one (or a new number:
a 10-digit BHXH code after the old 15-character card, a new benefit group). Without this the desk could
only register new patients: the bill of a returning patient then read the expired card ("card not
valid on the date") and the claim was refused. The new card is a new `Coverage` (the old ones stay as
the record of what was valid when); the bill and the claim take the active one whose validity starts
latest (billing.coverage.card_of). The Patient's BHYT identifier, which the desk's search finds, follows
the new number. Both in one transaction, the Patient written against the version read.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical.common import Problems, stamp
from benhan.clinical.registration import REGISTERED_FACILITY_EXT, PatientForm, card_problems, coverage_resource
from benhan.store.repository import Repository
from benhan.vn.bhyt import normalize
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM

CARD_FIELDS = ("bhyt", "bhyt_from", "bhyt_to", "bhyt_place")


@dataclass(frozen=True)
class CurrentCard:
    coverage_id: str
    number: str
    valid_from: str        # ISO dates as recorded ('' when not)
    valid_to: str
    place: str


def _number(coverage: dict) -> str:
    return next((i.get("value", "") for i in coverage.get("identifier", []) if i.get("system") == BHYT_SYSTEM), "")


def _card(coverage: dict) -> CurrentCard:
    period = coverage.get("period") or {}
    place = next((e.get("valueString", "") for e in coverage.get("extension", [])
                  if e.get("url") == REGISTERED_FACILITY_EXT), "")
    return CurrentCard(coverage["id"], _number(coverage), period.get("start", ""), period.get("end", ""), place)


def in_use(coverages: list[dict]) -> dict | None:
    """Of a patient's Coverages, the BHYT card the bill and the claim use (billing.coverage.card_of)
    and the patient page shows: the active one whose validity starts latest, and of two starting the
    same day the one recorded last (a card whose end date was corrected)."""
    cards = [c for c in coverages if c.get("status") == "active" and _number(c)]
    return max(cards, key=lambda c: ((c.get("period") or {}).get("start", ""),
                                     (c.get("meta") or {}).get("lastUpdated", "")), default=None)


def current(repo: Repository, patient_id: str) -> CurrentCard | None:
    """The card in use (in_use), as the patient page shows it."""
    card = in_use([m.json() for m in repo.search_all("Coverage", [("beneficiary", f"Patient/{patient_id}"),
                                                                  ("status", "active")])])
    return _card(card) if card is not None else None


def record(repo: Repository, actor: Actor, patient_id: str, values: dict[str, str]) -> str:
    """Record the card the patient shows; the Coverage id (the current one's when it is the same
    card with the same validity: nothing is written twice). Refused (FormInvalid, by field) without a
    number or an end of validity, with a number that is not a BHYT card, or dates out of order."""
    form = PatientForm.from_mapping({k: values.get(k, "") for k in CARD_FIELDS})
    p = Problems()
    if not form["bhyt"]:
        p.add("bhyt", "ui.err.required")
    card_problems(p, form)
    p.raise_if_any()
    read = repo.read("Patient", patient_id)
    patient = read.json()
    new = coverage_resource(form, patient_id)
    number = normalize(form["bhyt"])
    now = current(repo, patient_id)
    if now is not None and (now.number, now.valid_from, now.valid_to, now.place) == (
            number, (new.get("period") or {}).get("start", ""), (new.get("period") or {}).get("end", ""),
            form["bhyt_place"]):
        return now.coverage_id
    coverage_id = str(uuid.uuid4())
    pending = [repo.prepare("POST", "Coverage", coverage_id, stamp(new, actor), create_only=True)]
    cccd = next((i.get("value") for i in patient.get("identifier", []) if i.get("system") == CCCD_SYSTEM), None)
    held = [i for i in patient.get("identifier", []) if i.get("system") == BHYT_SYSTEM]
    # A card numbered by the CCCD itself (the 12-digit form) needs no identifier of its own, as at registration.
    wanted = [] if number == cccd else [{"system": BHYT_SYSTEM, "value": number}]
    if [i.get("value") for i in held] != [i["value"] for i in wanted]:
        patient["identifier"] = [i for i in patient.get("identifier", []) if i.get("system") != BHYT_SYSTEM] + wanted
        if not patient["identifier"]:
            del patient["identifier"]
        pending.append(repo.prepare("PUT", "Patient", patient_id, stamp(patient, actor), if_match=read.version))
    repo.commit(pending, "transaction")
    return coverage_id
