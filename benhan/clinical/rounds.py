"""Vital-signs rounds due on an inpatient stay, from the care level the doctor ordered.

The care level (chế độ chăm sóc cấp I/II/III, clinical.notes) is the one on the stay's latest progress note
that orders one; it sets how often the nurse takes the vital signs. The intervals are a facility's settings
(vitals_hours_care_1/2/3) whose defaults — cấp I every 3 h, cấp II every 6 h, cấp III every 12 h — are
benhan's configurable defaults, not numbers from a Ministry of Health text. A stay with no care level
ordered yet is taken at the cấp III interval (and shown as "not ordered").

The next round is due one interval after the last vital-signs Observation of the stay (any vital sign, not
entered-in-error); a stay with none is due from its admission. A round is due from its time and overdue
once it is `late_after` past it. Pure functions with an injected clock, and `due_rounds`, which reads a
ward's open stays in a fixed number of searches (three, whatever the ward's size).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from benhan.clinical import notes
from benhan.clinical.common import name_of, ref_id
from benhan.fhir.text import fold
from benhan.store.repository import Repository

HOURS = {"1": 3, "2": 6, "3": 12}       # the defaults of the settings vitals_hours_care_1/2/3
UNORDERED = "3"                         # the interval used while no care level is ordered
LATE_AFTER = timedelta(minutes=60)
OPEN = "planned,arrived,triaged,in-progress,onleave"


@dataclass(frozen=True)
class Round:
    encounter_id: str
    patient: str
    level: str              # "1" | "2" | "3" | "" (not ordered)
    last: datetime | None   # the last vital signs taken
    at: datetime            # when the next round is due
    state: str              # upcoming | due | overdue


def instant(text: str) -> datetime | None:
    """An aware datetime from a FHIR dateTime with a time and offset; None otherwise."""
    try:
        value = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None


def interval(level: str, hours: dict[str, int] | None = None) -> timedelta:
    table = {**HOURS, **(hours or {})}
    return timedelta(hours=table.get(level) or table[UNORDERED])


def level_of(impressions: list[dict]) -> str:
    """The care level of the latest progress note that orders one ("" when none does)."""
    best: tuple[datetime | None, str] = (None, "")
    for n in impressions:
        if n.get("status") == "entered-in-error" or notes.kind_of(n) != "progress":
            continue
        when = instant(n.get("date") or n.get("effectiveDateTime") or "")
        for x in n.get("extension") or []:
            code = (x.get("valueCoding") or {}).get("code", "") if x.get("url") == notes.CARE_LEVEL_EXT else ""
            if code in notes.CARE_LEVELS and when is not None and (best[0] is None or when >= best[0]):
                best = (when, code)
    return best[1]


def last_vitals(observations: list[dict]) -> datetime | None:
    times = [instant(o.get("effectiveDateTime", "")) for o in observations
             if o.get("status") != "entered-in-error"]
    times = [t for t in times if t]
    return max(times) if times else None


def next_round(level: str, last: datetime | None, admitted: datetime | None, clock: datetime,
               hours: dict[str, int] | None = None, late_after: timedelta = LATE_AFTER) -> tuple[datetime, str]:
    """(when the next round is due, its state at `clock`)."""
    at = last + interval(level, hours) if last else (admitted or clock)
    if clock < at:
        return at, "upcoming"
    return at, "overdue" if clock >= at + late_after else "due"


def due_rounds(repo: Repository, clock: datetime, hours: dict[str, int] | None = None,
               late_after: timedelta = LATE_AFTER) -> list[Round]:
    """The rounds due or overdue now on the open inpatient stays the reader may see (the repository's scope
    decides: a nurse, her departments'), oldest first. Vital signs older than the longest interval plus a
    day are not read: a stay whose last ones are older is overdue anyway (shown due from the window's start)."""
    included: list = []
    stays = repo.search_all("Encounter", [("class", "IMP"), ("status", OPEN), ("_include", "Encounter:subject")],
                            included=included)
    if not stays:
        return []
    patients = {m.res_id: m.json() for m in included if m.res_type == "Patient"}
    refs = [f"Encounter/{m.res_id}" for m in stays]
    impressions: dict[str, list[dict]] = {}
    for m in repo.search_all_among("ClinicalImpression", "encounter", refs):
        impressions.setdefault(ref_id(m.json().get("encounter")) or "", []).append(m.json())
    window = clock - max(interval(k, hours) for k in HOURS) - timedelta(days=1)
    vitals: dict[str, list[dict]] = {}
    for m in repo.search_all_among("Observation", "encounter", refs, [
            ("category", "vital-signs"), ("date", f"ge{window.isoformat(timespec='seconds')}")]):
        vitals.setdefault(ref_id(m.json().get("encounter")) or "", []).append(m.json())
    out = []
    for m in stays:
        body = m.json()
        level = level_of(impressions.get(m.res_id, []))
        last = last_vitals(vitals.get(m.res_id, []))
        admitted = instant((body.get("period") or {}).get("start", ""))
        if last is None and admitted is not None and admitted < window:
            admitted = window
        at, state = next_round(level, last, admitted, clock, hours, late_after)
        if state != "upcoming":
            patient = name_of(patients.get(ref_id(body.get("subject")) or "", {}))
            local = clock.tzinfo        # shown in the facility's zone, whatever offset the record was written in
            out.append(Round(m.res_id, patient, level, last.astimezone(local) if last else None,
                             at.astimezone(local), state))
    return sorted(out, key=lambda r: (r.at, fold(r.patient)))
