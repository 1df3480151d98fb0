"""What the inpatient sheets read (tờ điều trị, phiếu chăm sóc, phiếu công khai thuốc): the physicians'
and the nurses' dated entries (clinical.notes, ClinicalImpressions), the orders placed beside them
(MedicationRequest, ServiceRequest), each with its time and its author's full name (TT 32 Đ52 k2 d),
grouped by day; the bed and room of the stay; the quantities of drugs per day.

Days are the days as the entries write them (their own UTC offset, the facility's local time): an
entry at 23:30+07:00 belongs to that day, not to the next in UTC.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from benhan.clinical import notes as notes_mod
from benhan.clinical import care_plan, prescriptions, signers
from benhan.clinical.common import vn_date
from benhan.documents.forms import vocabulary
from benhan.documents.forms.data import FormData
from benhan.documents.forms.data import REFERRAL, SNOMED
from benhan.vn.display import number

LOCATION_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
LIVE = ("active", "completed")
WEEK = 7                       # day columns of the publicity sheet per block: what fits A4 portrait


def title(name: str) -> Callable[[FormData], str]:
    """A signer's title of these sheets (vocabulary.toml [sheet-titles]), like sources.title."""
    def read(d: FormData) -> str:
        return vocabulary._data().get("sheet-titles", {}).get(name, "")
    read.__name__ = f"sheet_title_{name}"
    return read


def _day(iso: str | None) -> str:
    return (iso or "")[:10] if iso and len(iso) >= 10 else ""


def _time(iso: str | None) -> str:
    return iso[11:16] if iso and len(iso) >= 16 else ""


def _names(d: FormData) -> dict[str, str]:
    return d.ctx.practitioners


def _signer(reference: dict | None, d: FormData) -> str:
    return signers.full_name(reference, _names(d))


# --- the stay: room, bed (Encounter.location with a physical type), the diagnosis ---

def _location(d: FormData, kind: str) -> str:
    for loc in reversed(d.ctx.encounter.get("location") or []):
        codes = {c.get("code") for c in (loc.get("physicalType") or {}).get("coding", [])}
        if kind in codes and loc.get("status", "active") != "planned":
            return (loc.get("location") or {}).get("display", "")
    return ""


def room(d: FormData) -> str:
    return _location(d, "ro")


def bed(d: FormData) -> str:
    return _location(d, "bd")


# --- the entries ---

@dataclass
class Entry:
    when: str                          # ISO dateTime as written
    course: str = ""                   # diễn biến bệnh / theo dõi diễn biến
    orders: list[str] = field(default_factory=list)   # y lệnh / thực hiện y lệnh, chăm sóc
    signer: str = ""

    @property
    def day(self) -> str:
        return _day(self.when)


def _notes(d: FormData, kind: str) -> list[dict]:
    return [n for n in d.ctx.rec.notes if n.get("status") != "entered-in-error" and notes_mod.kind_of(n) == kind]


def _note_entry(n: dict, d: FormData) -> Entry:
    text = (n.get("note") or [{}])[0].get("text", "")
    # The care level and the diet ordered with the note close its orders, as the doctor writes them on paper.
    care, diet = notes_mod.care_level(n), notes_mod.diet(n)
    orders = [x for x in (text, care, f"Chế độ ăn: {diet}" if diet else "") if x]
    return Entry(n.get("effectiveDateTime") or n.get("date") or "", n.get("summary", ""), orders,
                 _signer(n.get("assessor"), d))


def _is_referral(sr: dict) -> bool:
    codings = (sr.get("code") or {}).get("coding", [])
    return any(c.get("system") == SNOMED and c.get("code") == REFERRAL for c in codings)


def _drug_order(r: dict) -> str:
    usage = (r.get("dosageInstruction") or [{}])[0].get("text", "")
    return " — ".join(x for x in (prescriptions.drug_of(r), usage) if x)


def _placed(d: FormData) -> list[tuple[str, str, str]]:
    """(time, what, requester) of each drug line and each service ordered in the stay, in order."""
    out = [(r.get("authoredOn", ""), _drug_order(r), _signer(r.get("requester"), d))
           for r in d.ctx.rec.prescriptions if r.get("status") in LIVE]
    out += [(s.get("authoredOn", ""), (s.get("code") or {}).get("text", ""), _signer(s.get("requester"), d))
            for s in d.ctx.rec.orders if s.get("status") in LIVE and not _is_referral(s)]
    return sorted((x for x in out if x[0] and x[1]), key=lambda x: x[0])


def treatment_entries(d: FormData) -> list[Entry]:
    """One entry per physician's progress note; each drug or service ordered goes beside the latest
    entry of its day written before it (the first of the day when none was), or, on a day with no
    note, in an entry of its own with its requester as author."""
    entries = sorted((_note_entry(n, d) for n in _notes(d, "progress")), key=lambda e: e.when)
    for when, what, who in _placed(d):
        same_day = [e for e in entries if e.day == _day(when)]
        if same_day:
            before = [e for e in same_day if e.when <= when]
            (before[-1] if before else same_day[0]).orders.append(what)
        else:
            entries.append(Entry(when, "", [what], who))
            entries.sort(key=lambda e: e.when)
    return entries


