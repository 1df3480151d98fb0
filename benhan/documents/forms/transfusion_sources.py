"""Where the transfusion sheet reads its values: the visit's transfusion Procedures (clinical.transfusion,
gathered in FormData.transfusions) and the vital-sign readings taken during each. "transfusion:<id>"
prints that unit; without one, the visit's latest. Nothing is invented: what was not recorded is empty
and prints as the paper's dotted line."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from benhan.clinical import signers, transfusion as tx
from benhan.clinical.common import vn_datetime
from benhan.documents.forms.data import FormData
from benhan.vn.display import number


def _unit(d: FormData) -> dict:
    if d.part:
        return next((p for p in d.transfusions if p.get("id") == d.part), {})
    return d.transfusions[-1] if d.transfusions else {}


def _period(d: FormData) -> dict:
    return _unit(d).get("performedPeriod") or {}


def order(d: FormData) -> str:
    return tx.order(_unit(d))


def product(d: FormData) -> str:
    return tx.product(_unit(d))


def bag(d: FormData) -> str:
    return tx.bag(_unit(d))


def volume(d: FormData) -> str:
    return number(tx.volume(_unit(d)))


def group(whose: str) -> Callable[[FormData], str]:
    def read(d: FormData) -> str:
        return tx.group(_unit(d), whose)
    read.__name__ = f"group_{whose}"
    return read


def check(name: str) -> Callable[[FormData], str]:
    """The code of a bedside check's result (a tick of the vocabulary set ket-qua-kiem-tra)."""
    def read(d: FormData) -> str:
        return tx.check(_unit(d), name)
    read.__name__ = f"check_{name.replace('-', '_')}"
    return read


def start(d: FormData) -> str:
    return vn_datetime(_period(d).get("start"))


def end(d: FormData) -> str:
    return vn_datetime(_period(d).get("end"))


def start_date(d: FormData) -> dt.date | None:
    iso = _period(d).get("start") or ""
    return dt.date.fromisoformat(iso[:10]) if len(iso) >= 10 else None


def rate(d: FormData) -> str:
    return number(tx.rate(_unit(d)))


def reaction(d: FormData) -> str:
    return tx.reaction(_unit(d))


def reaction_action(d: FormData) -> str:
    return tx.reaction_action(_unit(d))


def nurse(d: FormData) -> str:
    return signers.full_name(tx.performer(_unit(d), tx.NURSE), d.ctx.practitioners)


def doctor(d: FormData) -> str:
    return signers.full_name(tx.performer(_unit(d), tx.PHYSICIAN), d.ctx.practitioners)


def check_rows(d: FormData) -> list[list[str]]:
    """Giờ | Mạch | Huyết áp | Nhiệt độ, one row per reading taken during the transfusion."""
    unit = _unit(d)
    if not unit:
        return []
    rows = []
    for r in tx.checks_of(unit, d.ctx.rec.observations):
        v = r.values
        bp = f"{number(v['systolic'])}/{number(v['diastolic'])}" if "systolic" in v and "diastolic" in v else ""
        rows.append([vn_datetime(r.when), number(v.get("pulse")), bp, number(v.get("temperature"))])
    return rows


# --- 07/BV2 Phiếu theo dõi truyền dịch (clinical.infusion, gathered in FormData.infusions) ---

def infusion_rows(d: FormData) -> list[list[str]]:
    """Ngày | Tên dịch truyền | Số lượng (ml) | Số lô | Tốc độ (giọt/phút) | Bắt đầu | Kết thúc | Bác sĩ chỉ định |
    Điều dưỡng, one row per bottle, in the order they started."""
    from benhan.clinical import infusion
    rows = []
    for item in d.infusions:
        period = item.get("effectivePeriod") or {}
        start, end = period.get("start") or "", period.get("end") or ""
        rows.append([vn_datetime(start)[6:], infusion.fluid(item), number(infusion.volume(item)), infusion.lot(item),
                     number(infusion.rate(item)), vn_datetime(start)[:5],
                     vn_datetime(end)[:5] if end[:10] == start[:10] else vn_datetime(end),
                     signers.full_name(infusion.performer(item, infusion.PHYSICIAN), d.ctx.practitioners),
                     signers.full_name(infusion.performer(item, infusion.NURSE), d.ctx.practitioners)])
    return rows
