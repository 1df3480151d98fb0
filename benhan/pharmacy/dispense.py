"""Handing over a prescription (outpatient, or a ward's requisition) against stock: each line's
quantity is taken from the store's unexpired lots, earliest expiry first; the MedicationDispense
names the lots it came from (Medication.batch-like extension, below) and the ledger rows name the
dispense, the prescription and the patient, in the same transaction.

Not enough stock for any line: nothing is handed over and the pharmacist is told which drug is short
and how much is left. Two pharmacists handing over the last units at once: the lots are locked
(store.stock_ledger), the second finds them empty and is refused the same way.
"""
from __future__ import annotations

import uuid
from datetime import date

from benhan.auth.actor import Actor
from benhan.clinical import dispensing
from benhan.clinical.common import FormInvalid, Problems, entered_at, ref, ref_id, stamp
from benhan.pharmacy import stock
from benhan.store import stock_ledger
from benhan.store.repository import Repository
from benhan.store.stock_ledger import Move, StockShort

# The lots a dispense came from: one extension per lot (lot number, expiry, quantity), as the R4
# Medication.batch has them, kept on the dispense itself so the prescription's medicationReference
# (and the bill that follows it) is unchanged.
LOT_EXTENSION = "https://benhan.vn/fhir/StructureDefinition/dispensed-lot"
ATTEMPTS = 3


class _Replan(Exception):
    """The lots moved between planning and writing (another dispense, a count): plan again."""


def _wanted(repo: Repository, rx: dispensing.Prescription) -> list[tuple[dict, stock.Item, int]]:
    problems = Problems()
    by_medication = {i.medication_id: i for i in stock.items(repo)}
    out = []
    for line in rx.lines:
        item = by_medication.get(ref_id(line.get("medicationReference")) or "")
        qty = ((line.get("dispenseRequest") or {}).get("quantity") or {}).get("value")
        if item is None or not isinstance(qty, (int, float)) or qty <= 0 or qty != int(qty):
            problems.add("form", "ui.stock.not_stocked",
                         drug=(line.get("medicationReference") or {}).get("display", ""))
            continue
        out.append((line, item, int(qty)))
    problems.raise_if_any()
    return out


def _plan(conn, store: str, wanted, today: date, lock: bool) -> list[list[tuple[stock_ledger.Lot, int]]]:  # noqa: ANN001
    """Per line, the lots and quantities; the same drug on two lines draws on what the first left."""
    plans, used, short = [], {}, []
    for _line, item, qty in wanted:
        try:
            taken = stock.allocate(conn, store, item.code, item.name, item.unit, qty + used.get(item.code, 0),
                                   today, lock=lock)
        except StockShort as exc:
            short += exc.shortages
            plans.append([])
            continue
        skip, mine = used.get(item.code, 0), []
        for lot, n in taken:             # drop what earlier lines of the same drug took
            drop = min(skip, n)
            skip -= drop
            if n - drop:
                mine.append((lot, n - drop))
        used[item.code] = used.get(item.code, 0) + qty
        plans.append(mine)
    if short:
        raise StockShort(short)
    return plans


def _key(plans) -> list[list[tuple[int, int]]]:  # noqa: ANN001
    return [[(lot.id, n) for lot, n in plan] for plan in plans]


def dispense(repo: Repository, actor: Actor, number: str, *, store: str = stock.MAIN, today: date,
             tz: str = "+07:00", at_us: int | None = None) -> list[str]:
    """Hand over every undispensed line of prescription `number` from `store`; the MedicationDispense
    ids. FormInvalid when there is nothing to hand over or not enough stock (nothing written)."""
    pending = dispensing.to_dispense(repo, tz, limit=1, number=number, today=today)
    if not pending:
        problems = Problems()
        problems.add("number", "ui.pharmacy.nothing")
        problems.raise_if_any()
    rx = pending[0]
    wanted = _wanted(repo, rx)
    who = actor.display or actor.name
    for _attempt in range(ATTEMPTS):
        try:
            with repo.store.db.read() as conn:
                plans = _plan(conn, store, wanted, today, lock=False)
        except StockShort as exc:
            raise stock.short_error(exc) from None
        when = entered_at(tz)
        ids, prepared = [], []
        for (line, _item, qty), plan in zip(wanted, plans):
            rid = str(uuid.uuid4())
            ids.append(rid)
            body = {"resourceType": "MedicationDispense", "status": "completed",
                    "extension": [{"url": LOT_EXTENSION, "extension": [
                        {"url": "lotNumber", "valueString": lot.lot_number},
                        {"url": "expirationDate", "valueDateTime": lot.expiry},
                        {"url": "quantity", "valueQuantity": {"value": n, "unit": lot.unit}}]}
                        for lot, n in plan],
                    "medicationReference": line.get("medicationReference"),
                    "subject": line.get("subject"), "context": line.get("encounter"),
                    "authorizingPrescription": [ref("MedicationRequest", line["id"])],
                    "performer": [{"actor": {"display": who}}],
                    "location": {"display": store},
                    "quantity": {**((line.get("dispenseRequest") or {}).get("quantity") or {}), "value": qty},
                    "daysSupply": (line.get("dispenseRequest") or {}).get("expectedSupplyDuration"),
                    "whenHandedOver": when, "dosageInstruction": line.get("dosageInstruction")}
            body = {k: v for k, v in body.items() if v}
            prepared.append(repo.prepare("POST", "MedicationDispense", rid, stamp(body, actor), create_only=True))
        planned = _key(plans)
        patient = ref_id(rx.lines[0].get("subject")) or None

        def ledger(conn) -> None:  # noqa: ANN001
            again = _plan(conn, store, wanted, today, lock=True)     # under the lots' locks now
            if _key(again) != planned:
                raise _Replan()
            stock_ledger.append(conn, [Move(lot.id, "dispense", -n, who, prescription=number[:64],
                                            patient_id=patient, dispense_id=rid)
                                       for rid, plan in zip(ids, again) for lot, n in plan],
                                at_us or stock.now_us())
        try:
            repo.commit(prepared, "transaction", before=ledger)
            return ids
        except _Replan:
            continue
        except StockShort as exc:
            raise stock.short_error(exc) from None
    problems = Problems()
    problems.add("form", "ui.err.conflict")
    raise FormInvalid(problems.errors)

