"""Linking two Patient resources that are the same person (FHIR Patient.link,
http://hl7.org/fhir/R4/patient.html#links): a patient registered without an identity document
(newborn, unknown emergency, foreigner) found later to be an identified patient, or the same CCCD
registered at two facilities and reviewed at the hub as one person (docs/sync.md).

The *source* is replaced by the *target*, in ONE transaction through the Repository (so the access
rules, the audit trail and the sync change log see every write):

- the source gets `link: replaced-by → target` and `active: false` (its record stays readable);
- the target gets `link: replaces → source`, and the source's identifiers of a kind the target
  lacks (e.g. a BHYT number, an old ID, a passport) — never a second value of a kind it has;
- every resource in the source's Patient compartment (Encounter, Observation, Condition, Coverage …)
  is *re-pointed*: a new version whose references to Patient/source now say Patient/target, so the
  target's chart, its compartment search, $everything and the MoH printouts show one person's
  history in one chart. The earlier versions stay in _history, untouched;
- each changed resource gets a Provenance (target: the new version, entity: the version it
  revises, reason "linked: same person" + the user's reason, who, when).

Provenances already in the source's compartment are left as they are: each names the exact
version it is about. The author stamp (recorded-by) of a re-pointed entry is kept: the entry's
author did not change; the Provenance says who linked it.

Refused (nothing written): a patient linked to itself, a source or target already replaced,
two patients that each carry a different CCCD, a reason under 3 characters, and a user who may
not read and change the whole record (a registrar may not change clinical entries: a doctor links).
One audit event (subtype `patient-link`) summarises the link besides the per-write events, in
the same transaction.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical.common import identifier, name_of, now, who
from benhan.fhir.references import replaced_by, walk_references
from benhan.store.audit_log import AuditRecord
from benhan.store.compartments import everything, member_params
from benhan.store.repository import Repository, now_us
from benhan.vn.identifiers import CCCD_SYSTEM

REPLACED_BY = "replaced-by"
REPLACES = "replaces"
REASON_PREFIX = "linked: same person"
AUDIT_SUBTYPE = "patient-link"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
NO_ID_SUFFIX = "/no-identifier-reason"
MIN_REASON = 3
# Records about one exact version: they stay as written.
_NOT_MOVED = ("Patient", "Provenance")
# In the compartment, but the audit trail, never a stored resource (nobody writes it).
_TRAIL = ("AuditEvent",)


class LinkRefused(errors.Conflict):
    """The link was refused before anything was written; `key` is the message the UI translates."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass
class Linked:
    source_id: str
    target_id: str
    moved: list[tuple[str, str, int]]   # (type, id, new version) of the re-pointed resources
    provenances: list[str]


def replaces(patient: dict) -> list[str]:
    """The ids of the patients this one replaces."""
    return [(k.get("other") or {}).get("reference", "").split("/")[-1] for k in patient.get("link", [])
            if k.get("type") == REPLACES]


def is_replaced(patient: dict) -> bool:
    return replaced_by(patient) is not None


def is_current(patient: dict) -> bool:
    """Neither replaced by another record of the same person nor made inactive: the record to
    register visits on and to offer at the desk."""
    return patient.get("active") is not False and not is_replaced(patient)


def has_no_id(patient: dict) -> bool:
    return identifier(patient, CCCD_SYSTEM) is None


def missing_access(repo: Repository) -> tuple[str, str] | None:
    """The first (letter, type) the actor lacks to change a whole record (read and update every
    type in the Patient compartment, create Provenance); None when nothing is missing. The care
    scope is checked on each write."""
    access = repo.actor.access
    if access is None:
        return None
    needs = [("c", "Provenance")] + [(letter, t) for t in member_params() if t not in _TRAIL for letter in "ru"]
    return next(((letter, t) for letter, t in needs if access.mode(letter, t) is None), None)


def may_link(repo: Repository) -> bool:
    return missing_access(repo) is None


def require_access(repo: Repository) -> None:
    """Refuse (403, audited by the repository) a user who may not change the whole record."""
    missing = missing_access(repo)
    if missing is not None:
        repo.permit(missing[0], missing[1], "update")


def check(source: dict, target: dict, reason: str) -> None:
    """Raise LinkRefused for a link that must not be made."""
    if source["id"] == target["id"]:
        raise LinkRefused("ui.link.err.self", "a patient cannot be linked to itself")
    if not is_current(source):
        raise LinkRefused("ui.link.err.source_replaced", f"Patient/{source['id']} is already replaced or inactive")
    if not is_current(target):
        raise LinkRefused("ui.link.err.target_replaced", f"Patient/{target['id']} is already replaced or inactive; "
                          "link to the patient that replaced it")
    a, b = identifier(source, CCCD_SYSTEM), identifier(target, CCCD_SYSTEM)
    if a and b and a != b:
        raise LinkRefused("ui.link.err.two_cccd", "both patients carry a CCCD and they differ: two people")
    if len(reason.strip()) < MIN_REASON:
        raise LinkRefused("ui.link.err.reason", "give the reason for linking (at least 3 characters)")


def _repoint(body: dict, old: str, new: str, display: str) -> bool:
    """Replace every reference to `old` by `new` in place; whether anything changed."""
    changed = []

    def visit(ref: dict) -> None:
        if ref["reference"] == old:
            ref["reference"] = new
            if "display" in ref:
                ref["display"] = display
            changed.append(ref)
    walk_references(body, visit)
    return bool(changed)


