"""The pharmacy's stock as an append-only ledger (tables stock_store, stock_lot, stock_move,
stock_reorder; docs/pharmacy.md, docs/architecture.md "Pharmacy stock").

Every receipt, transfer, dispense and count correction is one row per lot in stock_move, never
changed. Each row carries the lot's balance after it. Rows of a lot are appended only while the lot
is locked (SELECT … FOR UPDATE on PostgreSQL; on SQLite the one writer, BEGIN IMMEDIATE), so each
balance is the previous one plus the quantity, and the CHECK (balance >= 0) makes a negative balance
impossible even for a caller that forgot to look: stock never goes negative silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from benhan.store.schema import stock_lot, stock_move, stock_reorder, stock_store

KINDS = ("receipt", "transfer-out", "transfer-in", "dispense", "count")


@dataclass(frozen=True)
class Shortage:
    item_code: str
    item_name: str
    unit: str
    wanted: int
    available: int


class StockShort(Exception):
    """Not enough usable (unexpired) stock; nothing was written."""

    def __init__(self, shortages: list[Shortage]):
        super().__init__("; ".join(f"{s.item_name}: {s.wanted} > {s.available}" for s in shortages))
        self.shortages = shortages


@dataclass(frozen=True)
class Lot:
    id: int
    store: str
    item_code: str
    item_name: str
    unit: str
    lot_number: str
    expiry: str
    controlled: str | None
    balance: int = 0


@dataclass
class Move:
    lot_id: int
    kind: str
    quantity: int
    actor: str
    reason: str | None = None
    supplier: str | None = None
    invoice: str | None = None
    unit_price: int | None = None
    other_store: str | None = None
    prescription: str | None = None
    patient_id: str | None = None
    dispense_id: str | None = None
    extra: dict = field(default_factory=dict)


# --- stores ---------------------------------------------------------------------------------------

def ensure_store(conn: Connection, code: str, name: str, kind: str) -> None:
    if conn.execute(select(stock_store.c.code).where(stock_store.c.code == code)).first() is None:
        conn.execute(insert(stock_store).values(code=code, name=name, kind=kind))


def stores(conn: Connection) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in conn.execute(
        select(stock_store.c.code, stock_store.c.name, stock_store.c.kind).order_by(
            stock_store.c.kind, stock_store.c.code)).all()]


def store_exists(conn: Connection, code: str) -> bool:
    return conn.execute(select(stock_store.c.code).where(stock_store.c.code == code)).first() is not None


# --- lots and balances ----------------------------------------------------------------------------

def lot_for(conn: Connection, store: str, item_code: str, item_name: str, unit: str, lot_number: str,
            expiry: str, controlled: str | None) -> int:
    """The id of this lot in this store, made on its first receipt (or transfer in)."""
    where = and_(stock_lot.c.store == store, stock_lot.c.item_code == item_code,
                 stock_lot.c.lot_number == lot_number, stock_lot.c.expiry == expiry)
    found = conn.execute(select(stock_lot.c.id).where(where)).scalar()
    if found is not None:
        return int(found)
    savepoint = conn.begin_nested()
    try:
        new = conn.execute(insert(stock_lot).values(
            store=store, item_code=item_code, item_name=item_name, unit=unit, lot_number=lot_number,
            expiry=expiry, controlled=controlled).returning(stock_lot.c.id)).scalar()
        savepoint.commit()
        return int(new)
    except IntegrityError:          # made at the same moment by another pharmacist: use theirs
        savepoint.rollback()
        return int(conn.execute(select(stock_lot.c.id).where(where)).scalar())


def _balance_of(lot_ids: list[int]):  # noqa: ANN202
    """lot id → the balance of its newest movement (the index on (lot_id, id) finds it)."""
    newest = (select(stock_move.c.lot_id, func.max(stock_move.c.id).label("last"))
              .where(stock_move.c.lot_id.in_(lot_ids)).group_by(stock_move.c.lot_id).subquery())
    return select(newest.c.lot_id, stock_move.c.balance).join(stock_move, stock_move.c.id == newest.c.last)


def lots(conn: Connection, *, store: str | None = None, item_code: str | None = None,
         lock: bool = False, with_empty: bool = False) -> list[Lot]:
    """Lots (with their balance), earliest expiry first. lock: FOR UPDATE on PostgreSQL (the caller
    is in a write transaction; on SQLite the write transaction already excludes other writers)."""
    cond = []
    if store is not None:
        cond.append(stock_lot.c.store == store)
    if item_code is not None:
        cond.append(stock_lot.c.item_code == item_code)
    q = select(stock_lot).where(and_(True, *cond)).order_by(stock_lot.c.expiry, stock_lot.c.id)
    rows = conn.execute(q.with_for_update() if lock and conn.dialect.name == "postgresql" else q).all()
    if not rows:
        return []
    bal = _balances(conn, [r.id for r in rows])
    found = [Lot(r.id, r.store, r.item_code, r.item_name, r.unit, r.lot_number, r.expiry, r.controlled,
                 bal.get(r.id, 0)) for r in rows]
    return found if with_empty else [lot for lot in found if lot.balance > 0]


def _balances(conn: Connection, lot_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for start in range(0, len(lot_ids), 500):
        chunk = lot_ids[start:start + 500]
        q = _balance_of(chunk)
        out.update({int(a): int(b) for a, b in conn.execute(q).all()})
    return out


def lot_exists(conn: Connection, lot_id: int) -> bool:
    return conn.execute(select(stock_lot.c.id).where(stock_lot.c.id == lot_id)).first() is not None


def lock_lots(conn: Connection, lot_ids: list[int]) -> dict[int, int]:
    """Lock these lots (PostgreSQL, in id order so two writers never wait on each other in a circle)
    and return their balances."""
    ids = sorted(set(lot_ids))
    if conn.dialect.name == "postgresql" and ids:
        conn.execute(select(stock_lot.c.id).where(stock_lot.c.id.in_(ids)).order_by(
            stock_lot.c.id).with_for_update()).all()
    return _balances(conn, ids)


def append(conn: Connection, moves: list[Move], at_us: int) -> None:
    """Append movements; the lots must be locked by the caller (lock_lots). A movement that would take
    a lot below zero raises StockShort and nothing of this call is written (the caller's transaction
    rolls back)."""
    balance = lock_lots(conn, [m.lot_id for m in moves])
    rows = []
    for m in moves:
        new = balance.get(m.lot_id, 0) + m.quantity
        if new < 0:
            lot = conn.execute(select(stock_lot).where(stock_lot.c.id == m.lot_id)).one()
            raise StockShort([Shortage(lot.item_code, lot.item_name, lot.unit, -m.quantity,
                                       balance.get(m.lot_id, 0))])
        balance[m.lot_id] = new
        rows.append({"lot_id": m.lot_id, "at": at_us, "kind": m.kind, "quantity": m.quantity, "balance": new,
                     "actor": m.actor[:200], "reason": m.reason, "supplier": m.supplier, "invoice": m.invoice,
                     "unit_price": m.unit_price, "other_store": m.other_store, "prescription": m.prescription,
                     "patient_id": m.patient_id, "dispense_id": m.dispense_id})
    for row in rows:        # one at a time: each row's id orders it after the balance it follows
        conn.execute(insert(stock_move).values(**row))


# --- reorder levels -------------------------------------------------------------------------------

def set_reorder(conn: Connection, store: str, item_code: str, level: int) -> None:
    where = and_(stock_reorder.c.store == store, stock_reorder.c.item_code == item_code)
    if conn.execute(select(stock_reorder.c.level).where(where)).first() is None:
        conn.execute(insert(stock_reorder).values(store=store, item_code=item_code, level=level))
    else:
        conn.execute(stock_reorder.update().where(where).values(level=level))


def reorder_levels(conn: Connection) -> dict[tuple[str, str], int]:
    return {(r.store, r.item_code): int(r.level) for r in conn.execute(select(stock_reorder)).all()}


# --- movements for the reports --------------------------------------------------------------------

def movements(conn: Connection, *, until_us: int, since_us: int | None = None, store: str | None = None,
              controlled: tuple[str, ...] | None = None) -> list[dict]:
    """Movements with their lot, oldest first, at < until_us (and >= since_us)."""
    cond = [stock_move.c.at < until_us]
    if since_us is not None:
        cond.append(stock_move.c.at >= since_us)
    if store is not None:
        cond.append(stock_lot.c.store == store)
    if controlled is not None:
        cond.append(stock_lot.c.controlled.in_(controlled))
    q = (select(stock_move, stock_lot.c.store, stock_lot.c.item_code, stock_lot.c.item_name, stock_lot.c.unit,
                stock_lot.c.lot_number, stock_lot.c.expiry, stock_lot.c.controlled)
         .join(stock_lot, stock_lot.c.id == stock_move.c.lot_id).where(and_(*cond)).order_by(stock_move.c.id))
    return [dict(r._mapping) for r in conn.execute(q).all()]
