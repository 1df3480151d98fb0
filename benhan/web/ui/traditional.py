"""The traditional-medicine (YHCT) part of the visit page (clinical.traditional_medicine): what the card
shows and whether it opens by itself — a visit or department coded YHCT, or a YHCT part already written;
any other visit shows it folded, so a doctor may choose the YHCT record by filling it."""
from __future__ import annotations

from benhan.clinical import traditional_medicine as yhct
from benhan.web.lazy import lazy_module
from benhan.store.repository import Repository
from benhan.web.ui.base import may

forms = lazy_module("benhan.documents.forms.traditional_medicine")   # the PDF stack at first use (web/lazy.py)


def _department(r: Repository, encounter: dict) -> dict | None:
    """The Location the visit is in now (its type may name the specialty), when this role may read it."""
    from benhan.clinical import beds      # the department, not the bed or room (clinical.beds)
    lid = beds.current_department(encounter)
    if not lid or not may(r, "r", "Location"):
        return None
    try:
        return r.read("Location", lid).json()
    except Exception:      # noqa: BLE001 — a department since deleted names no specialty
        return None


def card(r: Repository, encounter: dict, patient: dict, composition: dict | None, lang: str) -> dict:
    """What the card shows; `inpatient_record` the record form a stay prints (18/BV1, 20/BV1 or 01/BV1)."""
    part = yhct.of(composition)
    coded = yhct.is_traditional(encounter, _department(r, encounter))
    i = 0 if lang == "vi" else 1
    return {
        "open": coded or bool(part), "coded": coded, "part": part, "values": part.values(),
        "inpatient_record": forms.record_for(encounter, patient) if coded else "inpatient",
        "sections": [(s, yhct.field_name(s.code), s.vi if lang == "vi" else s.en) for s in yhct.SECTIONS],
        "ticks": {kind: [(yhct.tick_field(kind, c), names[i]) for c, names in codes.items()]
                  for kind, codes in yhct.TICKS.items()},
        "herbs_field": yhct.HERBS_FIELD, "icd_field": yhct.ICD_FIELD,
    }
