"""Corrections, not overwrites (DESIGN §6; TT 32/2023 Đ52): a saved entry is changed only by a new
version that carries the reason, and cancelled only by a status flag (entered-in-error); every
earlier version stays readable (_history).

Each correction or cancellation writes, in the same transaction, the new version (with the reason
in the correction-reason extension, so the version itself says why) and a Provenance naming the
new version, the activity (UPDATE / cancel), the author and the reason — the FHIR way to say who
changed what and why (http://hl7.org/fhir/R4/provenance.html).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical import allergies, diagnoses, overrides, prescriptions
from benhan.clinical.common import CORRECTION_REASON, ICD10, Problems, now, parse_number, ref_id, stamp, who
from benhan.store.repository import Repository

DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
MIN_REASON = 3


@dataclass(frozen=True)
class Editable:
    field: str
    vi: str
    en: str
    multiline: bool = True


def _first_note(body: dict) -> str:
    return (body.get("note") or [{}])[0].get("text", "")


def _set_note(body: dict, text: str) -> None:
    if text:
        body["note"] = [{"text": text}]
    else:
        body.pop("note", None)


EDITABLE: dict[str, tuple[Editable, ...]] = {
    "ClinicalImpression": (Editable("summary", "Diễn biến", "Course"), Editable("orders", "Y lệnh / chăm sóc", "Orders / care")),
    "Observation": (Editable("value", "Giá trị", "Value", False),),
    "AllergyIntolerance": (Editable("substance", "Dị nguyên", "Substance", False),
                           Editable("reaction", "Phản ứng", "Reaction")),
    "Condition": (Editable("code", "Mã ICD-10", "ICD-10 code", False), Editable("note", "Ghi chú", "Note")),
    "MedicationRequest": (Editable("instructions", "Cách dùng", "Instructions"),),
    "ServiceRequest": (Editable("note", "Ghi chú", "Note"),),
}


def current_values(body: dict) -> dict[str, str]:
    t = body.get("resourceType")
    if t == "ClinicalImpression":
        return {"summary": body.get("summary", ""), "orders": _first_note(body)}
    if t == "Observation":
        if "valueQuantity" in body:      # a Quantity without a value is valid FHIR (issue 11.10)
            value = body["valueQuantity"].get("value")
            return {"value": "" if value is None else f"{value:g}"}
        comps = [(c.get("valueQuantity") or {}).get("value") for c in body.get("component", [])]
        return {"value": "/".join(f"{v:g}" for v in comps if v is not None)}
    if t == "AllergyIntolerance":
        return {"substance": body.get("code", {}).get("text", ""),
                "reaction": ((body.get("reaction") or [{}])[0].get("manifestation") or [{}])[0].get("text", "")}
    if t == "Condition":
        return {"code": ((body.get("code") or {}).get("coding") or [{}])[0].get("code", ""), "note": _first_note(body)}
    if t == "ServiceRequest":
        return {"note": _first_note(body)}
    if t == "MedicationRequest":
        return {"instructions": (body.get("dosageInstruction") or [{}])[0].get("text", "")}
    return {}


def _recode(body: dict, code: str, p: Problems, repo: Repository) -> list[overrides.Warning]:
    """A diagnosis corrected to another ICD-10 code (the old one stays in the earlier version), and
    what the new code's flags say against it for this patient and rank — the same checks as when a
    diagnosis is added, so a correction is no way around them."""
    coding = ((body.get("code") or {}).get("coding") or [{}])[0]
    if not code or code.replace(".", "").upper() == coding.get("code", "").replace(".", "").upper():
        return []
    found = diagnoses.lookup(repo, code)
    if found is None:
        p.add("code", "ui.err.dx_unknown", code=code)
        return []
    body["code"] = {"coding": [{"system": ICD10, "code": found.code, "display": found.display}], "text": found.display}
    pid, eid = ref_id(body.get("subject")), ref_id(body.get("encounter"))
    gender = repo.read("Patient", pid).json().get("gender") if pid else None
    main = bool(eid) and any(ref_id(d.get("condition")) == body.get("id") and d.get("rank") == 1
                             for d in repo.read("Encounter", eid).json().get("diagnosis", []))
    return diagnoses.warnings_for(found, gender, main)


def _apply(body: dict, values: dict[str, str], p: Problems, ingredients: list[str]) -> None:
    t = body["resourceType"]
    if t == "ClinicalImpression":
        if len(values.get("summary", "").strip()) < 2:
            p.add("summary", "ui.err.required")
        body["summary"] = values.get("summary", "").strip()
        _set_note(body, values.get("orders", "").strip())
    elif t == "Observation":
        text = values.get("value", "").strip()
        try:
            if "valueQuantity" in body:
                v = parse_number(text)
                if v is None:
                    raise ValueError(text)
                body["valueQuantity"]["value"] = v
            else:
                parts = [parse_number(x) for x in text.split("/")]
                comps = body.get("component", [])
                if len(parts) != len(comps) or any(x is None for x in parts):
                    raise ValueError(text)
                for c, v in zip(comps, parts):
                    c["valueQuantity"]["value"] = v
        except ValueError:
            p.add("value", "ui.err.number")
    elif t == "AllergyIntolerance":
        if len(values.get("substance", "").strip()) < 2:
            p.add("substance", "ui.err.required")
        # Coded again when the corrected name is a listed ingredient or class, so the allergy
        # check keeps covering brand names (allergies.substance_code).
        body["code"] = allergies.substance_code(values.get("substance", ""), (body.get("category") or [""])[0],
                                                ingredients)
        reaction = values.get("reaction", "").strip()
        if reaction:
            body["reaction"] = [{"manifestation": [{"text": reaction}]}]
        else:
            body.pop("reaction", None)
    elif t in ("Condition", "ServiceRequest"):
        _set_note(body, values.get("note", "").strip())
    elif t == "MedicationRequest":
        text = values.get("instructions", "").strip()
        if len(text) < 2:
            p.add("instructions", "ui.err.required")
        body.setdefault("dosageInstruction", [{}])[0]["text"] = text


def _cancel(body: dict) -> None:
    t = body["resourceType"]
    if t in ("Condition", "AllergyIntolerance"):
        system = body.get("verificationStatus", {}).get("coding", [{}])[0].get("system")
        body["verificationStatus"] = {"coding": [{"system": system, "code": "entered-in-error"}]}
        body.pop("clinicalStatus", None)    # R4: no clinical status on a condition entered in error
    else:
        body["status"] = "entered-in-error"


def is_cancelled(body: dict) -> bool:
    if body.get("status") == "entered-in-error":
        return True
    return (body.get("verificationStatus", {}).get("coding") or [{}])[0].get("code") == "entered-in-error"


def _provenance(res_type: str, res_id: str, version: int, actor: Actor, reason: str, activity: str,
                tz: str) -> dict:
    return {"resourceType": "Provenance",
            "target": [{"reference": f"{res_type}/{res_id}/_history/{version}"}],
            "recorded": now(tz).isoformat(),
            "reason": [{"text": reason}],
            "activity": {"coding": [{"system": DATA_OPERATION, "code": activity}],
                         "text": "Hủy (nhập nhầm)" if activity == "DELETE" else "Sửa"},
            "agent": [{"who": {"display": who(actor)}}]}


def change(repo: Repository, actor: Actor, res_type: str, res_id: str, values: dict[str, str] | None,
           reason: str, tz: str = "+07:00") -> int:
    """Correct (values given) or cancel (values None) an entry; the new version number."""
    current = repo.read(res_type, res_id)
    body = current.json()
    body.pop("meta", None)
    p = Problems()
    warned: list[overrides.Warning] = []
    if len(reason.strip()) < MIN_REASON:
        p.add("reason", "ui.err.correction_reason")
    if is_cancelled(body):
        p.add("reason", "ui.err.already_cancelled")
    if values is None:
        _cancel(body)
    elif res_type in EDITABLE:
        ingredients = (prescriptions.ingredient_names(prescriptions.catalogue(repo))
                       if res_type == "AllergyIntolerance" else [])
        _apply(body, values, p, ingredients)
        if res_type == "Condition" and "code" in values:
            warned = _recode(body, values["code"].strip().split(" ")[0], p, repo)
    else:
        p.add("reason", "ui.err.not_editable")
    p.raise_if_any()
    if warned:      # overridden by ticking the box; the correction's reason is the override's reason
        overrides.confirm({**(values or {}), "override_reason": reason}, warned)
        overrides.record(body, warned, reason.strip())
    stamp(body, actor)
    body["extension"].append({"url": CORRECTION_REASON, "valueString": reason.strip()})
    new_version = current.version + 1
    prov = _provenance(res_type, res_id, new_version, actor, reason.strip(), "DELETE" if values is None else "UPDATE", tz)
    repo.commit([repo.prepare("PUT", res_type, res_id, body, if_match=current.version),
                 repo.prepare("POST", "Provenance", str(uuid.uuid4()), prov, create_only=True)], "transaction")
    return new_version


@dataclass
class Version:
    version: int
    when: int
    author: str
    reason: str
    cancelled: bool
    body: dict


def history(repo: Repository, res_type: str, res_id: str) -> list[Version]:
    from benhan.clinical.common import correction_reason, recorder
    out = []
    for e in repo.history(res_type, res_id, count=100).entries:
        body = e.json() if e.body else {}
        out.append(Version(e.version, e.last_updated, recorder(body), correction_reason(body), is_cancelled(body), body))
    return out
