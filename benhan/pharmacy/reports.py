"""The reports the pharmacy keeps: import–export–stock (báo cáo xuất–nhập–tồn) per store and drug for
a period, and the controlled-drug registers (sổ theo dõi thuốc gây nghiện, thuốc hướng thần, tiền
chất), each movement with its prescription and patient; as rows for the page and as CSV.

All from the ledger: opening = the balances before the period, in = receipts and transfers in, out =
dispenses and transfers out, the count adjustments apart, closing = opening + in − out + adjustments.
A period is [start, end] in local dates at the facility's offset.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import time_ns

from benhan.clinical.common import zone
from benhan.store import stock_ledger
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository

IN_KINDS = ("receipt", "transfer-in")
OUT_KINDS = ("dispense", "transfer-out")
REGISTERS = {"narcotic": "gây nghiện", "psychotropic": "hướng thần", "precursor": "tiền chất"}


def bounds_us(start: date, end: date, tz: str) -> tuple[int, int]:
    """[start 00:00, the day after end 00:00) at the offset, in microseconds UTC."""
    z = zone(tz)
    first = datetime.combine(start, time(0), z)
    after = datetime.combine(end + timedelta(days=1), time(0), z)
    return int(first.timestamp()) * 1_000_000, int(after.timestamp()) * 1_000_000


@dataclass
class Line:
    store: str
    item_code: str
    item_name: str
    unit: str
    opening: int = 0
    received: int = 0
    issued: int = 0
    adjusted: int = 0

    @property
    def closing(self) -> int:
        return self.opening + self.received - self.issued + self.adjusted


def import_export_stock(repo: Repository, start: date, end: date, tz: str = "+07:00",
                        store: str | None = None) -> list[Line]:
    since, until = bounds_us(start, end, tz)
    with repo.store.db.read() as conn:
        moves = stock_ledger.movements(conn, until_us=until, store=store)
    lines: dict[tuple[str, str], Line] = {}
    for m in moves:
        line = lines.setdefault((m["store"], m["item_code"]),
                                Line(m["store"], m["item_code"], m["item_name"], m["unit"]))
        q = int(m["quantity"])
        if m["at"] < since:
            line.opening += q
        elif m["kind"] in IN_KINDS:
            line.received += q
        elif m["kind"] in OUT_KINDS:
            line.issued -= q
        else:
            line.adjusted += q
    return [lines[k] for k in sorted(lines)]


def controlled_register(repo: Repository, kind: str, start: date, end: date, tz: str = "+07:00") -> list[dict]:
    """Every movement of the controlled drugs of `kind` in the period, oldest first, with the balance
    of its lot after it."""
    since, until = bounds_us(start, end, tz)
    with repo.store.db.read() as conn:
        moves = stock_ledger.movements(conn, since_us=since, until_us=until, controlled=(kind,))
    patients = tuple(sorted({m["patient_id"] for m in moves if m["patient_id"]}))
    repo.store.read_audit.add(AuditRecord(recorded=time_ns() // 1000, interaction="search-type",
                                          agent=repo.actor.name, subtype="stock-register", query=kind,
                                          patients=patients, role=" ".join(repo.actor.roles) or None))
    z = zone(tz)
    for m in moves:
        m["when"] = datetime.fromtimestamp(m["at"] / 1_000_000, z).strftime("%d/%m/%Y %H:%M")
    return moves


def iex_csv(lines: list[Line]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Kho", "Mã thuốc", "Tên thuốc", "Đơn vị", "Tồn đầu kỳ", "Nhập", "Xuất", "Điều chỉnh kiểm kê",
                "Tồn cuối kỳ"])
    for line in lines:
        w.writerow([line.store, line.item_code, line.item_name, line.unit, line.opening, line.received,
                    line.issued, line.adjusted, line.closing])
    return out.getvalue()


def register_csv(moves: list[dict]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Thời gian", "Kho", "Mã thuốc", "Tên thuốc", "Đơn vị", "Số lô", "Hạn dùng", "Loại", "Số lượng",
                "Tồn lô", "Nhà cung cấp", "Số hóa đơn", "Đơn thuốc", "Người bệnh", "Người thực hiện", "Lý do"])
    for m in moves:
        w.writerow([m["when"], m["store"], m["item_code"], m["item_name"], m["unit"], m["lot_number"], m["expiry"],
                    m["kind"], m["quantity"], m["balance"], m["supplier"] or "", m["invoice"] or "",
                    m["prescription"] or "", m["patient_id"] or "", m["actor"], m["reason"] or ""])
    return out.getvalue()
