"""The medication administration record of an inpatient stay: the doses each active medication order
schedules for a day, and the nurse's record of each dose given, held or refused.

Scheduled doses are computed, never stored: a dose exists as data only once the nurse records it, as a
FHIR R4 `MedicationAdministration` (status `completed`, or `not-done` with `statusReason` held/refused and
the reason written), `request` the order, `context` the stay, `effectiveDateTime` when it was given.

The times of a day come from the order's `dosageInstruction[0].timing.repeat`:
- `timeOfDay` when the order has it (orders written by other systems);
- `period` in hours (`periodUnit` h): every `period` hours from 08:00;
- otherwise `frequency` a day (what benhan's prescription form writes), at the named times of a
  Vietnamese ward — Sáng 08:00, Trưa 12:00, Chiều 16:00, Tối 20:00 — the ones the order's
  instructions name ("uống sáng, tối") when they are as many as the frequency, else 1 → sáng;
  2 → sáng, chiều; 3 → sáng, trưa, chiều; 4 → all four; more → evenly from 00:00.
The first day starts when the order was written (doses before it are not scheduled); the last is the
order's `boundsDuration` days later; an order without one runs while it is active.

Each scheduled dose (a slot) has a stable identifier, `<order id>/<local date and time>`, and the
administration recorded for it takes an id derived from that identifier: a second record of the same
dose — even two nurses pressing at the same instant — meets the store's unique key and is refused
(AlreadyRecorded), never written twice.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from benhan.auth.actor import Actor
from benhan.clinical import visits
from benhan.clinical.common import BENHAN, Problems, parse_number, ref, ref_id, stamp, zone
from benhan.fhir.text import fold
from benhan.store.repository import Repository

SLOT_SYSTEM = "https://benhan.vn/sid/lieu-thuoc"
REASON_SYSTEM = f"{BENHAN}/CodeSystem/medication-not-given"
OUTCOMES = ("given", "held", "refused")
REASONS = {"held": ("Hoãn/không dùng", "Held"), "refused": ("Người bệnh từ chối", "Refused by the patient")}
NAMED = {"sang": time(8), "trua": time(12), "chieu": time(16), "toi": time(20)}
NAMED_VI = {"sang": "Sáng", "trua": "Trưa", "chieu": "Chiều", "toi": "Tối"}
_DEFAULT = {1: ("sang",), 2: ("sang", "chieu"), 3: ("sang", "trua", "chieu"), 4: ("sang", "trua", "chieu", "toi")}
# Late: not recorded this long after its time; missed: not recorded this long after (the ward's habits
# differ — both are parameters of `state`, these the defaults the pages use).
LATE_AFTER = timedelta(minutes=60)
MISSED_AFTER = timedelta(hours=4)
OPEN = "planned,arrived,triaged,in-progress,onleave"     # an open stay (as clinical.beds counts them)
_NAMESPACE = uuid.UUID("6f0c61a4-55c6-4b53-9d1f-6d1f3a0c2b7e")


class AlreadyRecorded(Exception):
    """The dose has been recorded already (by this nurse or another)."""


@dataclass(frozen=True)
class Slot:
    order_id: str
    at: datetime            # the scheduled time, in the facility's zone
    drug: str
    dose: float | None
    unit: str
    route: str

    @property
    def key(self) -> str:
        return f"{self.order_id}/{self.at:%Y-%m-%dT%H:%M}"

    @property
    def record_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.key))


@dataclass(frozen=True)
class Dose:
    slot: Slot
    state: str              # given | held | refused | upcoming | due | late | missed
    record: dict | None


def _times(repeat: dict, instructions: str) -> list[time]:
    if repeat.get("timeOfDay"):
        out = []
        for t in repeat["timeOfDay"]:
            try:
                out.append(time.fromisoformat(t))
            except ValueError:
                continue
        return sorted(set(out))
    if repeat.get("periodUnit") == "h" and repeat.get("period"):
        step = float(repeat["period"])
        if step <= 0:
            return []
        count = max(1, int(24 // step))
        return sorted({(datetime.combine(date.min, time(8)) + timedelta(hours=step * i)).time() for i in range(count)})
    n = int(repeat.get("frequency") or 1)
    words = fold(instructions).replace(",", " ").replace(";", " ").split()
    named = [k for k in NAMED if k in words]
    if named and len(named) == n:
        return [NAMED[k] for k in named]
    if n in _DEFAULT:
        return [NAMED[k] for k in _DEFAULT[n]]
    return [(datetime.combine(date.min, time(0)) + timedelta(minutes=round(1440 * i / n))).time() for i in range(n)]


def _days(order: dict) -> int | None:
    bounds = ((order.get("dosageInstruction") or [{}])[0].get("timing") or {}).get("repeat", {}).get("boundsDuration")
    if bounds and bounds.get("value"):
        return max(1, int(float(bounds["value"]) + 0.999))
    return None


def slots(order: dict, day: date, tz: str) -> list[Slot]:
    """The doses an order schedules on `day` (the facility's calendar day)."""
    if order.get("resourceType") != "MedicationRequest" or order.get("status") != "active":
        return []
    dosage = (order.get("dosageInstruction") or [{}])[0]
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    if not repeat:          # no timing (as needed, or another system's free text): nothing to schedule
        return []
    authored = order.get("authoredOn") or ""
    if len(authored) < 10:
        return []
    start = datetime.fromisoformat(authored) if len(authored) > 10 else datetime.fromisoformat(authored + "T00:00")
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone(tz))
    start = start.astimezone(zone(tz))
    days = _days(order)
    if day < start.date() or (days is not None and day >= start.date() + timedelta(days=days)):
        return []
    dose = ((dosage.get("doseAndRate") or [{}])[0].get("doseQuantity") or {})
    drug = ((order.get("medicationReference") or {}).get("display")
            or (order.get("medicationCodeableConcept") or {}).get("text", ""))
    out = []
    for t in _times(repeat, " ".join(x for x in (dosage.get("patientInstruction"), dosage.get("text")) if x)):
        at = datetime.combine(day, t, zone(tz))
        if at < start.replace(second=0, microsecond=0):
            continue
        out.append(Slot(order["id"], at, drug, dose.get("value"), dose.get("unit", ""),
                        (dosage.get("route") or {}).get("text", "")))
    return out


