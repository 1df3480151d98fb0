"""Beds of the wards: rooms and beds as FHIR `Location`s, a patient's bed as an entry of
Encounter.location, leave of absence, and the one rule that matters most — a bed holds one patient.

Shapes (http://hl7.org/fhir/R4/location.html):
- a ward room ("Buồng"): Location physicalType `ro`, partOf the department's Location (the one visits
  are opened in and transferred to, clinical.transfers), managingOrganization as the department's;
- a bed ("Giường"): Location physicalType `bd`, partOf its room, operationalStatus from v2 table 0116
  (C closed, H housekeeping, O occupied, U unoccupied, K contaminated, I isolated), and while occupied
  the extension `bed-occupant` naming the Encounter in it;
- the patient's bed: an entry of Encounter.location with physicalType `bd` and its period; the
  departments' entries have no physicalType (clinical.transfers skips bed entries). During a leave
  of absence the Encounter is `onleave` (statusHistory keeps the leave's period) and the bed entry is
  `reserved`: the bed is kept.

Why the claim is safe: taking a bed writes the bed Location with If-Match on the version that was read
as free, in the same transaction as the Encounter. Two nurses who read the same free bed both write
"version n → n+1"; the store checks the version inside the transaction (SQLite's single writer,
PostgreSQL's row lock), so exactly one commits and the other gets a conflict.

The bed's status is kept by the ward workflow on the nurse's behalf: the bed Location is prepared with
the system's rights (a nurse does not edit reference data through the API) and committed, and audited,
in the nurse's transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from benhan.auth.actor import Actor
from benhan.clinical.common import BENHAN, Problems, now, ref, ref_id, stamp, zone
from benhan.store.repository import Repository
from benhan.store.writer import PendingWrite

PHYSICAL = "http://terminology.hl7.org/CodeSystem/location-physical-type"
OPERATIONAL = "http://terminology.hl7.org/CodeSystem/v2-0116"
OCCUPANT_EXT = f"{BENHAN}/StructureDefinition/bed-occupant"
STATUSES = {"U": ("Giường trống", "Unoccupied"), "O": ("Có người bệnh", "Occupied"),
            "H": ("Đang vệ sinh", "Housekeeping"), "C": ("Đóng", "Closed"),
            "K": ("Nhiễm khuẩn", "Contaminated"), "I": ("Cách ly", "Isolated")}
# What a nurse may set by hand (O is set only by admitting a patient).
SETTABLE = ("U", "H", "C", "K", "I")
OPEN = ("planned", "arrived", "triaged", "in-progress", "onleave")


def physical_type(body: dict) -> str:
    return ((body.get("physicalType") or {}).get("coding") or [{}])[0].get("code", "")


def is_bed_entry(entry: dict) -> bool:
    """A ward entry of Encounter.location: the bed, or its room (printed as "Buồng" on the sheets)."""
    return physical_type(entry) in ("bd", "ro")


def is_ward_place(location: dict) -> bool:
    """A bed, or a room inside a department: not somewhere a visit is opened or transferred to."""
    kind = physical_type(location)
    return kind == "bd" or (kind == "ro" and bool(location.get("partOf")))


def _coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def operational(bed: dict) -> str:
    return (bed.get("operationalStatus") or {}).get("code", "U")


def occupant(bed: dict) -> str | None:
    """The Encounter id the bed says is in it (None when free)."""
    ext = next((e for e in bed.get("extension", []) if e.get("url") == OCCUPANT_EXT), None)
    return ref_id((ext or {}).get("valueReference")) if operational(bed) == "O" else None


# --- defining rooms and beds (facility_admin) ------------------------------------------------------

def define_room(repo: Repository, actor: Actor, department_id: str, name: str) -> str:
    p = Problems()
    dept = _department(repo, department_id)
    if dept is None:
        p.add("room_department", "ui.err.choose")
    if not (name or "").strip():
        p.add("room_name", "ui.err.required")
    p.raise_if_any()
    assert dept is not None
    body = {"resourceType": "Location", "status": "active", "name": name.strip(), "mode": "instance",
            "physicalType": _coded(PHYSICAL, "ro", "Room"), "partOf": ref("Location", department_id, dept.get("name"))}
    if dept.get("managingOrganization"):
        body["managingOrganization"] = dept["managingOrganization"]
    return repo.create("Location", stamp(body, actor)).res_id


def define_bed(repo: Repository, actor: Actor, room_id: str, name: str) -> str:
    p = Problems()
    room = _read(repo, room_id)
    if room is None or physical_type(room) != "ro" or not room.get("partOf"):
        p.add("bed_room", "ui.err.choose")
    if not (name or "").strip():
        p.add("bed_name", "ui.err.required")
    p.raise_if_any()
    assert room is not None
    body = {"resourceType": "Location", "status": "active", "name": name.strip(), "mode": "instance",
            "physicalType": _coded(PHYSICAL, "bd", "Bed"), "partOf": ref("Location", room_id, room.get("name")),
            "operationalStatus": {"system": OPERATIONAL, "code": "U", "display": "Unoccupied"}}
    if room.get("managingOrganization"):
        body["managingOrganization"] = room["managingOrganization"]
    return repo.create("Location", stamp(body, actor)).res_id


def _read(repo: Repository, lid: str) -> dict | None:
    found = repo.search_type("Location", [("_id", lid or "x")]).matches
    return found[0].json() if found else None


def _department(repo: Repository, lid: str) -> dict | None:
    loc = _read(repo, lid)
    return loc if loc is not None and loc.get("status", "active") == "active" and not is_ward_place(loc) else None


# --- the ward's layout -------------------------------------------------------------------------------

@dataclass
class Bed:
    id: str
    name: str
    room_id: str
    room: str
    status: str                 # v2-0116 code
    occupant: str | None        # Encounter id
    version: int


def layout(repo: Repository, department_id: str) -> list[Bed]:
    """The department's beds, by room then bed name (two searches: rooms, then their beds)."""
    rooms = {m.res_id: m.json().get("name", "") for m in repo.search_all(
        "Location", [("partof", f"Location/{department_id}")])
        if physical_type(m.json()) == "ro"}
    if not rooms:
        return []
    found = repo.search_all("Location", [("partof", ",".join(f"Location/{r}" for r in rooms))])
    out = []
    for m in found:
        b = m.json()
        if physical_type(b) != "bd" or b.get("status", "active") != "active":
            continue
        rid = ref_id(b.get("partOf")) or ""
        out.append(Bed(m.res_id, b.get("name", ""), rid, rooms.get(rid, ""), operational(b), occupant(b),
                       m.version))
    return sorted(out, key=lambda x: (_natural(x.room), _natural(x.name)))


