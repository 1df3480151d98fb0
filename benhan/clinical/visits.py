"""Visits: opening an Encounter (outpatient exam, emergency, inpatient admission) in a room or
department, the per-room queue of the day, and the facility the visit belongs to.

An open visit is `arrived` (waiting in the room's queue) and becomes `in-progress` when a
clinician first records on it; discharge finishes it. Every visit gets its MA_LK episode key
when it opens (DESIGN §10), as the synthetic data does.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from benhan.auth.actor import Actor
from benhan.clinical.common import Problems, author, now, ref, ref_id, stamp
from benhan.store.repository import Repository
from benhan.terminology.curated import ENCOUNTER_TYPE_URL, ENCOUNTER_TYPES
from benhan.vn.identifiers import MA_LK_SYSTEM

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
MA_CSKCB_SYSTEM = "https://benhan.vn/sid/ma-cskcb"
# The kinds a desk opens (the others — day treatment, home visits … — come with later issues).
OPENABLE = ("kham-benh", "cap-cuu", "noi-tru")
_TYPES = {code: (name, klass) for code, name, klass, _ in ENCOUNTER_TYPES}
OPEN_STATUSES = ("planned", "arrived", "triaged", "in-progress", "onleave")
# The BHYT route asked at the desk (billing.coverage turns it into the visit's MA_DOITUONG_KCB):
# the facility on the card, a transfer slip, an appointment, a temporary stay, self-referred, no card.
BHYT_ROUTE_EXT = "https://benhan.vn/fhir/StructureDefinition/bhyt-route"
BHYT_ROUTES = ("dang-ky", "chuyen-tuyen", "hen-kham", "luu-tru", "tu-den", "khong-bhyt")


@dataclass(frozen=True)
class Facility:
    organization_id: str | None
    name: str
    code: str


def facility(repo: Repository, configured_name: str | None = None) -> Facility:
    """The facility this node serves: the Organization carrying a MA_CSKCB (the demo's has one)."""
    found = repo.search_type("Organization", [("identifier", f"{MA_CSKCB_SYSTEM}|"), ("_count", "1")])
    if not found.matches:
        found = repo.search_type("Organization", [("_count", "1")])
    if not found.matches:
        return Facility(None, configured_name or "benhan", "")
    org = found.matches[0].json()
    code = next((i.get("value", "") for i in org.get("identifier", []) if i.get("system") == MA_CSKCB_SYSTEM), "")
    return Facility(found.matches[0].res_id, configured_name or org.get("name", "benhan"), code)


def _active_locations(repo: Repository) -> list[dict]:
    """Where a visit is opened or transferred to: not a ward's rooms and beds (clinical.beds)."""
    found = repo.search_all("Location", [("status", "active")])
    return [loc for loc in (m.json() for m in found) if not _ward_place(loc)]


def _ward_place(location: dict) -> bool:
    # clinical.beds.is_ward_place, inlined: beds imports this module's neighbours, not the other way.
    kind = ((location.get("physicalType") or {}).get("coding") or [{}])[0].get("code", "")
    return kind == "bd" or (kind == "ro" and bool(location.get("partOf")))


def locations(repo: Repository) -> list[tuple[str, str]]:
    """(id, name) of the facility's rooms and departments."""
    return sorted(((loc["id"], loc.get("name", loc["id"])) for loc in _active_locations(repo)), key=lambda x: x[1])


def department_of(location: dict, fac: Facility) -> str | None:
    """The Organization that runs a visit in this room: the room's managing department (a khoa of a
    hospital, an Organization of its own) when it has one, else the facility. It becomes the
    visit's serviceProvider, which is what department-scoped staff are given access by."""
    managing = (location.get("managingOrganization") or {}).get("reference", "")
    if managing.startswith("Organization/") and "/" not in managing[len("Organization/"):]:
        return managing.split("/", 1)[1]
    return fac.organization_id


def open_visit(repo: Repository, actor: Actor, patient_id: str, kind: str, location_id: str, reason: str,
               fac: Facility, tz: str = "+07:00", when: datetime | None = None, route: str = "") -> str:
    """Open the visit; `when`: the clock (tests), else now. `route`: where an insured patient comes
    from (BHYT_ROUTES), which decides what the fund pays (docs/billing.md); '' when not asked."""
    p = Problems()
    if kind not in OPENABLE:
        p.add("visit_type", "ui.err.choose")
    if route and route not in BHYT_ROUTES:
        p.add("route", "ui.err.choose")
    room = next((loc for loc in _active_locations(repo) if loc["id"] == location_id), None)
    if room is None:
        p.add("location", "ui.err.choose")
    p.raise_if_any()
    name, klass = _TYPES[kind]
    start = when or now(tz)
    eid = str(uuid.uuid4())
    body: dict = {
        "resourceType": "Encounter", "status": "arrived",
        "identifier": [{"system": MA_LK_SYSTEM, "value": f"{fac.code}{start:%y%m%d}{eid[:8].upper()}"}],
        "class": {"system": ACT_CODE, "code": klass},
        "type": [{"coding": [{"system": ENCOUNTER_TYPE_URL, "code": kind, "display": name}]}],
        "subject": ref("Patient", patient_id),
        "participant": [{"individual": author(actor)}],
        "period": {"start": start.isoformat()},
        "location": [{"location": ref("Location", location_id, room.get("name", location_id)),
                      "status": "active"}],
    }
    if kind == "cap-cuu":
        body["priority"] = {"coding": [{"system": ACT_CODE, "code": "EM", "display": "emergency"}]}
    if kind == "noi-tru":
        # The admitting department's stay starts with the admission (clinical.transfers); how the
        # patient came in is the doctor's to record (clinical.admission), never assumed here.
        body["location"][0]["period"] = {"start": start.isoformat()}
    if reason:
        body["reasonCode"] = [{"text": reason}]
    if route:
        body["extension"] = [{"url": BHYT_ROUTE_EXT, "valueCode": route}]
    provider = department_of(room, fac)
    if provider:
        body["serviceProvider"] = ref("Organization", provider)
    pending = repo.prepare("POST", "Encounter", eid, stamp(body, actor), create_only=True)
    repo.commit([pending], "create")
    return eid


def mark_in_progress(repo: Repository, actor: Actor, encounter: dict) -> dict:
    """The first clinical entry takes the patient out of the waiting queue."""
    if encounter.get("status") not in ("arrived", "planned", "triaged"):
        return encounter
    body = dict(encounter)
    body["status"] = "in-progress"
    stored = repo.update("Encounter", body["id"], stamp(body, actor))
    body["meta"] = {"versionId": str(stored.version)}
    return body


@dataclass
class QueueEntry:
    encounter_id: str
    patient_id: str
    patient_name: str
    kind: str
    status: str
    start: str
    reason: str


def queue(repo: Repository, location_id: str | None, day: date) -> list[QueueEntry]:
    """Today's open visits in a room (all rooms when None), oldest first, with the patients' names."""
    items = [("status", ",".join(OPEN_STATUSES)), ("date", f"ge{day.isoformat()}"),
             ("_include", "Encounter:subject"), ("_sort", "date")]
    if location_id:
        items.append(("location", f"Location/{location_id}"))
    included: list = []
    found = repo.search_all("Encounter", items, included=included)
    names = {m.res_id: (m.json().get("name") or [{}])[0].get("text", "") for m in included
             if m.res_type == "Patient"}
    out = []
    for m in found:
        e = m.json()
        places = [x for x in e.get("location") or [] if (x.get("physicalType") or {}).get("coding", [{}])[0]
                  .get("code") not in ("bd", "ro")] or [{}]
        if location_id and ref_id(places[-1].get("location")) != location_id:
            continue        # transferred to another department since: that room's queue lists it now
        pid = (e.get("subject", {}).get("reference", "/").split("/") + [""])[1]
        out.append(QueueEntry(m.res_id, pid, names.get(pid, ""), kind_of(e), e.get("status", ""),
                              (e.get("period") or {}).get("start", ""), (e.get("reasonCode") or [{}])[0].get("text", "")))
    return out


def kind_of(encounter: dict) -> str:
    # type, its coding and period are optional in FHIR: an Encounter from the API may lack any of them.
    return (((encounter.get("type") or [{}])[0].get("coding") or [{}])[0]).get("code", "")


def is_inpatient(encounter: dict) -> bool:
    return encounter.get("class", {}).get("code") == "IMP"


def start_of(encounter: dict) -> datetime | None:
    """When the visit started, or None (no period, or only a date or a year: all valid FHIR)."""
    s = (encounter.get("period") or {}).get("start") or ""
    try:
        return datetime.fromisoformat(s) if len(s) > 10 else None
    except ValueError:
        return None
