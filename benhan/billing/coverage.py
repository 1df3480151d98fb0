"""Who pays what: the BHYT rules as dated data (benhan/billing/data/, docs/billing.md) and the
per-line arithmetic of QĐ 130 as amended by QĐ 4750/3176 (vietnam-billing.md §1).

- The benefit level comes from the card: the Coverage's stored rate (the card check's answer),
  else the third character of a legacy 15-character number, else the assumed rate of rules.json.
- The route of the visit (where the patient came from) is captured when the visit opens
  (Encounter extension ROUTE_EXT, clinical/visits.py); with the facility's level it gives the
  visit's MA_DOITUONG_KCB (QĐ 3276/2025 PL1) and its route rate. A final code set by the BHYT desk
  (Encounter extension OBJECT_CODE_EXT) wins.
- MUC_HUONG = card rate × route rate (or the route rate alone where PL1 says "regardless of the
  card"); the whole-visit exemptions then raise it to 100.

Every number here is a rule a decision can change, so each lives in a data file with its dates; a
facility corrects one by putting a file of the same name in <data_dir>/billing/.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from benhan import errors
from benhan.clinical import card_renewal
from benhan.clinical.common import BENHAN, ref_id
from benhan.clinical.visits import BHYT_ROUTE_EXT, BHYT_ROUTES
from benhan.store.repository import Repository
from benhan.vn.bhyt import LEGACY, normalize, parse_bhyt
from benhan.vn.identifiers import BHYT_SYSTEM

DATA = Path(__file__).parent / "data"
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")

# Captured at the visit's opening: where the insured patient comes from (docs/billing.md).
ROUTE_EXT = BHYT_ROUTE_EXT
ROUTES = {"dang-ky": "at the facility on the card", "chuyen-tuyen": "with a transfer slip",
          "hen-kham": "follow-up by appointment", "luu-tru": "temporary stay / changed residence",
          "tu-den": "self-referred (thông tuyến / trái tuyến)", "khong-bhyt": "not using BHYT"}
assert set(ROUTES) == set(BHYT_ROUTES)
# The MA_DOITUONG_KCB the BHYT desk decided for the finished visit (QĐ 3276: chosen after the visit).
OBJECT_CODE_EXT = f"{BENHAN}/StructureDefinition/ma-doituong-kcb"
# On the Coverage: the benefit rate (MUC_HUONG of the card) and the date from which co-payment is
# waived (5 years continuous + 6 months of base salary paid), both as the card check answers.
CARD_RATE_EXT = f"{BENHAN}/StructureDefinition/bhyt-benefit-rate"
COPAY_EXEMPT_EXT = f"{BENHAN}/StructureDefinition/bhyt-copay-exempt-from"
REGISTERED_FACILITY_EXT = f"{BENHAN}/StructureDefinition/bhyt-registered-facility"
NOT_INSURED = "9"
EMERGENCY = "2"


def round2(x: Decimal) -> Decimal:
    """2 decimals, half up (QĐ 130 says "round to 2 decimals"; half-up is the usual reading ⚠)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


# --- the rule data ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dated:
    valid_from: date | None
    valid_to: date | None
    row: dict

    def holds(self, on: date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (self.valid_to is None or on <= self.valid_to)


def _day(text: str) -> date | None:
    return date.fromisoformat(text.strip()) if (text or "").strip() else None


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]


def _dated(rows: list[dict]) -> list[Dated]:
    return [Dated(_day(r.get("valid_from", "")), _day(r.get("valid_to", "")), r) for r in rows]


RuleDataError = errors.BillingRulesInvalid       # a rule file that cannot be read (the message names it)