def _natural(text: str) -> tuple:
    import re
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def departments_with_beds(repo: Repository) -> list[tuple[str, str]]:
    """(id, name) of the departments that have ward rooms."""
    rooms = [m.json() for m in repo.search_all("Location", [("status", "active")])]
    ids = {ref_id(r.get("partOf")) for r in rooms if physical_type(r) == "ro" and r.get("partOf")}
    return sorted(((r["id"], r.get("name", "")) for r in rooms if r["id"] in ids), key=lambda x: x[1])


# --- the patient's bed -------------------------------------------------------------------------------

def _current(encounter: dict, kind: str) -> dict | None:
    for e in reversed(encounter.get("location") or []):
        if physical_type(e) == kind:
            return e if e.get("status", "active") in ("active", "reserved") else None
    return None


def current_bed(encounter: dict) -> dict | None:
    """The encounter's bed entry now (active, or reserved during a leave)."""
    return _current(encounter, "bd")


def current_room(encounter: dict) -> dict | None:
    return _current(encounter, "ro")


def current_department(encounter: dict) -> str | None:
    deps = [e for e in encounter.get("location") or [] if not is_bed_entry(e)]
    return ref_id(deps[-1].get("location")) if deps else None


def bed_name(bed: dict, room: str = "") -> str:
    return f"{bed.get('name', '')} — {room}" if room else bed.get("name", "")


