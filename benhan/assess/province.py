"""The hub's side of the self-assessment: keeping each node's posted report, and the provincial
dashboard for the Sở Y tế (docs/sync.md "The provincial dashboard").

A page view reads the latest report per node (one small row each), the sync node rows and the
per-day rows of the last weeks — never the resources: records per day are counted when a push is
applied (sync/hub.py → store/assess_tables.add_records).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from html import escape

from benhan import errors
from benhan.assess.evaluate import REPORT_KIND
from benhan.store import assess_tables as at
from benhan.store import audit_log
from benhan.store import sync_tables as st
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store

HISTORY_DAYS = 30
MAX_REPORT_BYTES = 512 * 1024


def receive(store: Store, node, report: dict, size: int) -> dict:  # noqa: ANN001
    """Keep a node's self-assessment as its latest; that day's readiness for the history."""
    if size > MAX_REPORT_BYTES:
        raise errors.PayloadTooLarge(f"an assessment report is at most {MAX_REPORT_BYTES} bytes")
    try:
        if report.get("kind") != REPORT_KIND:
            raise ValueError("kind")
        summary, facility, metrics = report["summary"], report.get("facility") or {}, report.get("metrics") or {}
        met, total = int(summary["met"]), int(summary["total"])
        if not (0 <= met <= total <= 1000) or len(report.get("items") or []) != total:
            raise ValueError("summary")
        generated = dt.datetime.fromisoformat(str(report["generated_at"]))
        share = metrics.get("signed_share")
        values = {"received_at": time.time_ns() // 1000, "generated_at": int(generated.timestamp() * 1e6),
                  "facility": str(facility.get("name") or node.name)[:255],
                  "province": (str(facility["province"])[:255] if facility.get("province") else None),
                  "commune": (str(facility["commune"])[:255] if facility.get("commune") else None),
                  "met": met, "total": total,
                  "backup_ok": bool(metrics["backup_ok"]) if metrics.get("backup_ok") is not None else None,
                  "signed_share": float(share) if share is not None else None,
                  "claims_sent": int(metrics["claims_sent"]) if metrics.get("claims_sent") is not None else None,
                  "report": json.dumps(report, ensure_ascii=False)}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise errors.MalformedJson("send the JSON of `benhan assess --json` (kind, generated_at, summary, items)") \
            from None
    day = dt.datetime.now(dt.timezone.utc).date().isoformat()
    with store.db.write() as conn:
        at.put_report(conn, node.name, day, values)
        audit_log.write(conn, [AuditRecord(recorded=values["received_at"], interaction="create", agent=node.name,
                                           subtype="assess-report", client_id=node.client_id,
                                           detail=json.dumps({"node": node.name, "met": met, "total": total}))])
    return {"node": node.name, "met": met, "total": total}


def dashboard(store: Store, *, today: dt.date | None = None, days: int = HISTORY_DAYS) -> dict:
    """Every node with its readiness, records per day, last sync, backup health, signing coverage
    and claims sent; the same by province/commune; the province's readiness per day."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    first = today - dt.timedelta(days=days - 1)
    with store.db.read() as conn:
        nodes = [n for n in st.node_rows(conn) if n.revoked_at is None]
        reports = at.reports(conn)
        rows = at.daily(conn, first.isoformat())
        start = at.readiness_before(conn, first.isoformat())
    day_list = [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]
    records: dict[str, dict[str, int]] = {}
    readiness: dict[str, dict[str, tuple[int, int]]] = {}
    for r in rows:
        records.setdefault(r.node_name, {})[r.day] = r.records
        if r.met is not None:
            readiness.setdefault(r.node_name, {})[r.day] = (r.met, r.total)
    facilities = []
    for n in nodes:
        rep = reports.get(n.name)
        per_day = records.get(n.name, {})
        facilities.append({
            "node": n.name, "facility": rep.facility if rep else n.name,
            "province": rep.province if rep else None, "commune": rep.commune if rep else None,
            "met": rep.met if rep else None, "total": rep.total if rep else None,
            "readiness": round(100 * rep.met / rep.total, 1) if rep and rep.total else None,
            "reported_at": rep.received_at if rep else None, "last_sync": n.last_contact,
            "records_today": per_day.get(today.isoformat(), 0),
            "records_per_day": round(sum(per_day.values()) / days, 1),
            "records_by_day": {d: per_day.get(d, 0) for d in day_list},
            "backup_ok": rep.backup_ok if rep else None, "signed_share": rep.signed_share if rep else None,
            "claims_sent": rep.claims_sent if rep else None})
    # The province's path to 100 %: each day, the share of all checklist items met over every
    # facility, carrying each node's last report forward (a node that never reported counts 0 of
    # the checklist's size once any report exists).
    size = max((f["total"] or 0 for f in facilities), default=0)
    history = []
    current = {n: v for n, v in start.items()}
    for d in day_list:
        for name, by_day in readiness.items():
            if d in by_day:
                current[name] = by_day[d]
        met = sum(current.get(f["node"], (0, 0))[0] for f in facilities)
        total = sum(current.get(f["node"], (0, size))[1] or size for f in facilities)
        history.append({"day": d, "met": met, "total": total,
                        "percent": round(100 * met / total, 1) if total else 0.0,
                        "records": sum(f["records_by_day"][d] for f in facilities)})
    areas: dict[tuple[str, str], dict] = {}
    for f in facilities:
        key = (f["province"] or "—", f["commune"] or "—")
        a = areas.setdefault(key, {"province": key[0], "commune": key[1], "facilities": 0, "met": 0, "total": 0,
                                   "complete": 0, "records_today": 0})
        a["facilities"] += 1
        a["met"] += f["met"] or 0
        a["total"] += f["total"] or size
        a["complete"] += int(bool(f["total"]) and f["met"] == f["total"])
        a["records_today"] += f["records_today"]
    for a in areas.values():
        a["readiness"] = round(100 * a["met"] / a["total"], 1) if a["total"] else 0.0
    return {"today": today.isoformat(), "days": day_list, "facilities": facilities,
            "areas": [areas[k] for k in sorted(areas)], "history": history}


