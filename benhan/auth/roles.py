"""Roles and what each may do, per resource type and SMART interaction letter (c create, r read,
u update, d delete, s search), and how far: every patient of the facility (ALL) or only the
patients of the user's departments and care relationships (SCOPED; store.access).

Clinicians correct rather than delete (a correction is a new version; "entered-in-error" is a
status), so no clinical role deletes. Reference data (Organization, Location, Practitioner,
Medication, code systems …) has no patient: readable by every role, written by the facility admin.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from benhan.fhir.definitions import load_structure
from benhan.store.access import ALL, SCOPED, in_patient_compartment

CLINICAL = "@clinical"     # every type in the Patient compartment
REFERENCE = "@reference"   # every type outside it


@dataclass(frozen=True)
class Role:
    code: str
    vi: str
    en: str
    rules: tuple[tuple[str, str, str], ...]       # (type or CLINICAL/REFERENCE, letters, ALL/SCOPED)
    privileges: frozenset[str] = frozenset()     # manage-users, review-break-glass, break-glass, and the ACTS


# Clinical acts that a type's letters cannot express (a nurse updates Encounters — bed, location,
# status — yet ending the treatment with its result is the doctor's discharge). The clinician app
# enforces them on the server and shows only what the role may do (issue 12.4).
DISCHARGE = "discharge"          # end a visit with a clinical outcome (treatment result, disposition)
CLOSE_VISIT = "close-visit"      # close a visit nobody has treated yet, without any outcome (front desk)
PROGRESS_NOTE = "progress-note"  # write the physician's progress notes and orders (tờ điều trị, 01/BV1)
SIGN_DOCUMENT = "sign-document"  # digitally sign the record's documents as their author (documents.signing)
SEAL_DOCUMENT = "seal-document"  # apply the facility's seal to a signed document (documents.seal): the director
# The BHYT desk (web/ui/claims_desk.py) shows every finished BHYT visit of a day, whoever treated it:
# the cashier (who also sends, having Claim "c") and the director (who follows it); not every reader of Claim.
BHYT_DESK = "bhyt-desk"
ACTS = (DISCHARGE, CLOSE_VISIT, PROGRESS_NOTE, SIGN_DOCUMENT, SEAL_DOCUMENT, BHYT_DESK)


_READ_REFERENCE = (REFERENCE, "rs", ALL)
_FRONT_DESK = ("Patient", "Encounter", "Coverage", "RelatedPerson", "Appointment", "EpisodeOfCare", "Consent")

ROLES: dict[str, Role] = {r.code: r for r in (
    Role("registrar", "Tiếp đón", "Registrar",
         tuple((t, "crus", ALL) for t in _FRONT_DESK) + (_READ_REFERENCE,), frozenset({CLOSE_VISIT})),
    Role("doctor", "Bác sĩ", "Doctor",
         ((CLINICAL, "crus", SCOPED), _READ_REFERENCE), frozenset({"break-glass", DISCHARGE, PROGRESS_NOTE, SIGN_DOCUMENT})),
    Role("nurse", "Điều dưỡng", "Nurse",
         ((CLINICAL, "rs", SCOPED),
          *((t, "crus", SCOPED) for t in ("Observation", "MedicationAdministration", "Procedure", "Encounter",
                                          "ClinicalImpression", "DocumentReference", "Flag", "AllergyIntolerance",
                                          "Specimen", "CarePlan", "Task", "Communication")),
          # A correction records who changed what and why (clinical/corrections.py).
          ("Provenance", "c", SCOPED),
          _READ_REFERENCE), frozenset({"break-glass"})),
    Role("pharmacist", "Dược sĩ", "Pharmacist",
         (("Patient", "rs", ALL), ("Encounter", "rs", ALL), ("AllergyIntolerance", "rs", ALL),
          ("Condition", "rs", ALL), ("MedicationRequest", "rus", ALL), ("MedicationStatement", "rs", ALL),
          ("MedicationDispense", "crus", ALL), ("MedicationAdministration", "rs", ALL),
          ("Medication", "crus", ALL), ("MedicationKnowledge", "crus", ALL), _READ_REFERENCE)),
    Role("lab_technician", "Kỹ thuật viên xét nghiệm", "Lab technician",
         (("Patient", "rs", ALL), ("Encounter", "rs", ALL), ("ServiceRequest", "rus", ALL),
          ("Specimen", "crus", ALL), ("Observation", "crus", ALL), ("DiagnosticReport", "crus", ALL),
          ("ImagingStudy", "crus", ALL), ("Media", "crus", ALL), _READ_REFERENCE)),
    Role("cashier", "Thu ngân", "Cashier",
         (("Patient", "rs", ALL), ("Encounter", "rs", ALL), ("Coverage", "rs", ALL),
          *((t, "crus", ALL) for t in ("Account", "ChargeItem", "Invoice", "Claim", "ClaimResponse",
                                       "PaymentNotice", "PaymentReconciliation")),
          _READ_REFERENCE), frozenset({BHYT_DESK})),
    Role("facility_admin", "Quản trị cơ sở", "Facility admin",
         ((REFERENCE, "cruds", ALL),), frozenset({"manage-users", "data-protection"})),
    Role("auditor", "Kiểm tra, giám sát", "Auditor",
         (("AuditEvent", "rs", ALL), ("Patient", "rs", ALL), ("Consent", "rs", ALL), _READ_REFERENCE),
         frozenset({"review-break-glass"})),
    Role("director", "Giám đốc", "Director",
         (("AuditEvent", "rs", ALL), (CLINICAL, "rs", SCOPED),
          # The sealed version of a signed document and its Provenance (documents.seal), nothing else.
          ("DocumentReference", "c", SCOPED), ("Provenance", "c", SCOPED), _READ_REFERENCE),
         frozenset({"review-break-glass", "break-glass", SEAL_DOCUMENT, BHYT_DESK})),
)}

# The audit trail is written by the server, never by a client: no role may write AuditEvent.
_NEVER_WRITTEN = {"AuditEvent"}


def unknown_roles(codes: list[str]) -> list[str]:
    return [c for c in codes if c not in ROLES]


@cache
def _types(marker: str) -> tuple[str, ...]:
    # The audit trail is named explicitly where a role may see it (auditor, director), never by a marker.
    types = sorted(load_structure().resource_types - _NEVER_WRITTEN)
    if marker == CLINICAL:
        return tuple(t for t in types if in_patient_compartment(t))
    return tuple(t for t in types if not in_patient_compartment(t))


@cache
def modes(role_codes: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(type, letter) → ALL or SCOPED for the union of the roles (the wider of two modes wins)."""
    out: dict[tuple[str, str], str] = {}
    for code in role_codes:
        for target, letters, mode in ROLES[code].rules:
            types = _types(target) if target in (CLINICAL, REFERENCE) else (target,)
            for t in types:
                for letter in letters:
                    if letter in "cud" and t in _NEVER_WRITTEN:
                        continue
                    if out.get((t, letter)) != ALL:
                        out[(t, letter)] = mode
    return out


def privileges(role_codes: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(ROLES[c].privileges for c in role_codes)) if role_codes else frozenset()


def may_act(role_codes: tuple[str, ...], act: str) -> bool:
    """Whether these roles may perform one of the ACTS."""
    return act in privileges(tuple(c for c in role_codes if c in ROLES))