def _members(repo: Repository, patient_id: str) -> list:
    """The current versions of every resource in the patient's compartment (not the patient)."""
    out, cursor = [], None
    page_size = repo.store.config.max_page_size
    while True:
        page = everything(repo, patient_id, count=page_size, cursor=cursor)
        out += [e.resource for e in page.entries if e.mode == "match" and e.resource.res_type not in _NOT_MOVED]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def _provenance(res_type: str, res_id: str, version: int, actor: Actor, reason: str, recorded: str) -> dict:
    prov = {"resourceType": "Provenance",
            "target": [{"reference": f"{res_type}/{res_id}/_history/{version}"}],
            "recorded": recorded,
            "reason": [{"text": reason}],
            "activity": {"coding": [{"system": DATA_OPERATION, "code": "UPDATE"}], "text": "Liên kết người bệnh"},
            "agent": [{"who": {"display": who(actor)}}]}
    if version > 1:
        prov["entity"] = [{"role": "revision", "what": {"reference": f"{res_type}/{res_id}/_history/{version - 1}"}}]
    return prov


def _without_meta(body: dict) -> dict:
    body = dict(body)
    body.pop("meta", None)
    return body


def link(repo: Repository, source_id: str, target_id: str, reason: str, tz: str = "+07:00") -> Linked:
    """Link Patient/source_id into Patient/target_id (see the module's notes); one transaction."""
    actor = repo.actor
    require_access(repo)
    if source_id == target_id:
        raise LinkRefused("ui.link.err.self", "a patient cannot be linked to itself")
    src_v, tgt_v = repo.read("Patient", source_id), repo.read("Patient", target_id)
    source, target = src_v.json(), tgt_v.json()
    check(source, target, reason)
    why = f"{REASON_PREFIX}: {reason.strip()}"
    recorded = now(tz).isoformat()
    old, new = f"Patient/{source_id}", f"Patient/{target_id}"
    display = name_of(target)

    pending, provs, moved, extra_replaces = [], [], [], []
    for m in _members(repo, source_id):
        body = _without_meta(m.json())
        if not _repoint(body, old, new, display):
            continue        # in the compartment through a reference that is not literally Patient/source
        pending.append(repo.prepare("PUT", m.res_type, m.res_id, body, if_match=m.version))
        moved.append((m.res_type, m.res_id, m.version + 1))
    # Patients the source itself replaced now point at the target (the chain stays one step long).
    for pid in replaces(source):
        try:
            earlier = repo.read("Patient", pid)
        except errors.NotFound:
            continue
        body = _without_meta(earlier.json())
        if _repoint(body, old, new, display):
            pending.append(repo.prepare("PUT", "Patient", pid, body, if_match=earlier.version))
            moved.append(("Patient", pid, earlier.version + 1))
            extra_replaces.append(pid)

    tgt = _without_meta(target)
    have = {i.get("system") for i in tgt.get("identifier", [])}
    copied = [dict(i) for i in source.get("identifier", []) if i.get("system") and i.get("system") not in have]
    if copied:
        tgt["identifier"] = tgt.get("identifier", []) + copied
    if identifier(tgt, CCCD_SYSTEM):
        # Identified now: the "no identity document" description no longer applies.
        tgt["extension"] = [e for e in tgt.get("extension", []) if not e.get("url", "").endswith(NO_ID_SUFFIX)]
        if not tgt["extension"]:
            del tgt["extension"]
    tgt["link"] = tgt.get("link", []) + [{"other": {"reference": f"Patient/{p}"}, "type": REPLACES}
                                         for p in (source_id, *extra_replaces)]
    src = _without_meta(source)
    src["active"] = False
    src["link"] = [k for k in src.get("link", []) if k.get("type") != REPLACES] + [
        {"other": {"reference": new, "display": display}, "type": REPLACED_BY}]
    pending.append(repo.prepare("PUT", "Patient", target_id, tgt, if_match=tgt_v.version))
    pending.append(repo.prepare("PUT", "Patient", source_id, src, if_match=src_v.version))
    moved += [("Patient", target_id, tgt_v.version + 1), ("Patient", source_id, src_v.version + 1)]

    for res_type, res_id, version in moved:
        prov_id = str(uuid.uuid4())
        provs.append(prov_id)
        pending.append(repo.prepare("POST", "Provenance", prov_id,
                                    _provenance(res_type, res_id, version, actor, why, recorded), create_only=True))
    # The summary event: "patient link" with both patients, beside the per-write events and in the
    # same transaction as the link itself.
    summary = AuditRecord(
        recorded=now_us(), interaction="update", agent=actor.name, source_address=actor.source_address,
        res_type="Patient", res_id=target_id, version=tgt_v.version + 1, subtype=AUDIT_SUBTYPE,
        role=" ".join(actor.roles) or None, patients=tuple(sorted({source_id, target_id})),
        detail=json.dumps({"source": source_id, "target": target_id, "moved": len(moved) - 2,
                           "reason": reason.strip()}, ensure_ascii=False))
    repo.commit(pending, "transaction", also_audit=(summary,))
    return Linked(source_id, target_id, [x for x in moved if x[0] != "Patient" or x[1] not in (source_id, target_id)],
                  provs)


def candidates(repo: Repository, text: str, exclude: str) -> list[dict]:
    """Identified patients matching a CCCD/name/BHYT/phone search, for the link page (active, not
    replaced, not the patient being linked)."""
    from benhan.clinical.registration import search
    return [p for p in search(repo, text) if p["id"] != exclude]
