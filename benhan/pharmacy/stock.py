"""Stock operations a pharmacist performs: receive from a supplier, transfer between stores, count,
set reorder levels; what is on hand and what is below its reorder level.

Each operation is one write transaction (shared with other writes on SQLite: store.group_commit) that
appends ledger rows (store.stock_ledger) and an audit event naming who did it and why. Bad input is a
FormInvalid with translated keys (ui.stock.*); a movement that would take a lot below zero is refused
the same way, naming the drug and what is left.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date

from benhan.auth.actor import Actor
from benhan.clinical import prescriptions
from benhan.clinical.common import FormInvalid, Problems
from benhan.store import audit_log, stock_ledger
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository
from benhan.store.stock_ledger import Move, StockShort

MAIN = "main"
CONTROLLED = ("narcotic", "psychotropic", "precursor")    # gây nghiện, hướng thần, tiền chất


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class Item:
    code: str           # the catalogue's MA_THUOC (the Medication id when it has none)
    name: str
    unit: str
    medication_id: str


def items(repo: Repository) -> list[Item]:
    return [Item(d.ma_thuoc or d.medication_id, d.name, d.unit or "", d.medication_id)
            for d in prescriptions.catalogue(repo)]


def item_of_medication(repo: Repository, medication_id: str) -> Item | None:
    return next((i for i in items(repo) if i.medication_id == medication_id), None)


def short_error(exc: StockShort) -> FormInvalid:
    s = exc.shortages[0]
    problems = Problems()
    problems.add("form", "ui.stock.short", drug=s.item_name, wanted=s.wanted, available=s.available,
                 unit=s.unit)
    return FormInvalid(problems.errors)


def _audit(actor: Actor, action: str, detail: dict, patients: tuple[str, ...] = ()) -> AuditRecord:
    return AuditRecord(recorded=now_us(), interaction="create", agent=actor.name, subtype="stock-" + action,
                       source_address=actor.source_address, role=" ".join(actor.roles) or None,
                       patients=patients, detail=json.dumps(detail, ensure_ascii=False))


def _write(repo: Repository, actor: Actor, action: str, detail: dict, work) -> None:  # noqa: ANN001
    """Run work(conn) (which appends ledger rows) and record the audit event in the same transaction."""
    def run(conn) -> None:  # noqa: ANN001
        work(conn)
        audit_log.write(conn, [_audit(actor, action, detail)])
    try:
        repo.store.group_commit.run(run)
    except StockShort as exc:
        raise short_error(exc) from None


def setup_stores(repo: Repository, wards: tuple[tuple[str, str], ...] = ()) -> None:
    """The main store always exists; ward cabinets as given (code, name). Reads first: a page view
    that finds them made writes nothing."""
    with repo.store.db.read() as conn:
        known = {code for code, _name, _kind in stock_ledger.stores(conn)}
    if MAIN in known and all(code in known for code, _name in wards):
        return

    def work(conn) -> None:  # noqa: ANN001
        stock_ledger.ensure_store(conn, MAIN, "Kho chính khoa Dược", "main")
        for code, name in wards:
            stock_ledger.ensure_store(conn, code, name, "ward")
    repo.store.group_commit.run(work)


def add_ward_cabinet(repo: Repository, actor: Actor, values: dict[str, str]) -> str:
    code, name = (values.get("code") or "").strip(), (values.get("name") or "").strip()
    problems = Problems()
    if not code or len(code) > 64 or not code.replace("-", "").replace("_", "").isalnum():
        problems.add("code", "ui.stock.bad_code")
    if not name:
        problems.add("name", "ui.stock.required")
    problems.raise_if_any()
    _write(repo, actor, "store", {"store": code, "name": name},
           lambda conn: stock_ledger.ensure_store(conn, code, name, "ward"))
    return code


def _int(values: dict[str, str], name: str, problems: Problems, *, minimum: int = 1) -> int:
    raw = (values.get(name) or "").strip().replace(".", "").replace(" ", "")
    try:
        n = int(raw)
    except ValueError:
        problems.add(name, "ui.stock.whole_number")
        return 0
    if n < minimum:
        problems.add(name, "ui.stock.whole_number")
    return n


def _store(repo: Repository, values: dict[str, str], name: str, problems: Problems) -> str:
    code = (values.get(name) or "").strip()
    with repo.store.db.read() as conn:
        if not stock_ledger.store_exists(conn, code):
            problems.add(name, "ui.stock.unknown_store")
    return code


def _item(repo: Repository, values: dict[str, str], problems: Problems) -> Item | None:
    code = (values.get("item") or "").strip()
    found = next((i for i in items(repo) if i.code == code), None)
    if found is None:
        problems.add("item", "ui.stock.unknown_item")
    return found


def receive(repo: Repository, actor: Actor, values: dict[str, str], at_us: int | None = None) -> None:
    """A delivery from a supplier into a store: one lot (number, expiry, quantity, unit price)."""
    problems = Problems()
    store = _store(repo, values, "store", problems)
    item = _item(repo, values, problems)
    supplier = (values.get("supplier") or "").strip()
    invoice = (values.get("invoice") or "").strip()
    lot_number = (values.get("lot") or "").strip()
    if not supplier:
        problems.add("supplier", "ui.stock.required")
    if not invoice:
        problems.add("invoice", "ui.stock.required")
    if not lot_number or len(lot_number) > 64:
        problems.add("lot", "ui.stock.required")
    try:
        expiry = date.fromisoformat((values.get("expiry") or "").strip()).isoformat()
    except ValueError:
        problems.add("expiry", "ui.stock.bad_date")
        expiry = ""
    quantity = _int(values, "quantity", problems)
    price = _int(values, "price", problems, minimum=0)
    controlled = (values.get("controlled") or "").strip() or None
    if controlled is not None and controlled not in CONTROLLED:
        problems.add("controlled", "ui.stock.required")
    problems.raise_if_any()
    assert item is not None

    def work(conn) -> None:  # noqa: ANN001
        lot = stock_ledger.lot_for(conn, store, item.code, item.name, item.unit, lot_number, expiry, controlled)
        stock_ledger.append(conn, [Move(lot, "receipt", quantity, actor.display or actor.name,
                                        supplier=supplier[:255], invoice=invoice[:64], unit_price=price)],
                            at_us or now_us())
    _write(repo, actor, "receipt", {"store": store, "item": item.code, "lot": lot_number, "expiry": expiry,
                                    "quantity": quantity, "supplier": supplier, "invoice": invoice}, work)


def transfer(repo: Repository, actor: Actor, values: dict[str, str], today: date, at_us: int | None = None) -> None:
    """Move a quantity of a drug from one store to another, first expiry first out, lot by lot."""
    problems = Problems()
    source = _store(repo, values, "source", problems)
    target = _store(repo, values, "target", problems)
    item = _item(repo, values, problems)
    quantity = _int(values, "quantity", problems)
    if source and source == target:
        problems.add("target", "ui.stock.same_store")
    problems.raise_if_any()
    assert item is not None
    who = actor.display or actor.name

    def work(conn) -> None:  # noqa: ANN001
        taken = allocate(conn, source, item.code, item.name, item.unit, quantity, today, lock=True)
        moves = []
        for lot, n in taken:
            moves.append(Move(lot.id, "transfer-out", -n, who, other_store=target))
            into = stock_ledger.lot_for(conn, target, lot.item_code, lot.item_name, lot.unit, lot.lot_number,
                                        lot.expiry, lot.controlled)
            moves.append(Move(into, "transfer-in", n, who, other_store=source))
        stock_ledger.append(conn, moves, at_us or now_us())
    _write(repo, actor, "transfer", {"source": source, "target": target, "item": item.code,
                                     "quantity": quantity}, work)


def count(repo: Repository, actor: Actor, values: dict[str, str], at_us: int | None = None) -> int:
    """A stock count of one lot: the counted quantity replaces the balance by an adjustment row with
    the reason (audited). Returns the adjustment (counted − recorded)."""
    problems = Problems()
    counted = _int(values, "counted", problems, minimum=0)
    reason = (values.get("reason") or "").strip()
    if not reason:
        problems.add("reason", "ui.stock.reason_needed")
    try:
        lot_id = int(values.get("lot_id") or "")
    except ValueError:
        lot_id = 0
        problems.add("lot_id", "ui.stock.unknown_lot")
    problems.raise_if_any()
    result: dict[str, int] = {}

    def work(conn) -> None:  # noqa: ANN001
        balance = stock_ledger.lock_lots(conn, [lot_id])
        if not stock_ledger.lot_exists(conn, lot_id):
            p = Problems()
            p.add("lot_id", "ui.stock.unknown_lot")
            p.raise_if_any()
        recorded = balance.get(lot_id, 0)
        result["delta"] = counted - recorded
        result["recorded"] = recorded
        if counted != recorded:
            stock_ledger.append(conn, [Move(lot_id, "count", counted - recorded, actor.display or actor.name,
                                            reason=reason[:2000])], at_us or now_us())
        audit_log.write(conn, [_audit(actor, "count", {"lot_id": lot_id, "recorded": recorded,
                                                         "counted": counted, "reason": reason})])
    repo.store.group_commit.run(work)
    return result["delta"]


def set_reorder_level(repo: Repository, actor: Actor, values: dict[str, str]) -> None:
    problems = Problems()
    store = _store(repo, values, "store", problems)
    item = _item(repo, values, problems)
    level = _int(values, "level", problems, minimum=0)
    problems.raise_if_any()
    assert item is not None
    _write(repo, actor, "reorder", {"store": store, "item": item.code, "level": level},
           lambda conn: stock_ledger.set_reorder(conn, store, item.code, level))


def allocate(conn, store: str, item_code: str, item_name: str, unit: str, wanted: int, today: date,  # noqa: ANN001
             *, lock: bool) -> list[tuple[stock_ledger.Lot, int]]:
    """First expiry first out over the store's unexpired lots (a lot expiring today is still usable);
    StockShort when they do not hold `wanted`."""
    usable = [lot for lot in stock_ledger.lots(conn, store=store, item_code=item_code, lock=lock)
              if lot.expiry >= today.isoformat()]
    taken, left = [], wanted
    for lot in usable:
        if left <= 0:
            break
        n = min(lot.balance, left)
        taken.append((lot, n))
        left -= n
    if left > 0:
        raise StockShort([stock_ledger.Shortage(item_code, item_name, unit, wanted, wanted - left)])
    return taken


# --- what is on hand ------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnHand:
    store: str
    item_code: str
    item_name: str
    unit: str
    total: int
    usable: int
    reorder_level: int | None
    lots: tuple[stock_ledger.Lot, ...]

    @property
    def below_reorder(self) -> bool:
        return self.reorder_level is not None and self.usable <= self.reorder_level


def on_hand(repo: Repository, today: date) -> list[OnHand]:
    """Per store and drug: the lots with stock, the usable (unexpired) total, the reorder level."""
    with repo.store.db.read() as conn:
        all_lots = stock_ledger.lots(conn)
        levels = stock_ledger.reorder_levels(conn)
    grouped: dict[tuple[str, str], list[stock_ledger.Lot]] = {}
    for lot in all_lots:
        grouped.setdefault((lot.store, lot.item_code), []).append(lot)
    out = []
    for key in sorted(set(grouped) | set(levels)):
        group = grouped.get(key, [])
        names = {i.code: i for i in items(repo)} if not group else {}
        name = group[0].item_name if group else getattr(names.get(key[1]), "name", key[1])
        unit = group[0].unit if group else getattr(names.get(key[1]), "unit", "")
        out.append(OnHand(key[0], key[1], name, unit, sum(lot.balance for lot in group),
                          sum(lot.balance for lot in group if lot.expiry >= today.isoformat()),
                          levels.get(key), tuple(group)))
    return out


def below_reorder(repo: Repository, today: date) -> list[OnHand]:
    return [row for row in on_hand(repo, today) if row.below_reorder]


def stores(repo: Repository) -> list[tuple[str, str, str]]:
    with repo.store.db.read() as conn:
        return stock_ledger.stores(conn)