def _room_of(repo: Repository, bed: dict) -> dict | None:
    return _read(repo, ref_id(bed.get("partOf")) or "")


def _is_open(repo: Repository, encounter_id: str | None) -> bool:
    if not encounter_id:
        return False
    found = repo.search_type("Encounter", [("_id", encounter_id)]).matches
    return bool(found) and found[0].json().get("status") in OPEN


def _system_pending(repo: Repository, bed: dict, version: int) -> PendingWrite:
    system = Repository(repo.store, Actor.system())
    return system.prepare("PUT", "Location", bed["id"], bed, if_match=version)


def _occupy(bed: dict, encounter_id: str, actor: Actor) -> dict:
    out = {k: v for k, v in bed.items() if k != "meta"}
    out["operationalStatus"] = {"system": OPERATIONAL, "code": "O", "display": "Occupied"}
    out["extension"] = [e for e in out.get("extension", []) if e.get("url") != OCCUPANT_EXT] + [
        {"url": OCCUPANT_EXT, "valueReference": ref("Encounter", encounter_id)}]
    return stamp(out, actor)


def _free(bed: dict, actor: Actor) -> dict:
    out = {k: v for k, v in bed.items() if k != "meta"}
    out["operationalStatus"] = {"system": OPERATIONAL, "code": "U", "display": "Unoccupied"}
    out["extension"] = [e for e in out.get("extension", []) if e.get("url") != OCCUPANT_EXT]
    if not out["extension"]:
        out.pop("extension")
    return stamp(out, actor)


def release_writes(repo: Repository, actor: Actor, enc: dict, when: datetime) -> list[PendingWrite]:
    """Close the encounter's bed entry in `enc` (in place) and free the bed if it still names this
    encounter: the writes for the bed (none when the bed already moved on)."""
    entry = current_bed(enc)
    if entry is None:
        return []
    for e in (entry, current_room(enc)):
        if e is not None:
            e["status"] = "completed"
            e["period"] = {**(e.get("period") or {}), "end": when.isoformat()}
    found = repo.search_type("Location", [("_id", ref_id(entry.get("location")) or "x")]).matches
    if not found or occupant(found[0].json()) != enc["id"]:
        return []
    return [_system_pending(repo, _free(found[0].json(), actor), found[0].version)]


def claim_writes(repo: Repository, actor: Actor, enc: dict, bed_id: str, when: datetime,
                 department_id: str | None = None, field: str = "bed") -> list[PendingWrite]:
    """Put the patient of `enc` in bed `bed_id` (changing `enc` in place: the old bed's entry closed,
    the new one opened) and the writes for both beds, the new one conditional on the version read
    as free. `department_id`: the department the bed must be in (default: the current one)."""
    p = Problems()
    found = repo.search_type("Location", [("_id", bed_id or "x")]).matches
    bed = found[0].json() if found else None
    department_id = department_id or current_department(enc)
    if bed is None or physical_type(bed) != "bd" or bed.get("status", "active") != "active":
        p.add(field, "ui.err.choose")
        p.raise_if_any()
    assert bed is not None
    room = _room_of(repo, bed) or {}
    if ref_id(room.get("partOf")) != department_id:
        p.add(field, "ui.bed.err.other_department")
    here = current_bed(enc)
    if here is not None and ref_id(here.get("location")) == bed_id:
        p.add(field, "ui.bed.err.same")
    who = occupant(bed)
    if who and who != enc["id"] and _is_open(repo, who):
        p.add(field, "ui.bed.err.occupied")
    elif operational(bed) in ("C", "H", "K") and not who:
        p.add(field, "ui.bed.err.unavailable")
    if enc.get("status") not in OPEN:
        p.add(field, "ui.err.already_finished")
    p.raise_if_any()
    writes = release_writes(repo, actor, enc, when)
    period = {"start": when.isoformat()}
    enc.setdefault("location", []).extend([
        {"location": ref("Location", room.get("id", ""), room.get("name", "")), "status": "active",
         "physicalType": _coded(PHYSICAL, "ro", "Room"), "period": dict(period)},
        {"location": ref("Location", bed_id, bed.get("name", "")), "status": "active",
         "physicalType": _coded(PHYSICAL, "bd", "Bed"), "period": dict(period)}])
    writes.append(_system_pending(repo, _occupy(bed, enc["id"], actor), found[0].version))
    return writes


