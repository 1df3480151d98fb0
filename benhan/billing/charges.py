"""Charges from the record: every exam, ordered service, drug, supply and bed-day the record holds for
an encounter becomes a ChargeLine priced from the facility's catalogue on its date of service, and
split between the fund, the patient and other sources (billing.coverage). Nothing is typed twice
and nothing is written here (billing.accounts stores the lines).

What is read (docs/billing.md):
- the exam: the Encounter itself, billed as the exam service record_services.csv names for its kind;
  a further specialty exam is a ServiceRequest for a service of cost group 13 (TYLE_TT_DV 30, the
  exams together at most twice one exam's price; an inpatient episode has one exam only);
- services: each ServiceRequest of the encounter not revoked or entered in error, one line per
  catalogue service it instantiates (a lab panel may be billed as several);
- drugs: each MedicationRequest (the quantity dispensed when a MedicationDispense exists, else the
  quantity prescribed) and each MedicationDispense with no prescription line;
- supplies: DeviceRequests of the encounter coded with the catalogue's MA_VAT_TU (quantity in
  `parameter`), basedOn the procedure that used them — their package is under the T_TRANTT ceiling;
- bed-days of an inpatient episode, counted as TT 39/2024 says (vietnam-billing.md §2.3), each day
  priced on its own date.
A service, drug or supply without a price on its date (or outside the catalogue) cannot be charged
and is left out; `uncharged` says which and why.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from benhan import errors
from benhan.billing import coverage
from benhan.billing.coverage import HUNDRED, ZERO, Entitlement, Rules
from benhan.billing.lines import ChargeLine
from benhan.clinical.catalogue import resources
from benhan.clinical.common import now, ref_id, zone
from benhan.clinical.visits import Facility, facility
from benhan.store.repository import Repository

NAMESPACE = uuid.UUID("6f1d3c52-9a1e-4f7b-8c51-1b0d7e2f6a10")
DONE = ("revoked", "entered-in-error", "draft")
DRUG_DONE = ("cancelled", "entered-in-error", "draft")
EXAM_GROUP = "13"
BED_GROUPS = ("14", "15", "16")
_CHUNK = 60
# A department's code in the BHYT tables (MA_KHOA, QĐ 1804/2026 list from 01/08/2026), given by the
# facility as an identifier of the room (Location) or of the department (Organization) that runs it.
MA_KHOA_SYSTEM = "https://benhan.vn/sid/ma-khoa"


@dataclass
class _Item:
    """A billable act before the money: what, how many, at what price, when."""
    kind: str
    code: str
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    when: datetime
    source_ref: str
    group: str
    price_canonical: str
    part: str = ""                      # distinguishes lines of one act (a panel's tests, bed periods)
    package: str = ""                   # the procedure a supply was used in
    service_rate: Decimal | None = HUNDRED
    extra: dict = field(default_factory=dict)


@dataclass
class Charges:
    encounter: dict
    patient: dict
    entitlement: Entitlement
    lines: list[ChargeLine]
    uncharged: list[str]


# A date without its time (another system's record: "2026-11-20", or the day of a longer value) is the
# start of that day where the facility is. Every time is then zone-aware, so the items of a visit sort
# and compare whichever way each was written (mixed, they had stopped the bill with a TypeError).
FACILITY_ZONE = zone("+07:00")


def _dt(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    return value if value.tzinfo is not None else value.replace(tzinfo=FACILITY_ZONE)


def _dec(value: object) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


# --- prices ------------------------------------------------------------------------------------------
class _Prices:
    """The ChargeItemDefinitions of the catalogue, by price url, fetched once per encounter."""

    def __init__(self, repo: Repository):
        self.repo = repo
        self.by_url: dict[str, list[dict]] = {}

    def fetch(self, urls: set[str]) -> None:
        wanted = sorted(u for u in urls if u and u not in self.by_url)
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            for u in chunk:
                self.by_url.setdefault(u, [])
            for m in self.repo.search_all("ChargeItemDefinition", [("url", ",".join(chunk))]):
                body = m.json()
                self.by_url.setdefault(body.get("url", ""), []).append(body)

    def on(self, url: str, day: date) -> tuple[Decimal, str, str] | None:
        """(price, unit, url|version) of the period holding `day`."""
        self.fetch({url})
        for body in self.by_url.get(url, []):
            period = body.get("effectivePeriod") or {}
            start, end = period.get("start", "")[:10], period.get("end", "")[:10]
            if body.get("status") == "active" and start and start <= day.isoformat() and (not end or day.isoformat() <= end):
                component = ((body.get("propertyGroup") or [{}])[0].get("priceComponent") or [{}])[0]
                unit = component.get("code", {}).get("text", "").removeprefix("Đơn giá / ")
                return _dec(component.get("amount", {}).get("value")), unit, f"{url}|{body.get('version', '')}"
        return None


def _price_url(item_id: str) -> str:
    return f"{resources.BASE}/ChargeItemDefinition/{item_id}"


def _group(body: dict) -> str:
    for topic in body.get("topic", []):
        for c in topic.get("coding", []):
            if c.get("system") == resources.COST_GROUP and c.get("code"):
                return c["code"]
    code = next((c.get("code", "") for c in body.get("code", {}).get("coding", [])), "")
    return resources.cost_group(code)


def _search_all(repo: Repository, res_type: str, params: list[tuple[str, str]]) -> list[dict]:
    return [m.json() for m in repo.search_all(res_type, params)]


class _Items:
    """Catalogue items read by id: the import derives each item's id from its kind and code
    (catalogue.resources.item_id), so a read (well under a millisecond) finds it without a search."""

    def __init__(self, repo: Repository):
        self.repo = repo
        self.cache: dict[tuple[str, str], dict | None] = {}

    def get(self, res_type: str, rid: str) -> dict | None:
        if (res_type, rid) not in self.cache:
            try:
                body = self.repo.read(res_type, rid).json()
                # A catalogue item no longer active is not charged; a room or department is found whatever its status.
                keep = res_type in ("Location", "Organization") or body.get("status", "active") == "active"
                self.cache[(res_type, rid)] = body if keep else None
            except errors.BenhanError:
                self.cache[(res_type, rid)] = None
        return self.cache[(res_type, rid)]

    def service_by_url(self, url: str) -> dict | None:
        prefix = f"{resources.BASE}/ActivityDefinition/"
        if url.startswith(prefix):
            return self.get("ActivityDefinition", url[len(prefix):])
        found = _search_all(self.repo, "ActivityDefinition", [("url", url)])     # a url of another form
        return found[0] if found else None

    def service(self, code: str) -> dict | None:
        return self.get("ActivityDefinition", resources.item_id("service", code))

    def supply(self, code: str) -> dict | None:
        return self.get("DeviceDefinition", resources.item_id("supply", code))


def _service_name(body: dict) -> tuple[str, str]:
    coding = next((c for c in body.get("code", {}).get("coding", [])
                   if c.get("system") == resources.CODE_SYSTEM["service"]), {})
    return coding.get("code", ""), body.get("title") or coding.get("display") or coding.get("code", "")


# --- what the record holds -------------------------------------------------------------------------
_REVINCLUDES = ("ServiceRequest:encounter", "MedicationRequest:encounter", "MedicationDispense:context",
                "DeviceRequest:encounter")


_RECORD_CHUNK = 20      # encounters read in one search (their included resources stay well under 5,000)


def _records(repo: Repository, eids: list[str]) -> dict[str, dict[str, list[dict]]]:
    """Per encounter: the encounter, its patient and the patient's Coverages, and every order,
    prescription, dispense and supply use of it, by type — one search for up to 20 encounters."""
    out: dict[str, dict[str, list[dict]]] = {}
    for i in range(0, len(eids), _RECORD_CHUNK):
        chunk = eids[i:i + _RECORD_CHUNK]
        found = repo.search_type("Encounter", [("_id", ",".join(chunk)), ("_count", str(len(chunk))),
                                               ("_include", "Encounter:subject"),
                                               ("_revinclude:iterate", "Coverage:beneficiary")]
                                 + [("_revinclude", r) for r in _REVINCLUDES])
        by_patient: dict[str, dict[str, list[dict]]] = {}
        for m in found.matches:
            encounter = m.json()
            out[m.res_id] = {"Encounter": [encounter]}
            by_patient.setdefault(coverage.patient_ref_id(encounter), {"Patient": [], "Coverage": []})
        included = found.included
        if found.included_cut:
            included = _included_whole(repo, chunk, list(by_patient))
        for m in included:
            body = m.json()
            if m.res_type in ("Patient", "Coverage"):
                owner = body["id"] if m.res_type == "Patient" else ref_id(body.get("beneficiary")) or ""
                if owner in by_patient:
                    by_patient[owner][m.res_type].append(body)
                continue
            eid = ref_id(body.get("context" if m.res_type == "MedicationDispense" else "encounter"))
            if eid in out:
                out[eid].setdefault(m.res_type, []).append(body)
        for rec in out.values():
            rec.update(by_patient.get(coverage.patient_ref_id(rec["Encounter"][0]), {}))
    missing = [e for e in eids if e not in out]
    if missing:
        raise errors.NotFound(f"Encounter/{missing[0]} not found")
    return out


def _included_whole(repo: Repository, eids: list[str], patient_ids: list[str]) -> list:
    """What the search's _include/_revinclude bring in, read kind by kind and page after page: a
    long stay's orders, prescriptions and dispenses can pass what one search brings in (5,000), and
    the ones left out would have been left off the bill."""
    refs = ",".join(f"Encounter/{e}" for e in eids)
    pids = ",".join(p for p in patient_ids if p)
    out = list(repo.search_all("Patient", [("_id", pids)])) if pids else []
    out += repo.search_all("Coverage", [("beneficiary", ",".join(f"Patient/{p}" for p in patient_ids if p))]) if pids else []
    for rev in _REVINCLUDES:
        res_type, param = rev.split(":")
        out += repo.search_all(res_type, [(param, refs)])
    return out


def _price_urls(record: dict[str, list[dict]], rules: Rules, kind: str) -> set[str]:
    """The price urls of every catalogue item the record names (catalogue.resources: one url per item,
    derived from the item's id)."""
    ids = set()
    prefix = f"{resources.BASE}/ActivityDefinition/"
    for o in record.get("ServiceRequest", []):
        ids |= {u[len(prefix):] for u in o.get("instantiatesCanonical", []) if u.startswith(prefix)}
        ids |= {resources.item_id("service", c["code"]) for c in o.get("code", {}).get("coding", [])
                if c.get("system") == resources.CODE_SYSTEM["service"] and c.get("code")}
    for role in ("exam", "bed"):
        if rules.record_services.get((role, kind)):
            ids.add(resources.item_id("service", rules.record_services[(role, kind)]))
    for b in record.get("MedicationRequest", []) + record.get("MedicationDispense", []):
        ids.add(ref_id(b.get("medicationReference")) or "")
    for u in record.get("DeviceRequest", []):
        ids |= {resources.item_id("supply", c["code"]) for c in (u.get("codeCodeableConcept") or {}).get("coding", [])
                if c.get("system") == resources.CODE_SYSTEM["supply"] and c.get("code")}
    return {_price_url(i) for i in ids if i}


def _when(order: dict) -> datetime | None:
    return _dt(order.get("occurrenceDateTime") or (order.get("occurrencePeriod") or {}).get("start")
               or order.get("authoredOn"))


def _service_items(record: dict[str, list[dict]], catalogue: _Items, prices: _Prices,
                   skipped: list[str]) -> list[_Item]:
    orders = [o for o in record.get("ServiceRequest", []) if o.get("status") not in DONE]
    items = []
    for o in orders:
        when = _when(o)
        label = (o.get("code") or {}).get("text") or "?"
        if when is None:
            skipped.append(f"ServiceRequest/{o['id']} ({label}): no date")
            continue
        found = [catalogue.service_by_url(u) for u in o.get("instantiatesCanonical", [])]
        if not o.get("instantiatesCanonical"):
            found = [catalogue.service(c.get("code", "")) for c in o.get("code", {}).get("coding", [])
                     if c.get("system") == resources.CODE_SYSTEM["service"] and c.get("code")]
        bodies = [b for b in found if b is not None]
        if not bodies:
            skipped.append(f"ServiceRequest/{o['id']} ({label}): not in the service catalogue")
            continue
        quantity = _dec((o.get("quantityQuantity") or {}).get("value") or 1)
        for i, body in enumerate(bodies):
            code, name = _service_name(body)
            found = prices.on(_price_url(body["id"]), when.date())
            if found is None:
                skipped.append(f"ServiceRequest/{o['id']} ({name}): no price on {when.date():%d/%m/%Y}")
                continue
            group = _group(body)
            kind = "exam" if group == EXAM_GROUP else "bed" if group in BED_GROUPS else "service"
            items.append(_Item(kind, code, name, found[1] or "lần", quantity, found[0], when,
                               f"ServiceRequest/{o['id']}", group, found[2], part=str(i)))
    return items


def _record_service(catalogue: _Items, rules: Rules, role: str, kind: str) -> dict | None:
    code = rules.record_services.get((role, kind))
    return catalogue.service(code) if code else None


def _exam_item(catalogue: _Items, rules: Rules, encounter: dict, kind: str, start: datetime, prices: _Prices,
               skipped: list[str]) -> _Item | None:
    body = _record_service(catalogue, rules, "exam", kind)
    if body is None:
        if (("exam", kind)) in rules.record_services:
            skipped.append(f"exam {rules.record_services[('exam', kind)]}: not in the service catalogue")
        return None
    code, name = _service_name(body)
    found = prices.on(_price_url(body["id"]), start.date())
    if found is None:
        skipped.append(f"exam {code}: no price on {start.date():%d/%m/%Y}")
        return None
    return _Item("exam", code, name, found[1] or "lần", Decimal(1), found[0], start, f"Encounter/{encounter['id']}",
                 EXAM_GROUP, found[2])


def _closed_unseen(encounter: dict, record: dict[str, list[dict]]) -> bool:
    """The desk closed the visit before anyone saw the patient (clinical.discharge.close: finished,
    no treatment result — a discharge always records one — and nothing ordered or prescribed)."""
    return (encounter.get("status") == "finished"
            and not any(e.get("url", "").endswith("/treatment-result") for e in encounter.get("extension", []))
            and not record.get("ServiceRequest") and not record.get("MedicationRequest")
            and not record.get("MedicationDispense") and not record.get("DeviceRequest"))


def bed_days(start: datetime, end: datetime, disposition: str, worse: bool, rules: Rules,
             tz: str | None = None) -> int:
    """Inpatient bed-days (TT 35/2016 Đ4c as added by TT 39/2024): ≤ 4 h none; under 24 h one;
    else discharge date − admission date, + 1 for death, transfer, or taken home worse.
    The dates are calendar dates where the facility is (`tz`): a stay written in UTC by a FHIR
    client (23:30 ICT = 16:30Z) counts the same days as one written in +07:00."""
    if tz is not None and start.tzinfo is not None and end.tzinfo is not None:
        start, end = start.astimezone(zone(tz)), end.astimezone(zone(tz))
    hours = (end - start).total_seconds() / 3600
    if hours <= int(rules.params.get("bed_day_min_hours", 4)):
        return 0
    if hours < 24:
        return 1
    days = (end.date() - start.date()).days
    if disposition in rules.params.get("bed_day_plus_one_dispositions", []) or (
            worse and disposition in rules.params.get("bed_day_plus_one_when_worse", [])):
        days += 1
    return max(days, 1)


def _bed_items(catalogue: _Items, rules: Rules, encounter: dict, kind: str, start: datetime, end: datetime,
               prices: _Prices, skipped: list[str], tz: str | None = None) -> list[_Item]:
    if tz is not None and start.tzinfo is not None and end.tzinfo is not None:
        start, end = start.astimezone(zone(tz)), end.astimezone(zone(tz))     # each day its facility date
    body = _record_service(catalogue, rules, "bed", kind)
    if body is None:
        if ("bed", kind) in rules.record_services:
            skipped.append(f"bed {rules.record_services[('bed', kind)]}: not in the service catalogue")
        return []
    hosp = encounter.get("hospitalization") or {}
    disposition = ((hosp.get("dischargeDisposition") or {}).get("coding") or [{}])[0].get("code", "")
    result = next((e.get("valueCoding", {}).get("code") for e in encounter.get("extension", [])
                   if e.get("url", "").endswith("/treatment-result")), "")
    n = bed_days(start, end, disposition, result == "4", rules, tz)
    code, name = _service_name(body)
    url = _price_url(body["id"])
    items: list[_Item] = []
    for i in range(n):           # one bed-day per calendar day, each at the price of its day
        day = start.date() + timedelta(days=i)
        found = prices.on(url, day)
        if found is None:
            skipped.append(f"bed {code}: no price on {day:%d/%m/%Y}")
            continue
        when = datetime.combine(day, start.timetz()) if i else start
        last = items[-1] if items else None
        # A new line where the price or the department changes (a transfer: clinical.transfers),
        # so each department's bed-days carry its MA_KHOA (QĐ 130 XML3: NGAY_YL at a change of department).
        if last is not None and last.price_canonical == found[2] and (
                _department(encounter, last.when, catalogue) == _department(encounter, when, catalogue)):
            last.quantity += 1
            continue
        items.append(_Item("bed", code, name, found[1] or "ngày", Decimal(1), found[0], when,
                           f"Encounter/{encounter['id']}", "15" if kind == "noi-tru" else "14", found[2],
                           part=f"bed-{day:%Y%m%d}"))
    return items


def _drug_item(catalogue: _Items, body: dict, quantity: Decimal, when: datetime, source: str, prices: _Prices,
               skipped: list[str]) -> _Item | None:
    mid = ref_id(body.get("medicationReference")) or ""
    label = (body.get("medicationReference") or {}).get("display") or (
        body.get("medicationCodeableConcept") or {}).get("text") or "?"
    med = catalogue.get("Medication", mid) if mid else None
    if med is None:
        skipped.append(f"{source} ({label}): not in the drug catalogue")
        return None
    coding = next((c for c in med.get("code", {}).get("coding", []) if c.get("system") == resources.CODE_SYSTEM["drug"]),
                  {})
    found = prices.on(_price_url(mid), when.date())
    if found is None:
        skipped.append(f"{source} ({label}): no price on {when.date():%d/%m/%Y}")
        return None
    reg = next((i.get("value", "") for i in med.get("identifier", []) if i.get("system") == resources.REGISTRATION), "")
    return _Item("drug", coding.get("code", mid), med.get("code", {}).get("text") or coding.get("display") or label,
                 found[1] or med.get("form", {}).get("text", ""), quantity, found[0], when, source, "4", found[2],
                 service_rate=None, extra={"medication": f"Medication/{mid}", "so_dang_ky": reg})


def _drug_items(record: dict[str, list[dict]], catalogue: _Items, prices: _Prices,
                skipped: list[str]) -> list[_Item]:
    requests = [r for r in record.get("MedicationRequest", []) if r.get("status") not in DRUG_DONE]
    dispenses = [d for d in record.get("MedicationDispense", []) if d.get("status") == "completed"]
    dispensed: dict[str, Decimal] = {}
    loose = []
    for d in dispenses:
        rids = [ref_id(a) for a in d.get("authorizingPrescription", []) if ref_id(a)]
        if rids:
            for rid in rids:
                dispensed[rid or ""] = dispensed.get(rid or "", Decimal(0)) + _dec((d.get("quantity") or {}).get("value"))
        else:
            loose.append(d)
    items = []
    for r in requests:
        when = _dt(r.get("authoredOn"))
        if when is None:
            skipped.append(f"MedicationRequest/{r['id']}: no date")
            continue
        quantity = dispensed.get(r["id"], _dec(((r.get("dispenseRequest") or {}).get("quantity") or {}).get("value")))
        if quantity <= 0:
            continue
        item = _drug_item(catalogue, r, quantity, when, f"MedicationRequest/{r['id']}", prices, skipped)
        if item:
            items.append(item)
    for d in loose:
        when = _dt(d.get("whenHandedOver") or d.get("whenPrepared"))
        if when is None:
            skipped.append(f"MedicationDispense/{d['id']}: no date")
            continue
        item = _drug_item(catalogue, d, _dec((d.get("quantity") or {}).get("value")), when,
                          f"MedicationDispense/{d['id']}", prices, skipped)
        if item:
            items.append(item)
    return items


def _supply_items(record: dict[str, list[dict]], catalogue: _Items, prices: _Prices,
                  skipped: list[str]) -> list[_Item]:
    uses = [u for u in record.get("DeviceRequest", []) if u.get("status") not in DONE]
    procedures = {o["id"]: o for o in record.get("ServiceRequest", [])}
    items = []
    for u in uses:
        coding = next((c for c in (u.get("codeCodeableConcept") or {}).get("coding", [])
                       if c.get("system") == resources.CODE_SYSTEM["supply"]), None)
        label = (u.get("codeCodeableConcept") or {}).get("text") or (coding or {}).get("display") or "?"
        package = next((ref_id(b) or "" for b in u.get("basedOn", []) if (b.get("reference") or "").startswith(
            "ServiceRequest/")), "")
        # A supply's NGAY_YL is the time of the procedure that used it, so that the ceiling in force on
        # that day applies (QĐ 130 XML3 notes).
        when = _when(procedures.get(package, {})) or _when(u)
        if coding is None or when is None:
            skipped.append(f"DeviceRequest/{u['id']} ({label}): no catalogue code or no date")
            continue
        dd = catalogue.supply(coding["code"])
        if dd is None:
            skipped.append(f"DeviceRequest/{u['id']} ({label}): not in the supply catalogue")
            continue
        found = prices.on(_price_url(dd["id"]), when.date())
        if found is None:
            skipped.append(f"DeviceRequest/{u['id']} ({label}): no price on {when.date():%d/%m/%Y}")
            continue
        quantity = next((_dec((p.get("valueQuantity") or {}).get("value")) for p in u.get("parameter", [])
                         if p.get("valueQuantity")), Decimal(1))
        name = next((n.get("name", "") for n in dd.get("deviceName", [])), "") or coding.get("display", "")
        items.append(_Item("supply", coding["code"], name, found[1] or "cái", quantity, found[0], when,
                           f"DeviceRequest/{u['id']}", "10", found[2], package=package))
    return items


# --- rates per line, and the money ------------------------------------------------------------------
def _exam_rates(exams: list[_Item], inpatient: bool, rules: Rules) -> list[_Item]:
    """TYLE_TT_DV of the exams, in the order they were done: the first 100; each later specialty exam
    30 while the exams together stay within twice the first one's price; the same exam code never
    twice; an inpatient episode has one exam."""
    exams = sorted(exams, key=lambda e: (e.when, e.source_ref))
    out: list[_Item] = []
    seen: set[str] = set()
    second = rules.param("second_exam_rate")
    cap = None
    used = Decimal(0)
    for e in exams:
        if e.code in seen or (inpatient and out):
            continue
        seen.add(e.code)
        if not out:
            e.service_rate = HUNDRED
            cap = e.unit_price * rules.param("exam_total_cap_multiple")
            used = e.unit_price
        else:
            room = (cap or Decimal(0)) - used
            rate = second if e.unit_price * second / HUNDRED <= room else max(
                Decimal(0), (room * HUNDRED / e.unit_price).to_integral_value(rounding="ROUND_FLOOR"))
            if rate <= 0:
                continue
            e.service_rate = rate
            used += e.unit_price * rate / HUNDRED
        out.append(e)
    return out


def _department(encounter: dict, when: datetime, catalogue: _Items) -> str:
    """MA_KHOA of where the patient was at `when`: the identifier MA_KHOA_SYSTEM of the encounter's
    location at that time (clinical.transfers keeps one entry per stay, with its period), else of the
    Organization that runs it; '' when the facility has not given its departments their codes."""
    chosen = None
    for entry in encounter.get("location", []):
        if ((entry.get("physicalType") or {}).get("coding") or [{}])[0].get("code") in ("bd", "ro"):
            continue        # a bed or ward room (clinical.beds): the department is the entry without one
        start = _dt((entry.get("period") or {}).get("start"))
        comparable = start is not None and (start.tzinfo is None) == (when.tzinfo is None)
        if chosen is None or (comparable and start <= when):      # type: ignore[operator]
            chosen = entry
    lid = ref_id((chosen or {}).get("location"))
    location = catalogue.get("Location", lid) if lid else None
    for body in (location, catalogue.get("Organization", ref_id((location or {}).get("managingOrganization")) or "")
                 if location and location.get("managingOrganization") else None):
        code = next((i.get("value", "") for i in (body or {}).get("identifier", [])
                     if i.get("system") == MA_KHOA_SYSTEM), "")
        if code:
            return code
    return ""


def _line(item: _Item, eid: str, benefit: Decimal, insured_unit: Decimal, insurance_rate: Decimal,
          ceiling: Decimal | None, extra: dict, department: str = "") -> ChargeLine:
    s = coverage.split(item.quantity, item.unit_price, insured_unit, benefit,
                       service_rate=item.service_rate, insurance_rate=insurance_rate)
    key = f"{eid}|{item.source_ref}|{item.kind}|{item.code}|{item.part}"
    return ChargeLine(
        encounter_id=eid, kind=item.kind, code=item.code, name=item.name, unit=item.unit,
        quantity=item.quantity, unit_price=item.unit_price, amount=s.amount, insured_amount=s.insured_amount,
        bhyt_paid=s.bhyt_paid, patient_copay=s.patient_copay, patient_self=s.patient_self,
        other_sources=s.other_sources, service_time=item.when, benefit_rate=benefit,
        service_rate=item.service_rate if item.service_rate is not None else HUNDRED,
        insurance_rate=insurance_rate,
        insured_unit_price=insured_unit if insured_unit != item.unit_price else None,
        ceiling=ceiling, cost_group=item.group, department=department, source_ref=item.source_ref,
        charge_item_id=str(uuid.uuid5(NAMESPACE, key)),
        extra={**item.extra, **extra, "price_canonical": item.price_canonical,
               **({"package": item.package} if item.package else {})})


def _insured_parts(items: list[_Item], ent: Entitlement, rules: Rules, admitted: date,
                   card_grace: int) -> list[tuple[_Item, Decimal, Decimal, Decimal | None, str]]:
    """(item, DON_GIA_BH, TYLE_TT_BH, T_TRANTT, why not covered) per item, the supply ceilings applied
    per package (the supplies of one procedure) in the order they were used."""
    out = []
    packages: dict[str, Decimal] = {}
    # A card valid on admission that ends during an inpatient stay pays up to `card_grace` days more.
    grace = card_grace if ent.inpatient and ent.card is not None and ent.card.valid_on(admitted) else 0
    for it in sorted(items, key=lambda i: (i.when, i.source_ref, i.part)):
        day = it.when.date()
        why = ""
        if not ent.insured:
            why = "not insured"
        elif ent.card is not None and not ent.card.valid_on(day, grace):
            why = "card not valid on the date"
        else:
            why = rules.is_excluded(it.kind, it.code, day)
        if why:
            out.append((it, Decimal(0), Decimal(0), None, why))
            continue
        rate = rules.insurance_rate(it.kind, it.code, day)
        insured_unit, ceiling = it.unit_price, None
        if it.kind == "supply" and it.package:
            ceiling = rules.base_salary(day) * rules.param("supply_ceiling_base_salaries")
            used = packages.get(it.package, Decimal(0))
            room = max(Decimal(0), ceiling - used)
            if it.quantity * it.unit_price > room:
                insured_unit = (room / it.quantity).quantize(Decimal("0.001"))
            packages[it.package] = used + it.quantity * insured_unit
        out.append((it, insured_unit, rate, ceiling, ""))
    return out


def compute(repo: Repository, encounter_id: str, *, on: date | None = None, rules: Rules | None = None,
            tz: str = "+07:00") -> Charges:
    """The encounter's charge lines with who pays what, and what could not be charged."""
    return compute_many(repo, [encounter_id], on=on, rules=rules, tz=tz)[encounter_id]


def compute_many(repo: Repository, encounter_ids: list[str], *, on: date | None = None, rules: Rules | None = None,
                 tz: str = "+07:00") -> dict[str, Charges]:
    """`compute` for many encounters (a month's claims, a ward's bills): the records read 20 at a time,
    the catalogue items, prices and the facility once for all."""
    rules = rules or coverage.rules_for(repo)
    records = _records(repo, list(dict.fromkeys(encounter_ids)))
    catalogue, prices, fac = _Items(repo), _Prices(repo), facility(repo)
    urls: set[str] = set()
    for record in records.values():
        kind = next((c.get("code", "") for t in record["Encounter"][0].get("type", []) for c in t.get("coding", [])), "")
        urls |= _price_urls(record, rules, kind)
    prices.fetch(urls)                 # every price the visits may need, in a few searches
    return {eid: _compute(repo, eid, records[eid], rules, catalogue, prices, fac, on, tz) for eid in encounter_ids}


def _compute(repo: Repository, encounter_id: str, record: dict[str, list[dict]], rules: Rules, catalogue: _Items,
             prices: _Prices, fac: Facility, on: date | None, tz: str) -> Charges:
    encounter = record["Encounter"][0]
    pid = coverage.patient_ref_id(encounter)
    patient = next((p for p in record.get("Patient", []) if p["id"] == pid), None) or (
        repo.read("Patient", pid).json() if pid else {"id": ""})
    kind = next((c.get("code", "") for t in encounter.get("type", []) for c in t.get("coding", [])), "")
    start = _dt((encounter.get("period") or {}).get("start"))
    end = _dt((encounter.get("period") or {}).get("end"))
    as_of = on or (end.date() if end else now(tz).date())
    if end is None:          # still open: charged up to the end of `on`
        end = datetime.combine(as_of, datetime.max.time().replace(microsecond=0), start.tzinfo if start else None)
    card = coverage.card_of(repo, patient, rules, record.get("Coverage", [])) if pid else None
    visit_day = start.date() if start else as_of
    ent = coverage.entitlement(encounter, card, visit_day, rules, fac.code)
    skipped: list[str] = list(ent.notes)
    if kind in rules.params.get("excluded_encounter_kinds", []):
        ent = replace(ent, route_rate=Decimal(0), times_card_rate=False)
        skipped.append(f"a visit of kind {kind} is not covered by BHYT (Luật BHYT Đ23)")
    items = _service_items(record, catalogue, prices, skipped)
    if encounter.get("status") in ("cancelled", "entered-in-error"):
        skipped.append(f"Encounter/{encounter_id} is {encounter['status']}: nothing is charged")
        return Charges(encounter, patient, ent, [], skipped)
    if start is not None and _closed_unseen(encounter, record):
        skipped.append("the visit was closed before anyone saw the patient: no exam fee")
    elif start is not None:
        exam = _exam_item(catalogue, rules, encounter, kind, start, prices, skipped)
        if exam is not None:
            items.append(exam)
        if coverage.is_inpatient(encounter):
            items += _bed_items(catalogue, rules, encounter, kind, start, end, prices, skipped, tz)
    items += _drug_items(record, catalogue, prices, skipped)
    items += _supply_items(record, catalogue, prices, skipped)
    items = [i for i in items if i.when.date() <= as_of]
    exams = _exam_rates([i for i in items if i.kind == "exam"], ent.inpatient, rules)
    items = [i for i in items if i.kind != "exam"] + exams

    parts = _insured_parts(items, ent, rules, visit_day, int(rules.params.get("card_expiry_grace_days", 0)))
    # Whole-visit exemption: a correct-route visit whose covered cost is under 15% of the base salary
    # is paid in full (vietnam-billing.md §1.4). The covered cost is Σ THANH_TIEN_BH of the visit.
    covered = sum((coverage.split(it.quantity, it.unit_price, unit, Decimal(0), service_rate=it.service_rate,
                                  insurance_rate=rate).insured_amount for it, unit, rate, _, why in parts if not why),
                  ZERO)
    threshold = coverage.round2(rules.base_salary(visit_day) * rules.param("small_visit_fraction"))
    small = (ent.insured and covered > 0 and covered < threshold
             and (ent.correct_route or not rules.params.get("small_visit_needs_correct_route", True)))
    lines = []
    packages: dict[str, str] = {}          # GOI_VTYT: G1, G2 … in the order the packages were used
    for it, unit, rate, ceiling, why in parts:
        if why:
            benefit = Decimal(0)
        elif small:
            benefit = HUNDRED
        elif ent.card is not None and ent.card.copay_exempt_from and it.when.date() >= ent.card.copay_exempt_from:
            benefit = ent.benefit(HUNDRED)
        else:
            benefit = ent.benefit()
        extra = {"ma_doituong_kcb": ent.object_code, **({"not_covered": why} if why and ent.insured else {}),
                 **({"small_visit": True} if small else {}),
                 # PHAM_VI: 2 when BHYT never pays the item for this insured patient, 1 otherwise.
                 "pham_vi": "2" if why and why not in ("not insured", "card not valid on the date") else "1"}
        if it.kind == "supply" and it.package and ceiling is not None:
            extra["goi_vtyt"] = packages.setdefault(it.package, f"G{len(packages) + 1}")
        lines.append(_line(it, encounter_id, benefit, unit, rate, ceiling, extra,
                           _department(encounter, it.when, catalogue)))
    order = {"exam": 0, "bed": 1, "service": 2, "supply": 3, "drug": 4}
    lines.sort(key=lambda ln: (order.get(ln.kind, 9), ln.service_time or datetime.min, ln.code, ln.charge_item_id))
    return Charges(encounter, patient, ent, lines, skipped)


def charge_lines(repo: Repository, encounter_id: str, *, on: date | None = None) -> list[ChargeLine]:
    """The encounter's charge lines as of `on` (default: its end, or today while it is open); pure
    computation from the record, nothing written."""
    return compute(repo, encounter_id, on=on).lines
