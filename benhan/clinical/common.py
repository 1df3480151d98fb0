"""What the clinician workflows share: references, the time and author every entry carries
(TT 32/2023 Đ52 k2d: each entry shows its time and author), narrative text, and form errors that
name the field and a message key the UI translates."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from benhan.auth.actor import Actor

BENHAN = "https://benhan.vn/fhir"
RECORDED_BY = f"{BENHAN}/StructureDefinition/recorded-by"
CORRECTION_REASON = f"{BENHAN}/StructureDefinition/correction-reason"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://fhir.hl7.org.vn/core/CodeSystem/vn-icd10-cs"
ICD10_VS = "https://benhan.vn/fhir/ValueSet/vn-icd10"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


class FormInvalid(Exception):
    """A form that cannot be saved: field → (message key, values). Nothing was written."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, Any]]],
                 warnings: list[tuple[str, dict[str, Any]]] | None = None):
        super().__init__(", ".join(f"{k}: {v[0]}" for k, v in errors.items()))
        self.errors = errors
        self.warnings = warnings or []     # what the user must confirm (allergy, duplicate drug …)


@dataclass
class Problems:
    """Collects field errors while a form is checked."""
    errors: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def add(self, name: str, key: str, **values: Any) -> None:
        self.errors.setdefault(name, (key, values))

    def raise_if_any(self) -> None:
        if self.errors:
            raise FormInvalid(self.errors)


def ref(res_type: str, res_id: str, display: str | None = None) -> dict:
    out = {"reference": f"{res_type}/{res_id}"}
    if display:
        out["display"] = display
    return out


def ref_id(reference: dict | None) -> str | None:
    """The id of a 'Type/id' reference (None for anything else)."""
    text = (reference or {}).get("reference", "")
    parts = text.split("/")
    return parts[1] if len(parts) >= 2 else None


def zone(offset: str = "+07:00") -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset.lstrip("+-").split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def now(offset: str = "+07:00") -> datetime:
    return datetime.now(zone(offset)).replace(microsecond=0)


def entered_at(offset: str = "+07:00") -> str:
    """When a chart entry (note, order, prescription line) was written, to the millisecond: lists
    of entries are shown in this order, and a clinician can write two in the same second."""
    return datetime.now(zone(offset)).isoformat(timespec="milliseconds")


def who(actor: Actor) -> str:
    """How the author is shown on an entry and on paper: 'Lê Văn Hùng (bacsi)'."""
    return f"{actor.display} ({actor.name})" if actor.display and actor.display != actor.name else actor.name


def recorded_by(actor: Actor) -> dict:
    return {"url": RECORDED_BY, "valueString": who(actor)}


def author(actor: Actor) -> dict:
    """A reference to the author by name: the user may have no Practitioner resource yet."""
    return {"display": who(actor)}


# A user account's name: unique at the facility, unlike a person's name (two doctors called
# Nguyễn Văn Hùng are common), so it is what tells who placed an order.
ACCOUNT = f"{BENHAN}/sid/user-account"


def requester(actor: Actor) -> dict:
    """The person placing an order or prescription: their name as paper shows it, their account
    and, when the account names one, their Practitioner — so that what comes back for the order
    (a critical result) reaches this person and not a namesake."""
    out: dict = {}
    practitioner = actor.access.scope.practitioner_id if actor.access else None
    if practitioner:
        out["reference"] = f"Practitioner/{practitioner}"
    if actor.kind == "user":
        out["identifier"] = {"system": ACCOUNT, "value": actor.name}
    out["display"] = actor.display or actor.name
    return out


def is_actor(reference: dict | None, actor: Actor) -> bool:
    """Whether a reference written by `requester` names this actor: by account or Practitioner;
    a reference holding neither (written before either was recorded) by the name shown."""
    reference = reference or {}
    identifier = reference.get("identifier") or {}
    practitioner = actor.access.scope.practitioner_id if actor.access else None
    if identifier.get("system") == ACCOUNT or reference.get("reference"):
        return ((identifier.get("system") == ACCOUNT and identifier.get("value") == actor.name)
                or (practitioner is not None and reference.get("reference") == f"Practitioner/{practitioner}"))
    return bool(reference.get("display")) and reference.get("display") == (actor.display or actor.name)


def stamp(body: dict, actor: Actor) -> dict:
    """The entry with its author (replacing an earlier author's stamp on a new version)."""
    ext = [e for e in body.get("extension", []) if e.get("url") not in (RECORDED_BY, CORRECTION_REASON)]
    body["extension"] = ext + [recorded_by(actor)]
    return body


def recorder(body: dict) -> str:
    return next((e.get("valueString", "") for e in body.get("extension", []) if e.get("url") == RECORDED_BY), "")


def correction_reason(body: dict) -> str:
    return next((e.get("valueString", "") for e in body.get("extension", []) if e.get("url") == CORRECTION_REASON), "")


def narrative(text: str) -> dict:
    """FHIR narrative holding plain text (escaped; line breaks kept)."""
    lines = "<br/>".join(html.escape(line, quote=False) for line in text.split("\n"))
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{lines}</div>'}


_TAG = re.compile(r"<[^>]+>")


def narrative_text(div: dict | None) -> str:
    """The plain text back from a narrative written by `narrative`."""
    raw = (div or {}).get("div", "")
    return html.unescape(_TAG.sub("", raw.replace("<br/>", "\n")))


def parse_number(text: str) -> float | None:
    """A number as typed in Vietnam or elsewhere: '38,5' and '38.5' are the same; '' is None.
    Raises ValueError for anything else."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def parse_date(text: str) -> date | None:
    """dd/mm/yyyy (how dates are written here) or yyyy-mm-dd (an <input type=date>); '' is None."""
    text = (text or "").strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    m = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)
    if not m:
        raise ValueError(text)
    return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))


def day_of(iso: str | None) -> date | None:
    """The calendar day an ISO date or dateTime names, as written (its own offset); None for a year or
    a month alone, which FHIR allows (another system's record) and which names no day."""
    try:
        return date.fromisoformat(iso[:10]) if iso and len(iso) >= 10 else None
    except ValueError:
        return None


def age_on(birth: str | None, on: date) -> int | None:
    if not birth or len(birth) < 4:
        return None
    b = date.fromisoformat(birth) if len(birth) == 10 else date(int(birth[:4]), 1, 1)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def vn_date(iso: str | None) -> str:
    """'2026-11-01…' → '01/11/2026' (the date as written on Vietnamese forms); a month alone
    (another system's record) '2026-11' → '11/2026'."""
    if iso and len(iso) == 7 and iso[4] == "-":
        return f"{iso[5:7]}/{iso[:4]}"
    if not iso or len(iso) < 10:
        return iso or ""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def vn_datetime(iso: str | None) -> str:
    if not iso or len(iso) < 16:
        return vn_date(iso)
    return f"{iso[11:16]} {vn_date(iso)}"


def name_of(patient: dict) -> str:
    names = patient.get("name") or [{}]
    n = names[0]
    return n.get("text") or " ".join([n.get("family", ""), *n.get("given", [])]).strip()


def identifier(resource: dict, system: str) -> str | None:
    return next((i.get("value") for i in resource.get("identifier", []) if i.get("system") == system), None)