def _commit(repo: Repository, actor: Actor, encounter: dict, enc: dict, extra: list[PendingWrite]) -> None:
    version = int(encounter.get("meta", {}).get("versionId", "0")) or None
    pending = [repo.prepare("PUT", "Encounter", enc["id"], stamp(enc, actor), if_match=version), *extra]
    repo.commit(pending, "transaction")


def _body(encounter: dict) -> dict:
    enc = {k: v for k, v in encounter.items() if k != "meta"}
    enc["location"] = [dict(e) for e in enc.get("location") or []]
    return enc


def assign(repo: Repository, actor: Actor, encounter: dict, bed_id: str, tz: str = "+07:00",
           when: datetime | None = None) -> None:
    """Admit the patient to a bed of the current department, or move to another bed there."""
    p = Problems()
    if encounter.get("class", {}).get("code") != "IMP":
        p.add("bed", "ui.adm.err.not_inpatient")
    p.raise_if_any()
    when = when or now(tz)
    enc = _body(encounter)
    writes = claim_writes(repo, actor, enc, bed_id, when)
    if enc.get("status") in ("arrived", "planned", "triaged"):
        enc["status"] = "in-progress"
    _commit(repo, actor, encounter, enc, writes)


def set_status(repo: Repository, actor: Actor, bed_id: str, code: str) -> None:
    """A nurse marks a free bed closed, being cleaned, contaminated, isolated — or free again."""
    p = Problems()
    found = repo.search_type("Location", [("_id", bed_id or "x")]).matches
    if not found or physical_type(found[0].json()) != "bd" or code not in SETTABLE:
        p.add("bed_status", "ui.err.choose")
        p.raise_if_any()
    bed = found[0].json()
    if occupant(bed) and _is_open(repo, occupant(bed)):
        p.add("bed_status", "ui.bed.err.occupied")
        p.raise_if_any()
    body = _free(bed, actor)
    body["operationalStatus"] = {"system": OPERATIONAL, "code": code, "display": STATUSES[code][1]}
    repo.commit([_system_pending(repo, body, found[0].version)], "update")


# --- leave of absence --------------------------------------------------------------------------------

def start_leave(repo: Repository, actor: Actor, encounter: dict, tz: str = "+07:00",
                when: datetime | None = None, until: datetime | None = None) -> None:
    """The patient leaves the ward for a while (nghỉ phép): the Encounter is onleave, the bed kept."""
    p = Problems()
    when = when or now(tz)
    if encounter.get("class", {}).get("code") != "IMP":
        p.add("leave", "ui.adm.err.not_inpatient")
    elif encounter.get("status") not in ("arrived", "triaged", "in-progress"):
        p.add("leave", "ui.bed.err.leave_status")
    if until is not None and until <= when:
        p.add("leave_until", "ui.bed.err.leave_until")
    p.raise_if_any()
    enc = _body(encounter)
    history = list(enc.get("statusHistory") or [])
    period = {"start": when.isoformat(), **({"end": until.isoformat()} if until else {})}
    history.append({"status": "onleave", "period": period})
    enc["statusHistory"] = history
    enc["status"] = "onleave"
    for e in (current_bed(enc), current_room(enc)):
        if e is not None:
            e["status"] = "reserved"
    _commit(repo, actor, encounter, enc, [])