def outcome(record: dict) -> str:
    if record.get("status") == "completed":
        return "given"
    code = next((c.get("code") for s in record.get("statusReason", []) for c in s.get("coding", [])
                 if c.get("system") == REASON_SYSTEM), "")
    return code if code in REASONS else "held"


def slot_key(record: dict) -> str:
    return next((i.get("value", "") for i in record.get("identifier", []) if i.get("system") == SLOT_SYSTEM), "")


def state(slot: Slot, record: dict | None, clock: datetime, late_after: timedelta = LATE_AFTER,
          missed_after: timedelta = MISSED_AFTER) -> str:
    """What the nurse sees of a dose: its outcome once recorded, else upcoming / due / late / missed."""
    if record is not None:
        return outcome(record)
    if clock > slot.at + missed_after:
        return "missed"
    if clock > slot.at + late_after:
        return "late"
    if clock >= slot.at - late_after:
        return "due"
    return "upcoming"


def orders_of(repo: Repository, encounter_id: str) -> list[dict]:
    return [m.json() for m in repo.search_all("MedicationRequest", [("encounter", f"Encounter/{encounter_id}")])]


def records_of(repo: Repository, encounter_id: str) -> dict[str, dict]:
    """The stay's recorded doses by their slot (infusions, which have no slot, left out)."""
    out = {}
    for m in repo.search_all("MedicationAdministration", [("context", f"Encounter/{encounter_id}")]):
        body = m.json()
        key = slot_key(body)
        if key and body.get("status") != "entered-in-error":
            out[key] = body
    return out


def day_doses(orders: list[dict], records: dict[str, dict], day: date, clock: datetime, tz: str,
              late_after: timedelta = LATE_AFTER, missed_after: timedelta = MISSED_AFTER) -> list[Dose]:
    """The day's scheduled doses of the stay with their state, by time then drug."""
    out = []
    for order in orders:
        for s in slots(order, day, tz):
            rec = records.get(s.key)
            out.append(Dose(s, state(s, rec, clock, late_after, missed_after), rec))
    return sorted(out, key=lambda d: (d.slot.at, fold(d.slot.drug)))


def find_slot(orders: list[dict], key: str, tz: str) -> Slot | None:
    order_id, _, when = key.partition("/")
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        return None
    order = next((o for o in orders if o.get("id") == order_id), None)
    if order is None:
        return None
    return next((s for s in slots(order, at.date(), tz) if s.key == key), None)