def nursing_entries(d: FormData) -> list[Entry]:
    """The nurse's notes and the stay's care plan: its assessment and planned activities at the time it was
    written, and a row for each activity done (clinical.care_plan), in time order."""
    return sorted([*(_note_entry(n, d) for n in _notes(d, "nursing")), *_care_plan_entries(d)], key=lambda e: e.when)


def _care_plan_entries(d: FormData) -> list[Entry]:
    plan = d.care_plan
    if not plan:
        return []
    planned = [f"- {a.text}" + (f" ({a.frequency})" if a.frequency else "") for a in care_plan.activities(plan)]
    out = [Entry(plan.get("created", ""), f"Nhận định: {plan['description']}" if plan.get("description") else "",
                 ["Kế hoạch chăm sóc:", *planned] if planned else [], _signer(plan.get("author"), d))]
    out += [Entry(when, "", [f"Thực hiện: {a.text}"], _signer({"display": nurse}, d))
            for a in care_plan.activities(plan) for when, nurse in a.done]
    return out


def days_of(entries: list[Entry]) -> list[str]:
    return sorted({e.day for e in entries if e.day})


def day_of(d: FormData) -> str | None:
    """The day a per-day sheet prints: the form key's part ("treatment-day:2026-12-15"); "" (no day
    named, or not a date) prints no entry rather than the whole stay under one day's signature."""
    try:
        return dt.date.fromisoformat(d.part).isoformat()
    except ValueError:
        return ""


def _on(entries: list[Entry], day: str | None) -> list[Entry]:
    return [e for e in entries if day is None or e.day == day]


def treatment_rows(per_day: bool) -> Callable[[FormData], list[list[str]]]:
    """Ngày giờ | Diễn biến bệnh | Y lệnh; the author's full name closes the orders of each entry."""
    def read(d: FormData) -> list[list[str]]:
        return [[f"{vn_date(e.day)}\n{_time(e.when)}", e.course,
                 "\n".join([*e.orders, *([f"Ký tên: {e.signer}"] if e.signer else [])])]
                for e in _on(treatment_entries(d), day_of(d) if per_day else None)]
    read.__name__ = f"treatment_rows_{'day' if per_day else 'stay'}"
    return read


def nursing_rows(per_day: bool) -> Callable[[FormData], list[list[str]]]:
    """Ngày | Giờ, phút | Theo dõi diễn biến | Thực hiện y lệnh/chăm sóc | Ký tên."""
    def read(d: FormData) -> list[list[str]]:
        return [[vn_date(e.day), _time(e.when), e.course, "\n".join(e.orders), e.signer]
                for e in _on(nursing_entries(d), day_of(d) if per_day else None)]
    read.__name__ = f"nursing_rows_{'day' if per_day else 'stay'}"
    return read


def last_signer(entries: Callable[[FormData], list[Entry]]) -> Callable[[FormData], str]:
    """Who closes the day's sheet: the author of its last entry."""
    def read(d: FormData) -> str:
        on = _on(entries(d), day_of(d))
        return on[-1].signer if on else ""
    read.__name__ = f"last_signer_{entries.__name__}"
    return read


def the_day(d: FormData) -> dt.date | None:
    day = day_of(d)
    return dt.date.fromisoformat(day) if day else None


def the_day_text(d: FormData) -> str:
    return vn_date(day_of(d))


def signable_days(rec, kind: str) -> list[str]:  # noqa: ANN001 - chart.VisitRecord
    """The days a per-day sheet can be printed and signed for: the days with an entry of `kind`
    (progress: also a drug or service ordered)."""
    days = {_day(n.get("effectiveDateTime") or n.get("date")) for n in rec.notes
            if n.get("status") != "entered-in-error" and notes_mod.kind_of(n) == kind}
    if kind == "progress":
        days |= {_day(r.get("authoredOn")) for r in rec.prescriptions if r.get("status") in LIVE}
        days |= {_day(s.get("authoredOn")) for s in rec.orders if s.get("status") in LIVE and not _is_referral(s)}
    return sorted(days - {""})


# --- the publicity sheet: quantities per day ---

def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _stay_end(d: FormData) -> str:
    return _day((d.ctx.encounter.get("period") or {}).get("end"))