@dataclass(frozen=True)
class Rules:
    base_salaries: tuple[Dated, ...]
    card_levels: dict[int, Decimal]
    routes: tuple[Dated, ...]
    facility: dict
    params: dict
    record_services: dict[tuple[str, str], str]      # (exam|bed, encounter kind) → service code
    payment_rates: tuple[Dated, ...]
    excluded: tuple[Dated, ...]

    def base_salary(self, on: date) -> Decimal:
        for d in self.base_salaries:
            if d.holds(on):
                return Decimal(d.row["amount"])
        raise RuleDataError(f"base_salary.csv: no base salary for {on.isoformat()}")

    def param(self, name: str) -> Decimal:
        return Decimal(str(self.params[name]))

    def route_rate(self, code: str, inpatient: bool, on: date) -> tuple[Decimal, bool, bool] | None:
        """(route rate %, times the card rate?, correct route?) of a MA_DOITUONG_KCB on a date."""
        care = "inpatient" if inpatient else "outpatient"
        for d in self.routes:
            if d.row["code"] == code and d.row["care"] in ("all", care) and d.holds(on):
                return (Decimal(d.row["route_rate"]), d.row["times_card_rate"] == "yes",
                        d.row["correct_route"] == "yes")
        return None

    def insurance_rate(self, kind: str, code: str, on: date) -> Decimal:
        """TYLE_TT_BH of an item: 100 unless the drug/supply/service list sets another rate."""
        for d in self.payment_rates:
            if d.row["code"] == code and d.row.get("kind", "") in ("", kind) and d.holds(on):
                return Decimal(d.row["rate"])
        return HUNDRED

    def is_excluded(self, kind: str, code: str, on: date) -> str:
        """Why BHYT never pays this item ('' when it may)."""
        for d in self.excluded:
            if d.row["code"] == code and d.row.get("kind", "") in ("", kind) and d.holds(on):
                return d.row.get("reason") or "excluded"
        return ""

    def with_facility(self, **facility: object) -> "Rules":
        """The same rules for a facility of another level (tests, a hub billing for several)."""
        return Rules(self.base_salaries, self.card_levels, self.routes, {**self.facility, **facility},
                     self.params, self.record_services, self.payment_rates, self.excluded)


def _file(name: str, override: Path | None) -> Path:
    if override is not None and (override / name).is_file():
        return override / name
    return DATA / name


def load_rules(override: Path | None = None) -> Rules:
    """The rule data: each file from `override` (a facility's <data_dir>/billing) when it has one of
    that name, else the one shipped with benhan."""
    return _load(str(override) if override else "")


@lru_cache(maxsize=8)
def _load(override_text: str) -> Rules:
    override = Path(override_text) if override_text else None
    try:
        base = _dated(_csv(_file("base_salary.csv", override)))
        levels = {int(r["digit"]): Decimal(r["rate"]) for r in _csv(_file("benefit_levels.csv", override))}
        routes = _dated(_csv(_file("routes.csv", override)))
        facility = json.loads(_file("facility.json", override).read_text(encoding="utf-8"))
        params = json.loads(_file("rules.json", override).read_text(encoding="utf-8"))
        services = {(r["role"], r["encounter_kind"]): r["code"] for r in _csv(_file("record_services.csv", override))}
        rates = _dated(_csv(_file("payment_rates.csv", override)))
        excluded = _dated(_csv(_file("excluded.csv", override)))
        # Every row read once now, so that a broken file fails at start, not on a patient's bill.
        for d in base:
            Decimal(d.row["amount"])
        for d in routes:
            Decimal(d.row["route_rate"]), d.row["code"], d.row["care"], d.row["times_card_rate"], d.row["correct_route"]
        for d in rates:
            Decimal(d.row["rate"]), d.row["code"]
        for d in excluded:
            d.row["code"]
        for name in ("small_visit_fraction", "supply_ceiling_base_salaries", "second_exam_rate",
                     "exam_total_cap_multiple", "unknown_card_rate"):
            Decimal(str(params[name]))
    except (OSError, KeyError, ValueError, ArithmeticError) as exc:
        raise RuleDataError(f"billing rule data: {type(exc).__name__}: {exc}") from None
    return Rules(tuple(base), levels, tuple(routes), facility, params, services, tuple(rates), tuple(excluded))


def rules_for(repo: Repository) -> Rules:
    """The rules of the node `repo` works on: its <data_dir>/billing corrections over the shipped data."""
    data_dir = getattr(getattr(repo.store, "config", None), "values", {}).get("data_dir")
    return load_rules(Path(data_dir) / "billing" if data_dir else None)


# --- the card ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Card:
    number: str
    rate: Decimal                    # the card's benefit level (%)
    rate_known: bool                 # False: assumed (a 10/12-digit number without a card check)
    valid_from: date | None = None
    valid_to: date | None = None
    registered_facility: str = ""
    copay_exempt_from: date | None = None
    coverage_id: str = ""

    def valid_on(self, on: date, grace_days: int = 0) -> bool:
        return ((self.valid_from is None or self.valid_from <= on)
                and (self.valid_to is None or on <= self.valid_to + timedelta(days=grace_days)))