def record(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], tz: str,
           clock: datetime) -> str:
    """Record one scheduled dose given, held or refused; the MedicationAdministration's id.

    `values`: slot (the slot key), outcome (given/held/refused), given_at ('dd/mm/yyyy hh:mm', default
    now), dose and route (default the order's), reason (required when held or refused).
    FormInvalid field by field; AlreadyRecorded when the dose has a record."""
    from benhan.clinical.admission import parse_datetime
    p = Problems()
    v = {k: (x or "").strip() for k, x in values.items()}
    orders = orders_of(repo, encounter["id"])
    # Outpatient prescriptions are taken at home: only an inpatient stay's orders schedule doses.
    slot = find_slot(orders, v.get("slot", ""), tz) if visits.is_inpatient(encounter) else None
    if slot is None:
        p.add("slot", "ui.err.choose")
    what = v.get("outcome", "")
    if what not in OUTCOMES:
        p.add("outcome", "ui.err.choose")
    reason = v.get("reason", "")
    if what in REASONS and not reason:
        p.add("reason", "ui.err.required")
    when = clock.replace(second=0, microsecond=0)
    if v.get("given_at"):
        try:
            when = parse_datetime(v["given_at"], tz) or when
        except ValueError:
            p.add("given_at", "ui.proc.err.datetime")
        if when > clock:
            p.add("given_at", "ui.err.future")
    dose = slot.dose if slot else None
    if v.get("dose"):
        try:
            dose = parse_number(v["dose"])
        except ValueError:
            p.add("dose", "ui.err.number")
        else:
            if dose is None or not 0 < dose <= 1000:
                p.add("dose", "ui.err.range", low="0", high="1000", unit=slot.unit if slot else "")
    route = v.get("route") or (slot.route if slot else "")
    p.raise_if_any()
    assert slot is not None
    if slot.key in records_of(repo, encounter["id"]):
        raise AlreadyRecorded(slot.key)
    order = next(o for o in orders if o["id"] == slot.order_id)
    dosage: dict = {}
    if route:
        dosage["route"] = {"text": route}
    if dose is not None:
        dosage["dose"] = {"value": dose, "unit": slot.unit} if slot.unit else {"value": dose}
    body: dict = {"resourceType": "MedicationAdministration",
                  "identifier": [{"system": SLOT_SYSTEM, "value": slot.key}],
                  "status": "completed" if what == "given" else "not-done",
                  "subject": ref("Patient", ref_id(encounter.get("subject")) or ""),
                  "context": ref("Encounter", encounter["id"]),
                  "effectiveDateTime": when.isoformat(),
                  "performer": [{"actor": {"display": actor.display or actor.name}}],
                  "request": ref("MedicationRequest", order["id"])}
    if order.get("medicationReference"):
        body["medicationReference"] = order["medicationReference"]
    else:
        body["medicationCodeableConcept"] = order.get("medicationCodeableConcept") or {"text": slot.drug}
    if what in REASONS:
        body["statusReason"] = [{"coding": [{"system": REASON_SYSTEM, "code": what, "display": REASONS[what][1]}],
                                 "text": reason}]
    elif reason:
        body["note"] = [{"text": reason}]
    if dosage:
        body["dosage"] = dosage
    rid = slot.record_id
    try:
        repo.commit([repo.prepare("POST", "MedicationAdministration", rid, stamp(body, actor), create_only=True)],
                    "create")
    except Exception:
        # Another nurse's record of the same dose won the race: the unique key refused ours.
        if slot.key in records_of(repo, encounter["id"]):
            raise AlreadyRecorded(slot.key) from None
        raise
    return rid


def given_per_day(records: list[dict], tz: str) -> dict[tuple[str, str], dict[str, float]]:
    """(order id, drug) → {local day ISO: quantity given}: what the publicity sheet counts."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for r in records:
        if r.get("status") != "completed" or not slot_key(r):
            continue
        at = datetime.fromisoformat(r["effectiveDateTime"]).astimezone(zone(tz))
        drug = ((r.get("medicationReference") or {}).get("display")
                or (r.get("medicationCodeableConcept") or {}).get("text", ""))
        qty = ((r.get("dosage") or {}).get("dose") or {}).get("value") or 0
        days = out.setdefault((ref_id(r.get("request")) or "", drug), {})
        days[at.date().isoformat()] = days.get(at.date().isoformat(), 0) + qty
    return out


@dataclass(frozen=True)
class Pending:
    encounter_id: str
    patient: str
    dose: Dose


def pending(repo: Repository, clock: datetime, tz: str, late_after: timedelta = LATE_AFTER,
            missed_after: timedelta = MISSED_AFTER) -> list[Pending]:
    """The doses due now, late or missed in the last 24 hours on the open inpatient stays the reader may
    see (a nurse: her departments' — the repository's scope decides): three searches for a ward, read page
    after page and a hundred stays at a time for a whole hospital."""
    from benhan.clinical.common import name_of
    included: list = []
    stays = repo.search_all("Encounter", [("class", "IMP"), ("status", OPEN), ("_include", "Encounter:subject")],
                            included=included)
    if not stays:
        return []
    patients = {m.res_id: m.json() for m in included if m.res_type == "Patient"}
    refs = [f"Encounter/{m.res_id}" for m in stays]
    orders: dict[str, list[dict]] = {}
    for m in repo.search_all_among("MedicationRequest", "encounter", refs, [("status", "active")]):
        body = m.json()
        orders.setdefault(ref_id(body.get("encounter")) or "", []).append(body)
    since = (clock - timedelta(days=2)).date().isoformat()
    records: dict[str, dict] = {}
    for m in repo.search_all_among("MedicationAdministration", "context", refs, [("effective-time", f"ge{since}")]):
        key = slot_key(m.json())
        if key and m.json().get("status") != "entered-in-error":
            records[key] = m.json()
    local = clock.astimezone(zone(tz))
    out = []
    for m in stays:
        if m.res_id not in orders:
            continue
        patient = name_of(patients.get(ref_id(m.json().get("subject")) or "", {}))
        for day in (local.date() - timedelta(days=1), local.date()):
            for d in day_doses(orders[m.res_id], records, day, clock, tz, late_after, missed_after):
                if d.state in ("due", "late", "missed") and d.slot.at >= clock - timedelta(days=1):
                    out.append(Pending(m.res_id, patient, d))
    return sorted(out, key=lambda p: (p.dose.slot.at, fold(p.patient), fold(p.dose.slot.drug)))
