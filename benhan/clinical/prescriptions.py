"""Prescriptions from the facility's drug catalogue (Medication resources, docs/catalogues.md): each
line a MedicationRequest with dose, route, frequency, duration, quantity and instructions, the lines
of one prescription sharing a groupIdentifier (the đơn thuốc number printed on paper).

Before a line is written it is checked against the patient's allergies and against the drugs
already prescribed in the visit (or still active): a hit is a warning the prescriber confirms
(FormInvalid on `confirm_warnings` until they do), never a silent refusal. Both checks work on the
drug's coded active ingredients (the catalogue's HOAT_CHAT with their ATC codes, and MA_THUOC, the
insurer's active-ingredient code): the same ingredient under two brand names is a duplicate. Only
when neither drug's ingredient is known are names compared (the warning then says so).

The dose and quantity are checked too (clinical.dose_limits: the daily dose against a curated
table of maximum doses for the patient's age and weight, the units in one dose, the quantity
against the days prescribed). Every warning is overridden the same way: the box ticked and a
reason written (clinical.overrides), both kept in the line.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical import allergies as allergy_rules
from benhan.clinical import dose_limits, overrides
from benhan.clinical.allergies import DrugFacts
from benhan.clinical.atc import ATC
from benhan.clinical.catalogue.resources import CODE_SYSTEM
from benhan.clinical.common import BENHAN, UCUM, Problems, entered_at, now, ref, ref_id, requester, stamp
from benhan.clinical.vitals import readings
from benhan.fhir.text import fold
from benhan.store.repository import Repository

PRESCRIPTION_SYSTEM = "https://benhan.vn/sid/don-thuoc"
ROUTES = ("Uống", "Tiêm bắp", "Tiêm tĩnh mạch", "Truyền tĩnh mạch", "Ngậm dưới lưỡi", "Bôi ngoài da", "Nhỏ mắt",
          "Nhỏ mũi", "Đặt", "Khí dung", "Xịt")
ROUTE_TEXT = f"{BENHAN}/StructureDefinition/route-text"


@dataclass(frozen=True)
class Drug:
    medication_id: str
    name: str           # with strength
    unit: str
    route: str
    ingredients: tuple[str, ...] = ()   # as the catalogue writes them (HOAT_CHAT)
    atc: tuple[str, ...] = ()
    ma_thuoc: str = ""

    @property
    def facts(self) -> DrugFacts:
        if not self.ingredients and not self.atc:
            guess = allergy_rules.facts(self.name)     # no HOAT_CHAT: guessed from the name, if listed
            return DrugFacts(self.name, guess.ingredients, guess.atc, (self.ma_thuoc,) if self.ma_thuoc else ())
        return DrugFacts(self.name, tuple(fold(i) for i in self.ingredients), self.atc,
                         (self.ma_thuoc,) if self.ma_thuoc else ())

    @property
    def label(self) -> str:
        """As offered in the list: the name, and what it holds when the name does not say it."""
        held = ", ".join(i for i in self.ingredients if fold(i) not in fold(self.name))
        return f"{self.name} ({held}; {self.unit})" if held else f"{self.name} ({self.unit})"


def _drug(res_id: str, body: dict) -> Drug:
    coding = next((c for c in body.get("code", {}).get("coding", []) if c.get("system") == CODE_SYSTEM["drug"]),
                  (body.get("code", {}).get("coding") or [{}])[0])
    name = body.get("code", {}).get("text") or coding.get("display") or res_id
    route = next((e.get("valueString", "") for e in body.get("extension", []) if e.get("url") == ROUTE_TEXT), "")
    names, codes = [], []
    for ing in body.get("ingredient", []):
        concept = ing.get("itemCodeableConcept") or {}
        if concept.get("text"):
            names.append(concept["text"])
        codes += [c["code"] for c in concept.get("coding", []) if c.get("system") == ATC and c.get("code")]
    codes += [c["code"] for c in body.get("code", {}).get("coding", []) if c.get("system") == ATC and c.get("code")]
    return Drug(res_id, name, body.get("form", {}).get("text", ""), route, tuple(names), tuple(codes),
                coding.get("code", "") if coding.get("system") == CODE_SYSTEM["drug"] else "")


def catalogue(repo: Repository) -> list[Drug]:
    """Every active drug of the formulary, by name: what can be prescribed and what the checks know
    of each (a larger formulary had been cut at its first 1,000, whose ingredients alone were checked)."""
    return sorted((_drug(m.res_id, m.json()) for m in repo.search_all("Medication", [("status", "active")])),
                  key=lambda d: fold(d.name))


def ingredient_names(drugs: list[Drug]) -> list[str]:
    return sorted({i for d in drugs for i in d.ingredients}, key=fold)


def drug_of(request: dict) -> str:
    return (request.get("medicationReference", {}).get("display")
            or request.get("medicationCodeableConcept", {}).get("text", ""))


def facts_of(request: dict, drugs: dict[str, Drug]) -> DrugFacts:
    """What is known of a prescription line's drug: the catalogue's Medication it names, or the
    ATC codes of a coded medication (lines written by other systems), or only its name."""
    known = drugs.get(ref_id(request.get("medicationReference")) or "")
    if known is not None:
        return known.facts
    concept = request.get("medicationCodeableConcept") or {}
    codes = tuple(c["code"] for c in concept.get("coding", []) if c.get("system") == ATC and c.get("code"))
    guess = allergy_rules.facts(drug_of(request))
    return DrugFacts(drug_of(request), guess.ingredients, codes or guess.atc)


def active_lines(requests: list[dict]) -> list[dict]:
    return [r for r in requests if r.get("status") in ("active", "draft", "on-hold")]


def duplicate(a: DrugFacts, b: DrugFacts) -> tuple[str, bool] | None:
    """(what they share, coded?) when two drugs hold the same active ingredient: the same
    ingredient name, the same ATC level-5 code or the same MA_THUOC; by the first word of the name
    only when neither ingredient is known."""
    shared = set(a.ingredients) & set(b.ingredients)
    if shared:
        first = sorted(shared)[0]
        return first[:1].upper() + first[1:], True
    atc5 = {x for x in a.atc if len(x) == 7} & {x for x in b.atc if len(x) == 7}
    if atc5:
        return sorted(atc5)[0], True
    same_code = set(a.codes) & set(b.codes)
    if same_code:
        return sorted(same_code)[0], True
    if not (a.ingredients or a.atc) and not (b.ingredients or b.atc):
        wa, wb = fold(a.name).split(), fold(b.name).split()
        if wa and wb and wa[0] == wb[0]:
            return wa[0], False
    return None


def check(values: dict[str, str], drugs: dict[str, Drug], allergies: list[dict],
          existing: list[dict], age: int | None = None,
          weight_kg: float | None = None) -> tuple[Drug, dict[str, float], list[tuple[str, dict]]]:
    """The chosen drug, the numbers, and the warnings (message key, values) to confirm."""
    p = Problems()
    drug = drugs.get(values.get("rx_drug", ""))
    if drug is None:
        p.add("rx_drug", "ui.err.choose")
    numbers: dict[str, float] = {}
    for name, required in (("rx_dose", True), ("rx_per_day", True), ("rx_days", True), ("rx_quantity", False)):
        text = (values.get(name) or "").strip().replace(",", ".")
        if not text:
            if required:
                p.add(name, "ui.err.required")
            continue
        try:
            n = float(text)
        except ValueError:
            p.add(name, "ui.err.number")
            continue
        if n <= 0 or n > 1000:
            p.add(name, "ui.err.range", low="0", high="1000", unit="")
            continue
        numbers[name] = n
    if values.get("rx_route") not in ROUTES:
        p.add("rx_route", "ui.err.choose")
    p.raise_if_any()
    assert drug is not None
    if "rx_quantity" not in numbers:
        numbers["rx_quantity"] = math.ceil(numbers["rx_dose"] * numbers["rx_per_day"] * numbers["rx_days"] - 1e-9)
    warnings: list[tuple[str, dict]] = []
    for hit in allergy_rules.conflicts(allergies, drug.facts):
        warnings.append(("ui.warn.allergy" if hit.coded else "ui.warn.allergy_by_name",
                         {"drug": drug.name, "allergy": hit.allergy}))
    for line in active_lines(existing):
        same = duplicate(drug.facts, facts_of(line, drugs))
        if same:
            warnings.append(("ui.warn.duplicate_drug" if same[1] else "ui.warn.duplicate_by_name",
                             {"drug": drug_of(line), "ingredient": same[0]}))
    warnings += dose_limits.check(drug.name, drug.unit, drug.facts.ingredients or drug.ingredients, drug.facts.atc,
                                  numbers["rx_dose"], numbers["rx_per_day"], numbers["rx_days"],
                                  numbers["rx_quantity"], age, weight_kg)
    return drug, numbers, warnings


def latest_weight(vital_signs: list[dict]) -> float | None:
    """The most recent body weight (kg) among vital-sign Observations, for the dose ceiling of a child."""
    weights = [r.values["weight"] for r in readings(vital_signs) if "weight" in r.values]
    return float(weights[-1]) if weights else None


def _n(x: float) -> int | float:
    return int(x) if x == int(x) else x


def prescribe(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], allergies: list[dict],
              existing: list[dict], tz: str = "+07:00", age: int | None = None, weight_kg: float | None = None) -> str:
    """Write one line; `age` (years) and `weight_kg` (the latest recorded) set the dose ceiling."""
    drug, n, warnings = check(values, {d.medication_id: d for d in catalogue(repo)}, allergies, existing,
                              age, weight_kg)
    reason = overrides.confirm(values, warnings)
    when = now(tz)
    group = next((r.get("groupIdentifier", {}).get("value") for r in active_lines(existing)
                  if r.get("groupIdentifier")), None) or f"DT{when:%y%m%d}-{encounter['id'][:6].upper()}"
    instructions = (values.get("rx_instructions") or "").strip()
    dose, per_day, days = n["rx_dose"], n["rx_per_day"], n["rx_days"]
    text = (f"{values['rx_route']} {_n(dose)} {drug.unit} x {_n(per_day)} lần/ngày, {_n(days)} ngày"
            + (f". {instructions}" if instructions else ""))
    body = {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "groupIdentifier": {"system": PRESCRIPTION_SYSTEM, "value": group},
        "medicationReference": ref("Medication", drug.medication_id, drug.name),
        "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
        "authoredOn": entered_at(tz), "requester": requester(actor),
        "dosageInstruction": [{
            "text": text, "patientInstruction": instructions or None, "route": {"text": values["rx_route"]},
            "timing": {"repeat": {"frequency": int(per_day) if per_day == int(per_day) else 1, "period": 1,
                                  "periodUnit": "d",
                                  "boundsDuration": {"value": _n(days), "unit": "ngày", "system": UCUM, "code": "d"}}},
            "doseAndRate": [{"doseQuantity": {"value": _n(dose), "unit": drug.unit}}]}],
        "dispenseRequest": {"quantity": {"value": _n(n["rx_quantity"]), "unit": drug.unit},
                            "expectedSupplyDuration": {"value": _n(days), "unit": "ngày", "system": UCUM, "code": "d"}},
    }
    if not instructions:
        del body["dosageInstruction"][0]["patientInstruction"]
    overrides.record(body, warnings, reason)
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "MedicationRequest", rid, stamp(body, actor), create_only=True)], "create")
    return rid