def drug_days(r: dict, last_day: str) -> dict[str, Decimal]:
    """The quantity of one drug line per day, as prescribed: dose × times a day over the days
    ordered (from the day it was ordered, not past the end of the stay); a line without dose and
    frequency counts its whole quantity on the day it was ordered."""
    start = _day(r.get("authoredOn"))
    if not start:
        return {}
    dosage = (r.get("dosageInstruction") or [{}])[0]
    dose = _decimal(((dosage.get("doseAndRate") or [{}])[0].get("doseQuantity") or {}).get("value"))
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    daily = repeat.get("periodUnit", "d") == "d" and repeat.get("period", 1) == 1
    per_day = _decimal(repeat.get("frequency")) if daily else None
    days = _decimal((repeat.get("boundsDuration") or r.get("dispenseRequest", {}).get("expectedSupplyDuration")
                     or {}).get("value"))
    if dose is None or per_day is None or days is None or days < 1:
        whole = _decimal((r.get("dispenseRequest", {}).get("quantity") or {}).get("value"))
        return {start: whole} if whole is not None else {}
    first = dt.date.fromisoformat(start)
    out = {}
    for i in range(int(days)):
        day = (first + dt.timedelta(days=i)).isoformat()
        if last_day and day > last_day:
            break
        out[day] = dose * per_day
    return out


def _unit(r: dict) -> str:
    dose = ((r.get("dosageInstruction") or [{}])[0].get("doseAndRate") or [{}])[0].get("doseQuantity") or {}
    return ((r.get("dispenseRequest") or {}).get("quantity") or {}).get("unit", "") or dose.get("unit", "")


@dataclass
class Used:
    name: str
    unit: str
    by_day: dict[str, Decimal]


def drugs_given(doses: list[dict]) -> list[Used]:
    """What the nurses recorded given (clinical.administration), per drug and unit, by the day it was given
    (the facility's day: the time is stored in its zone); held and refused doses count nothing."""
    out: dict[tuple[str, str], Used] = {}
    for r in sorted(doses, key=lambda x: x.get("effectiveDateTime", "")):
        if r.get("status") != "completed":
            continue
        dose = (r.get("dosage") or {}).get("dose") or {}
        q, day = _decimal(dose.get("value")), _day(r.get("effectiveDateTime"))
        if q is None or not day:
            continue
        key = (prescriptions.drug_of(r), dose.get("unit", ""))
        used = out.setdefault(key, Used(key[0], key[1], {}))
        used.by_day[day] = used.by_day.get(day, Decimal(0)) + q
    return list(out.values())


def drugs_used(d: FormData) -> list[Used]:
    """The drugs given each day: from the doses recorded when the stay has any, else (a stay recorded
    before the medication administration record, or where no nurse records doses) as prescribed."""
    if d.doses:
        return drugs_given(d.doses)
    out: dict[tuple[str, str], Used] = {}
    for r in d.ctx.rec.prescriptions:
        if r.get("status") not in LIVE:
            continue
        key = (prescriptions.drug_of(r), _unit(r))
        used = out.setdefault(key, Used(key[0], key[1], {}))
        for day, q in drug_days(r, _stay_end(d)).items():
            used.by_day[day] = used.by_day.get(day, Decimal(0)) + q
    return list(out.values())


def services_used(d: FormData) -> list[Used]:
    out: dict[str, Used] = {}
    for s in d.ctx.rec.orders:
        if s.get("status") not in LIVE or _is_referral(s):
            continue
        name, day = (s.get("code") or {}).get("text", ""), _day(s.get("authoredOn"))
        if not name or not day:
            continue
        used = out.setdefault(name, Used(name, "", {}))
        used.by_day[day] = used.by_day.get(day, Decimal(0)) + 1
    return list(out.values())


def stay_days(d: FormData) -> list[str]:
    """Every day from admission to discharge (or to the last day anything was used)."""
    period = d.ctx.encounter.get("period") or {}
    used = [day for u in (*drugs_used(d), *services_used(d)) for day in u.by_day]
    first = _day(period.get("start")) or min(used, default="")
    last = _day(period.get("end")) or max(used, default="") or _day(d.printed.isoformat())
    if not first:
        return []
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(max(first, last))
    return [(a + dt.timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def publicity_rows(kind: str, signer_rows: tuple[str, ...] = ()) -> Callable[[FormData], list[list[str]]]:
    """STT | name | unit | 7 days | total, by blocks of 7 days: each block opens with the row of its
    dates and (drugs) closes with the rows where the nurse and the patient sign each day."""
    def read(d: FormData) -> list[list[str]]:
        items = drugs_used(d) if kind == "drugs" else services_used(d)
        days = stay_days(d)
        rows: list[list[str]] = []
        for b in range(0, len(days), WEEK):
            block = days[b:b + WEEK]
            pad = [""] * (WEEK - len(block))
            rows.append(["", "Ngày", "", *(f"{day[8:10]}/{day[5:7]}" for day in block), *pad, ""])
            for i, u in enumerate(items, 1):
                shown = [number(u.by_day[day]) if day in u.by_day else "" for day in block]
                total = sum((u.by_day[day] for day in block if day in u.by_day), Decimal(0))
                rows.append([str(i), u.name, u.unit, *shown, *pad, number(total) if any(shown) else ""])
            rows += [["", who, "", *([""] * WEEK), ""] for who in signer_rows]
        return rows
    read.__name__ = f"publicity_{kind}"
    return read
