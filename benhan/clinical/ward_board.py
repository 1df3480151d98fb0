"""The ward board (bảng buồng bệnh): one department's beds, who lies in each, the day of the stay, the
main diagnosis, orders still to carry out, and what needs a look — an allergy on record, vital signs not
taken in the last `vitals_hours`, a critical result (HH/LL/AA, where the laboratory flags one).

Cheap by construction: a fixed number of searches whatever the bed count (rooms, beds, the open
stays of the department with their patients, then one search each for their diagnoses, active orders,
allergies and the last day's observations), each over the index tables; nothing per bed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from benhan.clinical import beds
from benhan.clinical.common import name_of, ref_id
from benhan.store.repository import Repository

CRITICAL = {"HH", "LL", "AA", "AH", "AL"}      # v3-ObservationInterpretation: critical / panic values
OPEN = ",".join(beds.OPEN)


@dataclass
class Row:
    bed: beds.Bed | None                 # None: a patient of the department without a bed yet
    encounter_id: str = ""
    patient_id: str = ""
    patient: str = ""
    day: int | None = None
    diagnosis: str = ""
    pending_orders: int = 0
    allergy: bool = False
    vitals_overdue: bool = False
    critical: int = 0
    on_leave: bool = False
    alerts: list[str] = field(default_factory=list)


@dataclass
class Board:
    department_id: str
    department: str
    rows: list[Row]

    @property
    def free(self) -> int:
        return sum(1 for r in self.rows if r.bed is not None and not r.encounter_id and r.bed.status == "U")

    @property
    def occupied(self) -> int:
        return sum(1 for r in self.rows if r.bed is not None and r.encounter_id)

    @property
    def without_bed(self) -> list[Row]:
        return [r for r in self.rows if r.bed is None]


def board(repo: Repository, department_id: str, at: datetime, tz: str = "+07:00", vitals_hours: int = 24) -> Board:
    found = repo.search_type("Location", [("_id", department_id or "x")]).matches
    dept_name = found[0].json().get("name", "") if found else ""
    layout = beds.layout(repo, department_id)
    included: list = []
    stays = repo.search_all("Encounter", [("location", f"Location/{department_id}"), ("status", OPEN),
                                          ("_include", "Encounter:subject")], included=included)
    patients = {m.res_id: m.json() for m in included if m.res_type == "Patient"}
    encounters = {}
    for m in stays:
        e = m.json()
        if beds.current_department(e) == department_id:     # not those since transferred elsewhere
            encounters[m.res_id] = e
    ids = sorted(encounters)
    conditions: dict[str, dict] = {}
    orders: dict[str, int] = {}
    seen_vitals: set[str] = set()
    critical: dict[str, int] = {}
    allergic: set[str] = set()
    if ids:
        refs = [f"Encounter/{i}" for i in ids]
        for m in repo.search_all_among("Condition", "encounter", refs):
            conditions[m.res_id] = m.json()
        for m in repo.search_all_among("ServiceRequest", "encounter", refs, [("status", "active")]):
            eid = ref_id(m.json().get("encounter")) or ""
            orders[eid] = orders.get(eid, 0) + 1
        since = (at - timedelta(hours=vitals_hours)).isoformat()
        for m in repo.search_all_among("Observation", "encounter", refs, [("date", f"ge{since}")]):
            o = m.json()
            eid = ref_id(o.get("encounter")) or ""
            cats = {c.get("code") for cat in o.get("category", []) for c in cat.get("coding", [])}
            if "vital-signs" in cats:
                seen_vitals.add(eid)
            codes = {c.get("code") for i in o.get("interpretation", []) for c in i.get("coding", [])}
            if codes & CRITICAL:
                critical[eid] = critical.get(eid, 0) + 1
        pids = sorted({ref_id(e.get("subject")) or "" for e in encounters.values()})
        for m in repo.search_all_among("AllergyIntolerance", "patient", (f"Patient/{p}" for p in pids)):
            a = m.json()
            status = ((a.get("verificationStatus") or {}).get("coding") or [{}])[0].get("code")
            if status not in ("entered-in-error", "refuted"):
                allergic.add(ref_id(a.get("patient")) or "")

    def row(bed: beds.Bed | None, eid: str) -> Row:
        e = encounters[eid]
        pid = ref_id(e.get("subject")) or ""
        r = Row(bed, eid, pid, name_of(patients.get(pid, {})), beds.days_in_hospital(e, at.date(), tz),
                _main_dx(e, conditions), orders.get(eid, 0), pid in allergic, eid not in seen_vitals,
                critical.get(eid, 0), e.get("status") == "onleave")
        r.alerts = [k for k, on in (("allergy", r.allergy), ("vitals", r.vitals_overdue and not r.on_leave),
                                    ("critical", r.critical > 0)) if on]
        return r

    rows: list[Row] = []
    placed: set[str] = set()
    for b in layout:
        eid = b.occupant if b.occupant in encounters else ""
        if eid:
            bed_entry = beds.current_bed(encounters[eid])
            if bed_entry is None or ref_id(bed_entry.get("location")) != b.id:
                eid = ""             # the bed still names a stay that has moved on: free
        if eid:
            placed.add(eid)
            rows.append(row(b, eid))
        else:
            free = beds.Bed(b.id, b.name, b.room_id, b.room, "U" if b.status == "O" else b.status, None, b.version)
            rows.append(Row(free))
    rows += [row(None, eid) for eid in ids if eid not in placed]
    return Board(department_id, dept_name, rows)


def _main_dx(encounter: dict, conditions: dict[str, dict]) -> str:
    """The main diagnosis (rank 1; at discharge's role DD before the admission's AD), 'code words'."""
    best = None
    for d in encounter.get("diagnosis", []):
        if d.get("rank") != 1:
            continue
        c = conditions.get(ref_id(d.get("condition")) or "", {})
        status = ((c.get("verificationStatus") or {}).get("coding") or [{}])[0].get("code")
        if status in ("entered-in-error", "refuted"):
            continue
        role = ((d.get("use") or {}).get("coding") or [{}])[0].get("code", "AD")
        coding = ((c.get("code") or {}).get("coding") or [{}])[0]
        text = " ".join(x for x in (coding.get("code", ""), coding.get("display") or
                                    (d.get("condition") or {}).get("display", "")) if x)
        if best is None or role == "DD":
            best = text
    return best or ""
