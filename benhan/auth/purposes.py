"""Consent per purpose (Luật 91/2025/QH15 Đ9, Đ26 k2; NĐ 356/2025 Đ6; ../shared/vietnam.md §1.6).

The purposes a facility processes health data for, and what each rests on:
- treatment at this facility — the law on medical examination and treatment; no consent asked;
- the VNeID health book push — a legal obligation (NĐ 102/2025 Đ10 k5 b); not consent-based;
- sharing with other care providers — OPT-IN: only on the patient's written request (Luật 91 Đ26
  k2); silence is not consent, there is no default consent;
- research — opt-in.

A consent is a FHIR Consent (scope patient-privacy, provision permit with provision.purpose naming
the purpose) with its evidence: method (written form, the patient's confirmation by OTP/signature,
verbal), who took it (verification), when (dateTime), the signed form (sourceAttachment).
Withdrawal ends it (status inactive, a new version; the old one kept). The older "do not share"
Consent (benhan.auth.consent, deny disclose with no purpose) stays valid and stays a refusal: for
every purpose that needs consent, the most recent active privacy Consent that speaks to it decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from benhan import errors
from benhan.auth.actor import Actor
from benhan.auth.consent import DISCLOSE, METHOD_URL, SCOPE
from benhan.store.repository import Repository
from benhan.store.store import Store

PURPOSE_SYSTEM = "https://benhan.vn/fhir/CodeSystem/data-purpose"
SHARE_PROVIDERS = "share-providers"
RESEARCH = "research"
TREATMENT = "treatment"
HEALTH_BOOK = "health-book"
CONSENT_PURPOSES = (SHARE_PROVIDERS, RESEARCH)
METHODS = ("written", "otp", "signature-pad", "verbal")
LABELS = {SHARE_PROVIDERS: ("Chia sẻ với cơ sở khám chữa bệnh khác", "Sharing with other care providers"),
          RESEARCH: ("Nghiên cứu", "Research"),
          TREATMENT: ("Khám chữa bệnh tại cơ sở (theo luật, không cần đồng ý)", "Treatment here (by law, no consent)"),
          HEALTH_BOOK: ("Sổ sức khỏe điện tử VNeID (nghĩa vụ pháp lý)", "VNeID health book (legal obligation)")}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str             # opt-in | withdrawn | refused | no-consent | law
    consent_id: str | None = None


def permit(patient_id: str, purpose: str, *, method: str, verified_by: str | None = None,
           form: dict[str, Any] | None = None, when: datetime | None = None) -> dict:
    """The Consent permitting one purpose, with its evidence."""
    if purpose not in CONSENT_PURPOSES:
        raise errors.InvalidUserSetting(f"purpose {purpose!r}: one of {', '.join(CONSENT_PURPOSES)} needs consent")
    if method not in METHODS:
        raise errors.InvalidUserSetting(f"consent method {method!r}: one of {', '.join(METHODS)}")
    if method == "written" and not form:
        raise errors.InvalidUserSetting("a written consent needs its signed form (sourceAttachment)")
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    stamp = when.isoformat(timespec="seconds")
    body: dict[str, Any] = {
        "resourceType": "Consent", "status": "active",
        "extension": [{"url": METHOD_URL, "valueCode": method}],
        "scope": {"coding": [SCOPE]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": stamp,
        "performer": [{"reference": f"Patient/{patient_id}"}],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {"type": "permit", "action": [{"coding": [DISCLOSE]}],
                      "purpose": [{"system": PURPOSE_SYSTEM, "code": purpose, "display": LABELS[purpose][0]}]},
    }
    if verified_by:
        body["verification"] = [{"verified": True, "verifiedWith": {"reference": f"Practitioner/{verified_by}"},
                                 "verificationDate": stamp}]
    if form:
        body["sourceAttachment"] = form
    return body


def record(repo: Repository, patient_id: str, purpose: str, **kw: Any) -> str:
    return repo.create("Consent", permit(patient_id, purpose, **kw)).res_id


def withdraw(repo: Repository, consent_id: str) -> None:
    """End a consent (a new version, inactive; the one before is kept as evidence)."""
    body = repo.read("Consent", consent_id).json()
    if body.get("status") == "active":
        repo.update("Consent", consent_id, dict(body, status="inactive"))


def _purposes(consent: dict) -> set[str] | None:
    """The purposes a Consent speaks to; None: every purpose (the older purpose-less refusal)."""
    found = {p.get("code") for p in (consent.get("provision") or {}).get("purpose", [])
             if isinstance(p, dict) and p.get("system") == PURPOSE_SYSTEM}
    return found or None


def _privacy(consent: dict) -> bool:
    return any((c.get("system"), c.get("code")) == (SCOPE["system"], SCOPE["code"])
               for c in (consent.get("scope") or {}).get("coding", []) if isinstance(c, dict))


def decide(store: Store, patient_id: str, purpose: str) -> Decision:
    """May this patient's data be used for this purpose? Treatment and the health book rest on law;
    the others need an active opt-in, and the most recent privacy Consent speaking to the purpose
    decides (a refusal, a withdrawal or nothing at all: no)."""
    if purpose not in CONSENT_PURPOSES:
        return Decision(True, "law")
    repo = Repository(store, Actor.system("consent-check"))
    withdrawn = False
    for v in repo.search_all("Consent", [("patient", f"Patient/{patient_id}"),
                                         ("scope", f"{SCOPE['system']}|{SCOPE['code']}"), ("_sort", "-date")]):
        c = v.json()
        if not _privacy(c):
            continue
        purposes = _purposes(c)
        if purposes is not None and purpose not in purposes:
            continue
        if c.get("status") != "active":
            withdrawn = withdrawn or (c.get("provision") or {}).get("type") == "permit"
            continue
        if (c.get("provision") or {}).get("type") == "deny":
            return Decision(False, "refused", v.res_id)
        if purposes is not None:
            return Decision(True, "opt-in", v.res_id)
    return Decision(False, "withdrawn" if withdrawn else "no-consent")


REFUSALS = {
    "refused": ("người bệnh đã từ chối chia sẻ hồ sơ ra ngoài cơ sở",
                "the patient refused that their record leave the facility"),
    "withdrawn": ("người bệnh đã rút lại đồng ý chia sẻ hồ sơ với cơ sở khác",
                  "the patient withdrew their consent to share with other providers"),
    "no-consent": ("chưa có đồng ý bằng văn bản của người bệnh cho việc chia sẻ với cơ sở khác (Luật 91/2025 Điều 26)",
                   "no written consent of the patient to share with other providers (Law 91/2025 art. 26)"),
}


def refusal_text(decision: Decision) -> str:
    vi, en = REFUSALS.get(decision.reason, REFUSALS["no-consent"])
    return f"{vi} | {en}"


def of_patient(store: Store, repo: Repository, patient_id: str) -> list[dict]:
    """The patient's privacy consents, newest first (for the consent screen; read through `repo`,
    so access-checked and audited)."""
    found = repo.search_all("Consent", [("patient", f"Patient/{patient_id}"),
                                        ("scope", f"{SCOPE['system']}|{SCOPE['code']}"), ("_sort", "-date")])
    return [v.json() for v in found if _privacy(v.json())]