def _ext(body: dict, url: str) -> dict | None:
    return next((e for e in body.get("extension", []) if e.get("url") == url), None)


def _card_rate(number: str, stored: object, rules: Rules) -> tuple[Decimal, bool]:
    if stored is not None:
        return Decimal(str(stored)), True
    parsed = parse_bhyt(number)
    if parsed is not None and parsed.form == LEGACY and parsed.level in rules.card_levels:
        return rules.card_levels[parsed.level], True
    return rules.param("unknown_card_rate"), False


def card_of(repo: Repository, patient: dict, rules: Rules, coverages: list[dict] | None = None) -> Card | None:
    """The patient's BHYT card: the active Coverage written at registration, else a BHYT identifier
    on the Patient (records made by other systems or the synthetic demo); None when uninsured.
    `coverages`: the patient's Coverages when the caller has them already."""
    if coverages is None:
        coverages = [m.json() for m in repo.search_all("Coverage", [("beneficiary", f"Patient/{patient['id']}")])]
    c = card_renewal.in_use(coverages)
    if c is not None:
        number = next(i.get("value", "") for i in c["identifier"] if i.get("system") == BHYT_SYSTEM)
        rate_ext = _ext(c, CARD_RATE_EXT)
        rate, known = _card_rate(number, rate_ext.get("valueDecimal") if rate_ext else None, rules)
        period = c.get("period") or {}
        exempt = _ext(c, COPAY_EXEMPT_EXT)
        place = _ext(c, REGISTERED_FACILITY_EXT)
        return Card(number, rate, known, _day(period.get("start", "")[:10]), _day(period.get("end", "")[:10]),
                    (place or {}).get("valueString", ""),
                    _day((exempt or {}).get("valueDate", "")), c["id"])
    number = next((normalize(i.get("value", "")) for i in patient.get("identifier", [])
                   if i.get("system") == BHYT_SYSTEM and i.get("value")), "")
    if not number:
        return None
    rate, known = _card_rate(number, None, rules)
    return Card(number, rate, known)


# --- the route and the visit's benefit ---------------------------------------------------------------
@dataclass(frozen=True)
class Entitlement:
    """What the fund pays for one visit, before the whole-visit exemptions."""
    object_code: str                 # MA_DOITUONG_KCB
    card: Card | None
    route: str                       # as captured (ROUTES) or derived
    inpatient: bool
    route_rate: Decimal
    times_card_rate: bool
    correct_route: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def insured(self) -> bool:
        return self.card is not None and self.object_code != NOT_INSURED

    def benefit(self, card_rate: Decimal | None = None) -> Decimal:
        """MUC_HUONG (%): card rate × route rate, or the route rate alone where PL1 says so."""
        if not self.insured:
            return Decimal(0)
        rate = self.card.rate if card_rate is None else card_rate       # type: ignore[union-attr]
        return self.route_rate * rate / HUNDRED if self.times_card_rate else self.route_rate


def route_of(encounter: dict, card: Card | None, facility_code: str) -> str:
    """The route captured at the visit's opening; for a visit opened without one: at the facility
    on the card when the card names this facility or names none, self-referred otherwise."""
    ext = _ext(encounter, ROUTE_EXT)
    if ext and ext.get("valueCode") in ROUTES:
        return ext["valueCode"]
    if card is None:
        return "khong-bhyt"
    # Only a facility code (5 digits, the card check's maDKBD) says "another facility"; a name typed
    # by the clerk says nothing for sure.
    place = card.registered_facility.strip()
    if facility_code and re.fullmatch(r"\d{5}", place) and place != facility_code:
        return "tu-den"
    return "dang-ky"


def is_emergency(encounter: dict) -> bool:
    kinds = [c.get("code") for t in encounter.get("type", []) for c in t.get("coding", [])]
    priority = [c.get("code") for c in (encounter.get("priority") or {}).get("coding", [])]
    return "cap-cuu" in kinds or "EM" in priority or (encounter.get("class") or {}).get("code") == "EMER"


def is_inpatient(encounter: dict) -> bool:
    return (encounter.get("class") or {}).get("code") in ("IMP", "SS", "ACUTE", "NONAC")


