"""The record of a personal-data breach, for the notification to the authority (Luật 91/2025 Đ23;
NĐ 356/2025 Đ28, form 08; ../shared/vietnam.md §1.6, §2.3).

A FHIR Composition shaped after VN Core's `vn-core-composition-breach-notification` (form 08, four
sections). The four sections are our reading of what form 08 asks (the profile's section codes were
not available to us; local codes, docs/security.md): 1. the breach (when it happened, when it was
discovered, what happened, which data and how many people), 2. the likely consequences, 3. the
measures taken and planned, 4. the contact person (the data-protection officer). The authority
must be notified within 72 hours of discovery (`notify_by`); when biometric or location data are
involved the people concerned too, and the file is kept at least 5 years (NĐ 356 Đ29).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from benhan import errors
from benhan.store.repository import Repository

PROFILE = "http://fhir.hl7.org.vn/core/StructureDefinition/vn-core-composition-breach-notification"
TYPE = {"system": "https://benhan.vn/fhir/CodeSystem/privacy-document", "code": "breach-notification",
        "display": "Thông báo vi phạm dữ liệu cá nhân (Mẫu 08, NĐ 356/2025)"}
SECTION_SYSTEM = "https://benhan.vn/fhir/CodeSystem/breach-section"
SECTIONS = (  # code, Vietnamese title, English title, the form fields it holds
    ("breach", "1. Mô tả vi phạm", "1. The breach",
     ("occurred", "discovered", "what", "data_kinds", "people")),
    ("consequences", "2. Hậu quả có thể xảy ra", "2. Likely consequences", ("consequences",)),
    ("measures", "3. Biện pháp đã và sẽ thực hiện", "3. Measures taken and planned", ("measures",)),
    ("contact", "4. Người liên hệ", "4. Contact person", ("contact",)),
)
FIELDS = tuple(f for s in SECTIONS for f in s[3])
REQUIRED = ("discovered", "what", "data_kinds", "measures", "contact")
NOTIFY_HOURS = 72


def notify_by(discovered: datetime) -> datetime:
    return discovered + timedelta(hours=NOTIFY_HOURS)


def _parse_time(value: str, field: str, tz: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise errors.InvalidUserSetting(f"{field}: a date and time (YYYY-MM-DDTHH:MM)") from None
    if when.tzinfo is None:
        when = datetime.fromisoformat(when.isoformat() + tz)
    return when


@dataclass
class Breach:
    id: str
    values: dict[str, str]
    discovered: datetime
    author: str

    @property
    def notify_by(self) -> datetime:
        return notify_by(self.discovered)


def _div(text: str) -> dict:
    from html import escape
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></div>'}


def record(repo: Repository, values: dict[str, str], *, author: str, tz: str = "+07:00",
           now: datetime | None = None) -> str:
    """Store a breach record from the form's values; its id. Refuses (naming the field) a missing
    required field or a discovery time in the future or before the breach happened."""
    missing = [f for f in REQUIRED if not (values.get(f) or "").strip()]
    if missing:
        raise errors.InvalidUserSetting(f"required: {', '.join(missing)}", expression=missing[0])
    discovered = _parse_time(values["discovered"], "discovered", tz)
    now = now or datetime.now(discovered.tzinfo)
    if discovered > now + timedelta(minutes=5):
        raise errors.InvalidUserSetting("discovered: in the future", expression="discovered")
    if (values.get("occurred") or "").strip():
        occurred = _parse_time(values["occurred"], "occurred", tz)
        if occurred > discovered:
            raise errors.InvalidUserSetting("occurred: after it was discovered", expression="occurred")
    people = (values.get("people") or "").strip()
    if people and not people.isdigit():
        raise errors.InvalidUserSetting("people: a number", expression="people")
    sections = []
    for code, vi, _en, fields in SECTIONS:
        entries = [f for f in fields if (values.get(f) or "").strip()]
        section = {"title": vi, "code": {"coding": [{"system": SECTION_SYSTEM, "code": code}]},
                   "text": _div(" · ".join(f"{f}: {values[f].strip()}" for f in entries) or "—")}
        if entries:
            section["extension"] = [{"url": f"{SECTION_SYSTEM}#{f}", "valueString": values[f].strip()}
                                    for f in entries]
        sections.append(section)
    body: dict[str, Any] = {
        "resourceType": "Composition", "meta": {"profile": [PROFILE]}, "status": "final",
        "type": {"coding": [TYPE], "text": TYPE["display"]},
        "date": now.isoformat(timespec="seconds"), "author": [{"display": author}],
        "title": "Thông báo vi phạm quy định về bảo vệ dữ liệu cá nhân",
        "event": [{"period": {"start": discovered.isoformat(timespec="seconds"),
                              "end": notify_by(discovered).isoformat(timespec="seconds")}}],
        "section": sections,
    }
    return repo.create("Composition", body).res_id


def from_composition(body: dict) -> Breach:
    values = {}
    for section in body.get("section", []):
        for e in section.get("extension", []):
            url = e.get("url", "")
            if url.startswith(SECTION_SYSTEM + "#"):
                values[url.split("#", 1)[1]] = e.get("valueString", "")
    discovered = datetime.fromisoformat(body["event"][0]["period"]["start"])
    return Breach(body.get("id", ""), values, discovered, (body.get("author") or [{}])[0].get("display", ""))


def all_breaches(repo: Repository) -> list[Breach]:
    found = repo.search_all("Composition", [("type", f"{TYPE['system']}|{TYPE['code']}")])
    return sorted((from_composition(v.json()) for v in found), key=lambda b: b.discovered, reverse=True)
