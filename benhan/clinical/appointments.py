"""Appointments (issue 18 part 6): the registrar books a visit for a patient in a clinic (a Location)
at a time slot, reschedules it, cancels it, marks a no-show, and checks the patient in — which opens
the visit (clinical.visits) and links it back (Encounter.appointment). The follow-ups written at
discharge (clinical.discharge) are Appointments too and show on the same day list.

FHIR Appointment statuses used: booked → fulfilled (checked in) | cancelled | noshow. A slot is
SLOT_MINUTES long; a clinic takes at most `capacity` patients per slot (the web layer passes the
node's setting), counted over the appointments that still hold a place (booked or fulfilled).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical import visits
from benhan.clinical.common import Problems, ref, ref_id, stamp, zone
from benhan.store.repository import Repository
from benhan.vn.phone import normalize_phone, phone_problems

SLOT_MINUTES = 30
DEFAULT_CAPACITY = 20
# A place is held by what is booked or already came; cancelled and no-shows free it.
HOLDING = ("booked", "fulfilled", "arrived", "checked-in")
FINAL = ("cancelled", "noshow", "fulfilled", "entered-in-error")
# The patient's choice about SMS reminders (valueBoolean false: refused), asked at the desk.
SMS_REMINDERS_EXT = "https://benhan.vn/fhir/StructureDefinition/sms-reminders"


@dataclass
class DayEntry:
    appointment_id: str
    patient_id: str
    patient_name: str
    location_id: str
    location_name: str
    start: datetime
    status: str
    reason: str
    follow_up: bool              # written at discharge (names the visit that booked it)
    encounter_id: str | None     # the visit opened at check-in
    phone: str = ""              # the patient's mobile, for the reminder ('' when none)
    reminders_refused: bool = False


def parse_slot(day: str, slot: str, tz: str) -> datetime | None:
    """'2026-12-10' + '08:30' → an aware datetime at a slot boundary, or None."""
    try:
        d = date.fromisoformat(day.strip())
        hh, mm = slot.strip().split(":")
        t = time(int(hh), int(mm))
    except ValueError:
        return None
    if t.minute % SLOT_MINUTES:
        return None
    return datetime.combine(d, t, tzinfo=zone(tz))


def _location_of(appt: dict) -> str | None:
    for p in appt.get("participant") or []:
        r = (p.get("actor") or {}).get("reference", "")
        if r.startswith("Location/"):
            return r.split("/", 1)[1]
    return None


def _patient_of(appt: dict) -> str | None:
    for p in appt.get("participant") or []:
        r = (p.get("actor") or {}).get("reference", "")
        if r.startswith("Patient/"):
            return r.split("/", 1)[1]
    return None


def _start(appt: dict) -> datetime | None:
    try:
        s = appt.get("start") or ""
        return datetime.fromisoformat(s) if len(s) > 10 else None
    except ValueError:
        return None


def _around(repo: Repository, day: date) -> list:
    # A day's appointments in any time zone: search a day wider each side, keep the local day after.
    items = [("date", f"ge{(day - timedelta(days=1)).isoformat()}"),
             ("date", f"le{(day + timedelta(days=1)).isoformat()}")]
    return repo.search_all("Appointment", items)


def _taken(repo: Repository, location_id: str, start: datetime, skip: str | None = None) -> int:
    n = 0
    for m in _around(repo, start.date()):
        a = m.json()
        if m.res_id == skip or a.get("status") not in HOLDING or _location_of(a) != location_id:
            continue
        s = _start(a)
        if s is not None and s == start:
            n += 1
    return n


def _check(repo: Repository, p: Problems, patient_id: str, location_id: str, start: datetime | None,
           now: datetime, capacity: int, skip: str | None = None) -> None:
    if start is None:
        p.add("start", "ui.err.appt_slot", minutes=SLOT_MINUTES)
    elif start < now:
        p.add("start", "ui.err.appt_past")
    if location_id not in dict(visits.locations(repo)):
        p.add("location", "ui.err.choose")
    if not patient_id:
        p.add("patient", "ui.err.choose")
    p.raise_if_any()
    assert start is not None
    if _taken(repo, location_id, start, skip) >= capacity:
        p.add("start", "ui.err.appt_full", capacity=capacity)
        p.raise_if_any()


def book(repo: Repository, actor: Actor, patient_id: str, location_id: str, start: datetime | None,
         reason: str, *, now: datetime, capacity: int = DEFAULT_CAPACITY) -> str:
    """Book; the Appointment id. `now`: the clock (a past slot is refused)."""
    p = Problems()
    repo.read("Patient", patient_id) if patient_id else None
    _check(repo, p, patient_id, location_id, start, now, capacity)
    assert start is not None
    name = dict(visits.locations(repo))[location_id]
    aid = str(uuid.uuid4())
    body = {"resourceType": "Appointment", "status": "booked", "description": reason.strip() or "Khám bệnh",
            "start": start.isoformat(), "end": (start + timedelta(minutes=SLOT_MINUTES)).isoformat(),
            "created": now.date().isoformat(),
            "participant": [{"actor": ref("Patient", patient_id), "status": "accepted"},
                            {"actor": ref("Location", location_id, name), "status": "accepted"}]}
    if reason.strip():
        body["reasonCode"] = [{"text": reason.strip()}]
    repo.commit([repo.prepare("POST", "Appointment", aid, stamp(body, actor), create_only=True)], "create")
    return aid


def _open(repo: Repository, appointment_id: str) -> tuple[dict, int]:
    found = repo.read("Appointment", appointment_id)
    body = found.json()
    if body.get("status") in FINAL:
        p = Problems()
        p.add("status", "ui.err.appt_closed")
        p.raise_if_any()
    return body, found.version


def reschedule(repo: Repository, actor: Actor, appointment_id: str, start: datetime | None,
               location_id: str | None = None, *, now: datetime, capacity: int = DEFAULT_CAPACITY) -> None:
    """Move a booked appointment (same id: its old reminder no longer matches its start)."""
    body, version = _open(repo, appointment_id)
    loc = location_id or _location_of(body) or ""
    _check(repo, Problems(), _patient_of(body) or "", loc, start, now, capacity, skip=appointment_id)
    assert start is not None
    body["start"] = start.isoformat()
    body["end"] = (start + timedelta(minutes=SLOT_MINUTES)).isoformat()
    name = dict(visits.locations(repo))[loc]
    body["participant"] = [p for p in body.get("participant") or []
                           if not (p.get("actor") or {}).get("reference", "").startswith("Location/")]
    body["participant"].append({"actor": ref("Location", loc, name), "status": "accepted"})
    repo.update("Appointment", appointment_id, stamp(body, actor), if_match=version)


def set_status(repo: Repository, actor: Actor, appointment_id: str, status: str, reason: str = "") -> None:
    """Cancel or mark a no-show."""
    if status not in ("cancelled", "noshow"):
        raise ValueError(status)
    body, version = _open(repo, appointment_id)
    body["status"] = status
    if status == "cancelled" and reason.strip():
        body["cancelationReason"] = {"text": reason.strip()}
    repo.update("Appointment", appointment_id, stamp(body, actor), if_match=version)


def check_in(repo: Repository, actor: Actor, appointment_id: str, fac: visits.Facility, *,
             when: datetime, location_id: str | None = None, tz: str = "+07:00") -> str:
    """The patient came: open the visit in the clinic (linked to the appointment); the Encounter id."""
    body, version = _open(repo, appointment_id)
    pid = _patient_of(body)
    loc = location_id or _location_of(body)
    if not loc:
        p = Problems()
        p.add("location", "ui.err.choose")
        p.raise_if_any()
    eid = visits.open_visit(repo, actor, pid or "", "kham-benh", loc or "", body.get("description", ""),
                            fac, tz=tz, when=when, route="hen-kham" if _follow_up(body) else "")
    enc = repo.read("Encounter", eid)
    e = enc.json()
    e["appointment"] = [ref("Appointment", appointment_id)]
    repo.update("Encounter", eid, stamp(e, actor), if_match=enc.version)
    body["status"] = "fulfilled"
    repo.update("Appointment", appointment_id, stamp(body, actor), if_match=version)
    return eid


def patient_of(appt: dict) -> str | None:
    return _patient_of(appt)


def _follow_up(appt: dict) -> bool:
    return any((r.get("reference") or "").startswith("Encounter/") for r in appt.get("supportingInformation") or [])


def day_list(repo: Repository, day: date, tz: str = "+07:00") -> list[DayEntry]:
    """Everyone due on the local `day`, by start time: booked visits and discharge follow-ups."""
    z = zone(tz)
    rows = []
    for m in _around(repo, day):
        a = m.json()
        s = _start(a)
        if s is None or s.astimezone(z).date() != day:
            continue
        rows.append((m.res_id, a, s))
    patients: dict[str, dict] = {}
    places = dict(visits.locations(repo))
    linked: dict[str, str] = {}
    if rows:
        for m in repo.search_all_among("Encounter", "appointment", (f"Appointment/{r[0]}" for r in rows)):
            for r in m.json().get("appointment") or []:
                if ref_id(r):
                    linked[ref_id(r) or ""] = m.res_id
    out = []
    for aid, a, s in sorted(rows, key=lambda r: r[2]):
        pid = _patient_of(a) or ""
        if pid and pid not in patients:
            try:
                patients[pid] = repo.read("Patient", pid).json()
            except errors.BenhanError:      # deleted, or out of this user's reach: listed without a name
                patients[pid] = {}
        pat = patients.get(pid, {})
        loc = _location_of(a) or ""
        out.append(DayEntry(aid, pid, ((pat.get("name") or [{}])[0]).get("text", ""), loc, places.get(loc, ""),
                            s.astimezone(z), a.get("status", ""), a.get("description", ""), _follow_up(a),
                            linked.get(aid), mobile_of(pat), refuses_reminders(pat)))
    return out


def mobile_of(patient: dict) -> str:
    """The patient's first valid Vietnamese mobile number in the national form (0…), or ''."""
    for c in patient.get("telecom") or []:
        if c.get("system") in ("phone", "sms") and c.get("value") and not phone_problems(c["value"], mobile_only=True):
            return normalize_phone(c["value"])
    return ""


def refuses_reminders(patient: dict) -> bool:
    return any(e.get("url") == SMS_REMINDERS_EXT and e.get("valueBoolean") is False
               for e in patient.get("extension") or [])


def set_reminder_choice(repo: Repository, actor: Actor, patient_id: str, wanted: bool) -> None:
    """Record whether the patient wants SMS reminders (Patient extension SMS_REMINDERS_EXT)."""
    found = repo.read("Patient", patient_id)
    body = found.json()
    body["extension"] = [e for e in body.get("extension") or [] if e.get("url") != SMS_REMINDERS_EXT]
    body["extension"].append({"url": SMS_REMINDERS_EXT, "valueBoolean": wanted})
    repo.update("Patient", patient_id, stamp(body, actor), if_match=found.version)


def still_booked(repo: Repository, appointment_id: str, start: str) -> bool:
    """The appointment is still booked at this start (a reminder queued for it may go out)."""
    try:
        a = repo.read("Appointment", appointment_id).json()
    except errors.BenhanError:      # deleted or gone: nothing to remind of
        return False
    return a.get("status") == "booked" and a.get("start") == start
