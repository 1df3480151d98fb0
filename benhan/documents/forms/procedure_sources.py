"""Where the consent (01/BV2), the surgery/procedure sheet (06/BV2) and the record summary (TT 25/2025
Mẫu 03) read their values: the visit's Consent (clinical.consent), its Procedure (clinical.procedures),
the diagnoses with their codes. As in sources.py, nothing is invented: what was not recorded is empty
and prints as the paper's dotted line.

A form with a sheet per item names it after ":" in its key (FormData.part): "consent:<Consent id>",
"surgery:<Procedure id>"; without one, the visit's latest.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from benhan.clinical import consent as consents, diagnoses, procedures, signers
from benhan.clinical.common import ref_id, vn_datetime
from benhan.documents.forms.data import FormData


def _as_date(iso: str | None) -> dt.date | None:
    return dt.date.fromisoformat(iso[:10]) if iso and len(iso) >= 10 else None


# --- the consent (01/BV2) ---

def _consent(d: FormData) -> dict:
    if d.part:
        return next((c for c in d.consents if c.get("id") == d.part), {})
    return d.consents[-1] if d.consents else {}


def consent_procedure(d: FormData) -> str:
    return consents.procedure_name(_consent(d))


def consent_level(d: FormData) -> str:
    return consents.level(_consent(d))


def consent_explained(d: FormData) -> list[str]:
    return consents.explained(_consent(d))


def consent_risks(d: FormData) -> str:
    return consents.risks(_consent(d))


def consent_anaesthesia(d: FormData) -> str:
    return consents.anaesthesia(_consent(d))


def consent_doctor(d: FormData) -> str:
    return signers.full_name(consents.actor(_consent(d), "PPRF"), d.ctx.practitioners)


def consent_anaesthetist(d: FormData) -> str:
    return signers.full_name(consents.actor(_consent(d), "SPRF"), d.ctx.practitioners)


def consent_decision(d: FormData) -> str:
    return consents.decision(_consent(d))


def _signer(d: FormData) -> consents.Signer | None:
    c = _consent(d)
    return consents.signer(c, d.ctx.patient) if c else None


def consent_signer(field: str) -> Callable[[FormData], str]:
    """II. Người bệnh/thân nhân: name, birth_year, relation, cccd of who consented."""
    def read(d: FormData) -> str:
        s = _signer(d)
        return getattr(s, field) if s else ""
    read.__name__ = f"consent_signer_{field}"
    return read


def consent_reason(d: FormData) -> str:
    return consents.reason(_consent(d))


def consent_destination(d: FormData) -> str:
    return consents.destination(_consent(d))


def consent_date(d: FormData) -> dt.date | None:
    return _as_date(_consent(d).get("dateTime"))


def consent_time(d: FormData) -> str:
    return vn_datetime(_consent(d).get("dateTime"))


# --- the surgery/procedure sheet (06/BV2) ---

def _procedure(d: FormData) -> dict:
    done = d.ctx.procedures
    if d.part:
        return next((p for p in done if p.get("id") == d.part), {})
    return done[-1] if done else {}


def _performer(p: dict, with_function: bool) -> dict | None:
    return next((x.get("actor") for x in p.get("performer", []) if bool(x.get("function")) == with_function), None)


def procedure_when(d: FormData) -> str:
    return vn_datetime(_procedure(d).get("performedDateTime"))


def procedure_date(d: FormData) -> dt.date | None:
    return _as_date(_procedure(d).get("performedDateTime"))


def procedure_name(d: FormData) -> str:
    return _procedure(d).get("code", {}).get("text", "")


def procedure_class(d: FormData) -> str:
    code = procedures.class_of(_procedure(d))
    return procedures.CLASSES[code][0] if code in procedures.CLASSES else ""


def procedure_kind(d: FormData) -> str:
    return procedures.kind_of(_procedure(d)) if _procedure(d) else ""


def procedure_anaesthesia(d: FormData) -> str:
    return procedures.anaesthesia_of(_procedure(d))


def procedure_dx_before(d: FormData) -> str:
    return procedures.diagnosis_before(_procedure(d))


def procedure_dx_after(d: FormData) -> str:
    return procedures.diagnosis_after(_procedure(d))


def procedure_description(d: FormData) -> str:
    return procedures.description(_procedure(d))


def surgeon(d: FormData) -> str:
    return signers.full_name(_performer(_procedure(d), False), d.ctx.practitioners)


def anaesthetist(d: FormData) -> str:
    return signers.full_name(_performer(_procedure(d), True), d.ctx.practitioners)


def procedure_complications(d: FormData) -> str:
    """The accidents and complications recorded as following this procedure (its complicationDetail)."""
    p = _procedure(d)
    linked = {ref_id(x) for x in p.get("complicationDetail", [])}
    return "\n".join(f"{procedures.COMPLICATIONS[procedures.kind_of(c)][0]}: {procedures.complication_text(c)}"
                     for c in procedures.complications(d.ctx.rec.conditions) if c.get("id") in linked)


# --- the record summary (TT 25/2025 Mẫu 03) ---

def diagnoses_of(role: str) -> Callable[[FormData], str]:
    """Every live diagnosis of a role (AD on admission, DD at discharge), the main one first, each with
    its code."""
    def read(d: FormData) -> str:
        items = [x for x in diagnoses.listed(d.ctx.encounter, d.ctx.rec.conditions) if x.role == role
                 and not x.cancelled]
        items.sort(key=lambda x: (x.kind != "main", x.rank))
        return "; ".join(f"{x.display} ({x.code})" if x.code else x.display for x in items)
    read.__name__ = f"diagnoses_of_{role}"
    return read


def consent_patient_birth_year(d: FormData) -> str:
    return (d.ctx.banner.birth_date or "")[:4]
