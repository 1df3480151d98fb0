"""Dose and quantity checks of a prescription line, against a curated table of maximum daily doses.

The table (clinical/data/max-daily-doses.csv) is data, not code: one row per active ingredient with
its ATC code, the adult maximum in mg a day, the child maximum in mg per kg a day and in mg a day,
and the reference it was taken from. It covers the demo's drugs and common primary-care ones; a
drug whose ingredient is not in it gets no dose-ceiling check (the quantity checks still apply).
Facilities should review it against the Dược thư Quốc gia and their own protocols.

What is checked (each finding a warning the prescriber may override with a reason):
- the daily dose (dose × times a day × the strength per unit, read from the product name
  "Paracetamol 500mg") above the maximum for the patient: a child (under 12) by weight when one is
  recorded, never above the child or adult ceiling;
- more units in one dose than anyone takes of a tablet, sachet or ampoule (> 10);
- a quantity to dispense beyond what the dose, times a day and days need, or an absurd total.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from benhan.fhir.text import fold

TABLE = Path(__file__).with_name("data") / "max-daily-doses.csv"
CHILD_UNDER = 12                # years: BNF gives adult doses from 12 for most of these drugs
MAX_UNITS_PER_DOSE = 10         # tablets, sachets, ampoules, vials in one dose
COUNTED_UNITS = {"viên", "gói", "ống", "lọ", "chai", "vỉ", "túi", "bơm tiêm"}
ABSURD_TOTAL = 1000             # units on one line

Warning = tuple[str, dict]


@dataclass(frozen=True)
class Limit:
    ingredient: str
    atc: str
    adult_mg: float | None
    child_mg_per_kg: float | None
    child_mg: float | None
    source: str


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


@lru_cache(maxsize=1)
def table() -> dict[str, Limit]:
    """Keyed by folded ingredient name and by ATC code."""
    out: dict[str, Limit] = {}
    with TABLE.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            limit = Limit(r["ingredient"], r["atc"], _num(r["adult_max_mg_per_day"]),
                          _num(r["child_max_mg_per_kg_per_day"]), _num(r["child_max_mg_per_day"]), r["source"])
            out[fold(limit.ingredient)] = limit
            if limit.atc:
                out[limit.atc] = limit
    return out


_STRENGTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|g|mcg|µg)\b", re.IGNORECASE)
_FACTOR = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "µg": 0.001}


def strength_mg(name: str) -> float | None:
    """mg of active ingredient per unit from a product name ("Paracetamol 500mg" → 500, "Ceftriaxon
    1g" → 1000); None when the name gives none, or several (a combination: "500mg + 125mg")."""
    found = _STRENGTH.findall(name)
    if len(found) != 1:
        return None
    value, unit = found[0]
    return float(value.replace(",", ".")) * _FACTOR[unit.lower()]


def limit_for(ingredients: tuple[str, ...], atc: tuple[str, ...]) -> Limit | None:
    """The table's row for a single-ingredient drug (by ATC code, then by name); None for a
    combination or an ingredient not in the table."""
    if len(ingredients) > 1 or len({a for a in atc if len(a) == 7}) > 1:
        return None
    t = table()
    for a in atc:
        if a in t:
            return t[a]
    return next((t[fold(i)] for i in ingredients if fold(i) in t), None)


def ceiling(limit: Limit, age: int | None, weight_kg: float | None) -> tuple[float, str] | None:
    """(max mg a day, how it was worked out) for this patient, or None when the table has none."""
    if age is not None and age < CHILD_UNDER:
        caps = [c for c in (limit.child_mg, limit.adult_mg) if c]
        if limit.child_mg_per_kg and weight_kg:
            by_weight = limit.child_mg_per_kg * weight_kg
            cap = min([by_weight, *caps])
            return cap, f"{_g(limit.child_mg_per_kg)} mg/kg/ngày × {_g(weight_kg)} kg"
        return (min(caps), "trẻ em") if caps else None
    return (limit.adult_mg, "người lớn") if limit.adult_mg else None


def _g(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def check(name: str, unit: str, ingredients: tuple[str, ...], atc: tuple[str, ...], dose: float, per_day: float,
          days: float, quantity: float, age: int | None, weight_kg: float | None) -> list[Warning]:
    warnings: list[Warning] = []
    limit = limit_for(ingredients, atc)
    mg = strength_mg(name)
    if limit and mg:
        cap = ceiling(limit, age, weight_kg)
        daily = dose * per_day * mg
        if cap and daily > cap[0] + 1e-9:
            warnings.append(("ui.warn.dose_above_max", {"drug": name, "daily": _g(daily), "max": _g(round(cap[0], 1)),
                                                        "basis": cap[1], "source": limit.source}))
    counted = unit.strip().lower() in COUNTED_UNITS
    if counted and dose > MAX_UNITS_PER_DOSE:
        warnings.append(("ui.warn.dose_units", {"dose": _g(dose), "unit": unit}))
    needed = dose * per_day * days
    if quantity > math.ceil(needed - 1e-9):
        warnings.append(("ui.warn.quantity_beyond_days", {"quantity": _g(quantity), "unit": unit,
                                                          "needed": _g(math.ceil(needed - 1e-9)), "days": _g(days)}))
    if quantity > ABSURD_TOTAL:
        warnings.append(("ui.warn.quantity_absurd", {"quantity": _g(quantity), "unit": unit}))
    return warnings