def self_referred_code(facility: dict, inpatient: bool) -> str:
    """QĐ 3276 PL1 for a self-referred patient at this facility (the first row from the top that fits;
    the disease-list rows 1.16/1.17 need the desk's final code)."""
    level, former, score = facility.get("level", ""), facility.get("former_level", ""), facility.get("score")
    if level == "ban-dau":
        return "1.2"
    if level == "co-ban":
        if inpatient:
            return "1.15"
        if former in ("provincial", "central"):
            return "1.14"
        if score is None or float(score) < 50:
            return "1.12"
        if float(score) <= 70:
            return "1.13"
        return "3.3"
    if level == "chuyen-sau":
        if former == "central":
            return "3.1"
        if former == "provincial":
            return "3.2" if inpatient else "1.18"
        return "3.3"
    return "1.12"


_ROUTE_CODES = {"dang-ky": "1.1", "chuyen-tuyen": "1.3", "luu-tru": "1.4", "hen-kham": "1.5"}


def object_code(encounter: dict, card: Card | None, route: str, rules: Rules) -> str:
    ext = _ext(encounter, OBJECT_CODE_EXT)
    if ext and ext.get("valueString"):
        return ext["valueString"]
    if card is None or route == "khong-bhyt":
        return NOT_INSURED
    inpatient = is_inpatient(encounter)
    if rules.facility.get("level") == "ban-dau":
        return "1.2"                # any primary facility: 100% regardless of the card (first from the top)
    if is_emergency(encounter):
        return EMERGENCY
    if route == "tu-den":
        return self_referred_code(rules.facility, inpatient)
    return _ROUTE_CODES.get(route, "1.1")


def entitlement(encounter: dict, card: Card | None, on: date, rules: Rules, facility_code: str = "") -> Entitlement:
    route = route_of(encounter, card, facility_code)
    code = object_code(encounter, card, route, rules)
    inpatient = is_inpatient(encounter)
    found = rules.route_rate(code, inpatient, on)
    notes = []
    if found is None:
        notes.append(f"routes.csv has no rate for MA_DOITUONG_KCB {code} ({'inpatient' if inpatient else 'outpatient'}) "
                     f"on {on.isoformat()}: the fund pays nothing")
        found = (Decimal(0), False, False)
    if card is not None and not card.rate_known:
        notes.append(f"card {card.number}: benefit level not known, {card.rate}% assumed until the card check")
    return Entitlement(code, card if code != NOT_INSURED else None, route, inpatient, *found, notes=tuple(notes))


# --- the per-line arithmetic (§1.7) ------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    amount: Decimal          # THANH_TIEN_BV
    insured_amount: Decimal  # THANH_TIEN_BH
    bhyt_paid: Decimal       # T_BHTT
    patient_copay: Decimal   # T_BNCCT
    patient_self: Decimal    # T_BNTT
    other_sources: Decimal = ZERO  # T_NGUONKHAC


def split(quantity: Decimal, unit_price: Decimal, insured_unit_price: Decimal, benefit: Decimal, *,
          service_rate: Decimal | None = HUNDRED, insurance_rate: Decimal = HUNDRED,
          other_for_patient: Decimal = ZERO) -> Split:
    """One line's money. `service_rate` None for a drug (XML2 has no TYLE_TT_DV). T_BHTT is rounded
    first and T_BNCCT is the difference, so T_BNCCT + T_BHTT = THANH_TIEN_BH exactly; support for this
    patient only (`other_for_patient`) comes off T_BNTT, then T_BNCCT, then T_BHTT (QĐ 130 field 27 a)."""
    dv = HUNDRED if service_rate is None else service_rate
    amount = round2(quantity * unit_price * dv / HUNDRED)
    insured = round2(quantity * insured_unit_price * dv / HUNDRED * insurance_rate / HUNDRED)
    fund = round2(insured * benefit / HUNDRED)
    copay = insured - fund
    self_pay = amount - insured
    other = round2(other_for_patient)
    left = other
    take = min(left, self_pay); self_pay -= take; left -= take
    take = min(left, copay); copay -= take; left -= take
    take = min(left, fund); fund -= take; left -= take
    return Split(amount, insured, fund, copay, self_pay, other - left)


def patient_ref_id(encounter: dict) -> str:
    return ref_id(encounter.get("subject")) or ""
