"""Consent (FHIR R4 Consent) to sharing a patient's record outside this facility.

The personal-data law (NĐ 13/2023, Law on Personal Data Protection 2025 — ../shared/vietnam.md §1.6)
lets a patient refuse that their health data leave the facility. That choice is a Consent resource
(scope patient-privacy, provision deny, action disclose), with its evidence: when (dateTime), who
took it (verification.verifiedWith, and the audit trail's agent of the write), how (the method
extension: written form, verbal, electronic) and the signed form if any (sourceAttachment). The
sharing paths (sync to the hub, on-demand fetch by another facility) call may_leave_facility().
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from benhan import errors
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.store import Store

METHOD_URL = "https://benhan.vn/fhir/StructureDefinition/consent-method"
METHODS = ("written", "verbal", "electronic")
SCOPE = {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}
DISCLOSE = {"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "disclose"}
OPT_OUT = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}


def do_not_share(patient_id: str, *, method: str, verified_by: str | None = None,
                 facility: str | None = None, form: dict[str, Any] | None = None,
                 when: datetime | None = None) -> dict:
    """The Consent resource recording "do not share outside this facility"."""
    if method not in METHODS:
        raise errors.InvalidUserSetting(f"consent method {method!r}: one of {', '.join(METHODS)}")
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is None:       # FHIR wants a zone on a dateTime with a time
        when = when.replace(tzinfo=timezone.utc)
    stamp = when.isoformat(timespec="seconds")
    consent: dict[str, Any] = {
        "resourceType": "Consent", "status": "active",
        "extension": [{"url": METHOD_URL, "valueCode": method}],
        "scope": {"coding": [SCOPE]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": stamp,
        "performer": [{"reference": f"Patient/{patient_id}"}],
        "policyRule": {"coding": [OPT_OUT]},
        "provision": {"type": "deny", "action": [{"coding": [DISCLOSE]}]},
    }
    if facility:
        consent["organization"] = [{"reference": f"Organization/{facility}"}]
    if verified_by:
        consent["verification"] = [{"verified": True, "verifiedWith": {"reference": f"Practitioner/{verified_by}"},
                                     "verificationDate": stamp}]
    if form:
        consent["sourceAttachment"] = form
    return consent


def record_do_not_share(repo: Repository, patient_id: str, **kw: Any) -> str:
    """Store the Consent through the repository (so it is access-checked and audited); its id."""
    return repo.create("Consent", do_not_share(patient_id, **kw)).res_id


def _denies_disclosure(consent: dict) -> bool:
    provision = consent.get("provision") or {}
    codes = {(c.get("system"), c.get("code")) for a in provision.get("action", []) for c in a.get("coding", [])}
    scope = {(c.get("system"), c.get("code")) for c in (consent.get("scope") or {}).get("coding", [])}
    period = provision.get("period") or {}
    now = datetime.now(timezone.utc).isoformat()
    in_force = (not period.get("start") or period["start"] <= now) and (not period.get("end") or period["end"] >= now)
    return (provision.get("type") == "deny" and (DISCLOSE["system"], DISCLOSE["code"]) in codes
            and (SCOPE["system"], SCOPE["code"]) in scope and in_force)


def may_leave_facility(store: Store, patient_id: str) -> bool:
    """False while an active Consent of this patient denies disclosure outside the facility. The most
    recent active privacy Consent decides, so a later "permit" one lifts an earlier refusal."""
    repo = Repository(store, Actor.system("consent-check"))
    # Privacy consents only: among a patient's many consents to procedures, a refusal older than the
    # first page of them had not been seen, and the record left the facility.
    found = repo.search_type("Consent", [("patient", f"Patient/{patient_id}"), ("status", "active"),
                                         ("scope", f"{SCOPE['system']}|{SCOPE['code']}"),
                                         ("_sort", "-date"), ("_count", "50")])
    for v in found.matches:
        consent = v.json()
        scope = {(c.get("system"), c.get("code")) for c in (consent.get("scope") or {}).get("coding", [])}
        if (SCOPE["system"], SCOPE["code"]) not in scope:
            continue
        return not _denies_disclosure(consent)
    return True
