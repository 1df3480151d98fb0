"""The departments of an inpatient stay (01/BV1 items 15, 16 and 19): each stay in a department is
one entry of Encounter.location with its period — the first is the admitting department ("Vào
khoa"), each later one a transfer ("Chuyển khoa"). A transfer ends the current entry (status
completed, period.end) and opens the next (status active, period.start) at the same moment, and
hands the visit to the new department (Encounter.serviceProvider: department-scoped staff see it).

Days per department: the days from the entry's start to its end, by calendar date; the last
department also counts the day of discharge, so the stays add up to the total treatment days the
discharge writes (ngày ra − ngày vào + 1).

Beds (clinical.beds) are entries of Encounter.location too, with physicalType `bd`: they are not
departments and are skipped here. A transfer frees the patient's bed in the department left and,
when one is chosen, takes a bed in the new one, in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from benhan.auth.actor import Actor
from benhan.clinical import beds, visits
from benhan.clinical.common import Problems, now, ref, ref_id, stamp
from benhan.store.repository import Repository


@dataclass(frozen=True)
class Stay:
    location_id: str
    name: str
    start: str              # ISO, "" when unknown
    end: str                # ISO, "" while the patient is there
    days: int | None        # None while it is open or its start is unknown

    @property
    def current(self) -> bool:
        return not self.end


def _date(iso: str) -> date | None:
    try:
        return datetime.fromisoformat(iso).date() if len(iso) >= 10 else None
    except ValueError:
        return None


def _moment(iso: str) -> datetime | None:
    """A FHIR dateTime with its time (a date alone, or only a year, is valid FHIR: None)."""
    try:
        return datetime.fromisoformat(iso) if len(iso) > 10 else None
    except ValueError:
        return None


def stays(encounter: dict, names: dict[str, str] | None = None) -> list[Stay]:
    """The departments in order of arrival; `names` (Location id → name) fills in a display the
    entry lacks (data from elsewhere)."""
    names = names or {}
    entries = [e for e in encounter.get("location") or [] if not beds.is_bed_entry(e)]
    start = (encounter.get("period") or {}).get("start", "")
    end = (encounter.get("period") or {}).get("end", "")
    out = []
    for i, e in enumerate(entries):
        lid = ref_id(e.get("location")) or ""
        period = e.get("period") or {}
        s = period.get("start") or (start if i == 0 else "")
        last = i == len(entries) - 1
        en = period.get("end") or (end if last else "")
        d0, d1 = _date(s), _date(en)
        days = None if d0 is None or d1 is None else (d1 - d0).days + (1 if last else 0)
        out.append(Stay(lid, (e.get("location") or {}).get("display") or names.get(lid, ""), s, en, days))
    return out


def transfer(repo: Repository, actor: Actor, encounter: dict, location_id: str, fac: visits.Facility,
             tz: str = "+07:00", when: datetime | None = None, bed_id: str = "") -> None:
    """Move the patient to another department: the current stay ends when the next begins."""
    p = Problems()
    when = when or now(tz)
    if encounter.get("class", {}).get("code") != "IMP":
        p.add("transfer_to", "ui.adm.err.not_inpatient")
    if encounter.get("status") == "finished":
        p.add("transfer_to", "ui.err.already_finished")
    room = next((loc for loc in repo.search_type("Location", [("_id", location_id or "x"), ("status", "active")]).matches),
                None)
    current = stays(encounter)
    if room is None or beds.is_ward_place(room.json()):
        p.add("transfer_to", "ui.err.choose")
    elif current and current[-1].location_id == location_id:
        p.add("transfer_to", "ui.transfer.err.same")
    since = current[-1].start if current else (encounter.get("period") or {}).get("start", "")
    if _moment(since) and _moment(since) > when:
        p.add("transfer_to", "ui.transfer.err.before")
    p.raise_if_any()
    assert room is not None
    loc = room.json()
    enc = {k: v for k, v in encounter.items() if k != "meta"}
    entries = [dict(e) for e in enc.get("location") or []]
    enc["location"] = entries
    bed_writes = beds.release_writes(repo, actor, enc, when)
    departments = [e for e in entries if not beds.is_bed_entry(e)]
    if departments:
        last = departments[-1]
        last["status"] = "completed"
        last["period"] = {**(last.get("period") or {}), "end": when.isoformat()}
        if "start" not in last["period"] and len(departments) == 1 and since:
            last["period"]["start"] = since
    entries.append({"location": ref("Location", room.res_id, loc.get("name", room.res_id)), "status": "active",
                    "period": {"start": when.isoformat()}})
    if bed_id:
        bed_writes += beds.claim_writes(repo, actor, enc, bed_id, when, department_id=room.res_id,
                                        field="transfer_bed")
    provider = visits.department_of(loc, fac)
    if provider:
        enc["serviceProvider"] = ref("Organization", provider)
    version = int(encounter.get("meta", {}).get("versionId", "0")) or None
    repo.commit([repo.prepare("PUT", "Encounter", enc["id"], stamp(enc, actor), if_match=version), *bed_writes],
                "transaction")


def close_current(encounter: dict, when: datetime) -> None:
    """At discharge the last department's stay ends with the visit (in place, on the body being written);
    the bed entry too (the bed itself is freed by clinical.beds.release_writes)."""
    for bed in (beds.current_bed(encounter), beds.current_room(encounter)):
        if bed is not None:
            bed["status"] = "completed"
            bed["period"] = {**(bed.get("period") or {}), "end": when.isoformat()}
    entries = [e for e in encounter.get("location") or [] if not beds.is_bed_entry(e)]
    if entries and entries[-1].get("status", "active") == "active":
        last = entries[-1]
        last["status"] = "completed"
        last["period"] = {**(last.get("period") or {}), "end": when.isoformat()}