def end_leave(repo: Repository, actor: Actor, encounter: dict, tz: str = "+07:00",
              when: datetime | None = None) -> None:
    """Back from leave: in-progress again, the leave's period ends now, the kept bed active."""
    p = Problems()
    if encounter.get("status") != "onleave":
        p.add("leave", "ui.bed.err.not_on_leave")
    p.raise_if_any()
    when = when or now(tz)
    enc = _body(encounter)
    history = [dict(h) for h in enc.get("statusHistory") or []]
    if history and history[-1].get("status") == "onleave":
        start = history[-1]["period"].get("start", "")
        if start and datetime.fromisoformat(start) > when:
            p.add("leave", "ui.transfer.err.before")
            p.raise_if_any()
        history[-1]["period"] = {**history[-1]["period"], "end": when.isoformat()}
    enc["statusHistory"] = history
    enc["status"] = "in-progress"
    for e in (current_bed(enc), current_room(enc)):
        if e is not None:
            e["status"] = "active"
    _commit(repo, actor, encounter, enc, [])


def leave_now(encounter: dict) -> dict | None:
    """The open leave's period (None when not on leave)."""
    if encounter.get("status") != "onleave":
        return None
    history = encounter.get("statusHistory") or []
    return (history[-1].get("period") or {}) if history and history[-1].get("status") == "onleave" else {}


# --- days ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BedStay:
    bed_id: str
    name: str
    start: str
    end: str


def bed_stays(encounter: dict) -> list[BedStay]:
    """The beds the patient lay in, in order (01/BV1, the bed lines of the bill)."""
    return [BedStay(ref_id(e.get("location")) or "", (e.get("location") or {}).get("display", ""),
                    (e.get("period") or {}).get("start", ""), (e.get("period") or {}).get("end", ""))
            for e in encounter.get("location") or [] if physical_type(e) == "bd"]


def days_in_hospital(encounter: dict, today: date, tz: str = "+07:00") -> int | None:
    """Day of the stay, counting the admission day as day 1 (what the ward board shows); the
    admission's calendar day is taken in the facility's zone, as `today` is."""
    start = (encounter.get("period") or {}).get("start", "")
    try:
        d0 = datetime.fromisoformat(start)
    except ValueError:
        return None
    if len(start) <= 10 or d0.tzinfo is None:
        return (today - d0.date()).days + 1
    return (today - d0.astimezone(zone(tz)).date()).days + 1


# The demo facility's wards (clinical.load_demo): rooms × beds per inpatient department.
DEMO_WARDS = {"Khoa Nội": (3, 4), "Khoa Ngoại": (2, 4), "Khoa Nhi": (2, 3)}


def load_demo_beds(repo: Repository, actor: Actor) -> int:
    """Rooms and beds for the demo's inpatient departments, with ids derived from the department's so
    loading again writes nothing new (each write a no-op). The number of beds written."""
    deps = {m.json().get("name"): m for m in repo.search_all("Location", [("status", "active")])}
    count = 0
    for name, (rooms, per_room) in DEMO_WARDS.items():
        dept = deps.get(name)
        if dept is None:
            continue
        org = dept.json().get("managingOrganization")
        for n in range(1, rooms + 1):
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"benhan-demo/{dept.res_id}/room/{n}"))
            room = {"resourceType": "Location", "id": rid, "status": "active", "name": f"Buồng {n}", "mode": "instance",
                    "physicalType": _coded(PHYSICAL, "ro", "Room"), "partOf": ref("Location", dept.res_id, name)}
            repo.update("Location", rid, {**room, **({"managingOrganization": org} if org else {})})
            for b in range(1, per_room + 1):
                bid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"benhan-demo/{rid}/bed/{b}"))
                if repo.search_type("Location", [("_id", bid)]).matches:
                    continue            # its status is the ward's now: never reset by a reload
                bed = {"resourceType": "Location", "id": bid, "status": "active", "name": f"Giường {(n - 1) * per_room + b}",
                       "mode": "instance", "physicalType": _coded(PHYSICAL, "bd", "Bed"),
                       "partOf": ref("Location", rid, f"Buồng {n}"),
                       "operationalStatus": {"system": OPERATIONAL, "code": "U", "display": "Unoccupied"}}
                repo.update("Location", bid, {**bed, **({"managingOrganization": org} if org else {})})
                count += 1
    return count
