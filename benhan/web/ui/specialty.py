"""The specialty record card of a stay's page: the doctor chooses the record form the stay is written
on (01/BV1 Nội khoa, 02/BV1 Nhi khoa, 03/BV1 Truyền nhiễm, 04/BV1 Phụ khoa, 05/BV1 Sản khoa, 10/BV1
Ngoại khoa; the department's specialty is offered first) and writes that specialty's items
(clinical.specialty_record). The printouts list then prints that form instead of 01/BV1."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from benhan.clinical import specialty_record as sr, transfers
from benhan.web.lazy import lazy_module
from benhan.store.repository import Repository
from benhan.web.ui.base import may, tz

specialty_inpatient = lazy_module("benhan.documents.forms.specialty_inpatient")   # the PDF stack at first use


def _department(r: Repository, encounter: dict) -> dict | None:
    """The department the patient is in (its Location.type may name its specialty)."""
    stays = transfers.stays(encounter)
    if not stays or not stays[-1].location_id or not may(r, "r", "Location"):
        return None
    try:
        return r.read("Location", stays[-1].location_id).json()
    except Exception:      # noqa: BLE001 — a department since deleted names no specialty
        return None


def card(r: Repository, encounter: dict, lang: str) -> dict:
    """What the card shows: the form chosen (or the department's), its items with their labels and
    options in the page's language, the values stored; `form_key` the record the printouts list prints."""
    part = sr.of_visit(r, encounter["id"]) if may(r, "s", "Composition") else None
    chosen = sr.chosen(part, encounter, _department(r, encounter))
    i = 0 if lang == "vi" else 1
    items = [(item, item.vi if i == 0 else item.en,
              [(code, names[i]) for code, names in sr.OPTIONS.get(item.options, {}).items()])
             for item in sr.items_of(chosen)]
    return {"part": part, "chosen": chosen, "form_key": specialty_inpatient.record_form_for(chosen),
            "choices": [(s.code, f"{s.form} — {s.vi if i == 0 else s.en}") for s in sr.SPECIALTIES],
            "items": items, "values": {**sr.values(part), "sp_form": chosen}, "texts": sr.texts(part),
            "may_write": may(r, "c", "Composition") and may(r, "u", "Composition")}


def _save(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    sr.save(r, r.actor, encounter, v, sr.of_visit(r, encounter["id"]), v.get("sp_reason", ""), tz(request))


async def post(request: Request) -> Response:
    from benhan.web.ui import visit      # visit's form handler (gate, CSRF, re-render with the messages)
    return await visit._post("specialty", ("c", "Composition"), _save)(request)