CSV_COLUMNS = ("node", "facility", "province", "commune", "met", "total", "readiness", "last_sync", "reported_at",
               "records_today", "records_per_day", "backup_ok", "signed_share", "claims_sent")


def _iso(us: int | None) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.timezone.utc).isoformat(timespec="seconds") if us else ""


def to_csv(data: dict) -> str:
    """One row per facility (UTF-8 with a BOM, so a spreadsheet opens the diacritics right)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for f in data["facilities"]:
        row = dict(f, last_sync=_iso(f["last_sync"]), reported_at=_iso(f["reported_at"]))
        w.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return "\ufeff" + out.getvalue()


def progress_svg(history: list[dict], label: str, w: int = 640, h: int = 160, pad: int = 28) -> str:
    """The province's readiness per day (0–100 %) as an inline SVG line: no script, no library."""
    n = len(history)
    if not n:
        return ""

    def x(i: int) -> float:
        return pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(p: float) -> float:
        return h - pad - (h - 2 * pad) * p / 100
    pts = " ".join(f"{x(i):.1f},{y(d['percent']):.1f}" for i, d in enumerate(history))
    parts = [f'<svg class="province-progress" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
             f'aria-label="{escape(label)}">',
             f'<line x1="{pad}" y1="{y(100):.1f}" x2="{w - pad}" y2="{y(100):.1f}" stroke="#999" stroke-dasharray="4 3"/>',
             f'<line x1="{pad}" y1="{y(0):.1f}" x2="{w - pad}" y2="{y(0):.1f}" stroke="#999"/>',
             f'<text x="2" y="{y(100) + 4:.1f}" font-size="10">100 %</text>',
             f'<text x="2" y="{y(0) + 4:.1f}" font-size="10">0 %</text>',
             f'<polyline fill="none" stroke="#0b5d5b" stroke-width="2" points="{pts}"/>']
    for i, d in enumerate(history):
        if i == n - 1 or d["met"]:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(d["percent"]):.1f}" r="2.5" fill="#0b5d5b">'
                         f'<title>{escape(d["day"])}: {d["percent"]} % ({d["met"]}/{d["total"]})</title></circle>')
    parts.append(f'<text x="{pad}" y="{h - 6}" font-size="10">{escape(history[0]["day"])}</text>'
                 f'<text x="{w - pad}" y="{h - 6}" font-size="10" text-anchor="end">{escape(history[-1]["day"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def records_svg(facility: dict, label: str, w: int = 150, h: int = 28) -> str:
    """A facility's records per day as a small bar strip."""
    values = list(facility["records_by_day"].values())
    top = max(values, default=0) or 1
    bw = w / max(len(values), 1)
    bars = "".join(f'<rect x="{i * bw:.1f}" y="{h - h * v / top:.1f}" width="{max(bw - 1, 1):.1f}" '
                   f'height="{h * v / top:.1f}" fill="#0b5d5b"/>' for i, v in enumerate(values) if v)
    return (f'<svg class="records-per-day" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            f'aria-label="{escape(label)}">{bars}</svg>')
