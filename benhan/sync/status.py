"""What the screens show about sync: a node's status (every node page; GET /sync/status) and the
hub's dashboard of nodes (GET /sync/nodes, /admin/sync)."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from benhan.store import sync_tables as st
from benhan.store.store import Store

SILENT_AFTER_US = 48 * 3600 * 1_000_000


def node_status(store: Store) -> dict:
    """last_sync (µs or None), pending changes, open conflicts, last error, bytes today."""
    with store.db.read() as conn:
        s = st.get_settings(conn, "sync.")
        cursor = int(s.get("sync.push_seq") or 0)
        pending = st.count_own_changes(conn, store.node_id, cursor)
        conflicts = st.count_conflicts(conn)
        duplicates = len(st.duplicates(conn, "open", limit=1000))
    traffic = json.loads(s.get("sync.bytes") or "{}")
    today = datetime.now(timezone.utc).date().isoformat()
    return {"role": store.config.role or "standalone", "node_id": store.node_id,
            "enrolled": bool(s.get("sync.client_id")), "hub_url": store.config.hub_url or s.get("sync.hub_url"),
            "last_sync": int(s["sync.last_sync"]) if s.get("sync.last_sync") else None,
            "last_error": s.get("sync.last_error") or None, "pending": pending, "conflicts": conflicts,
            "duplicates": duplicates,
            # After a restore: the node pulls back its own changes the hub holds (recovering), then
            # says when that was done and how many came back (recovered).
            "recovering": json.loads(s[st.RECOVERY]) if s.get(st.RECOVERY) else None,
            "recovered": json.loads(s[st.RECOVERED]) if s.get(st.RECOVERED) else None,
            # Versions the hub would not take from this node (outside its scope): how many in all,
            # and the latest with the reason.
            "refused": int(s.get(st.REFUSED_TOTAL) or 0),
            "refused_recent": json.loads(s.get(st.REFUSED) or "[]")[:10],
            "bytes_today": (traffic.get("sent", 0) + traffic.get("received", 0)) if traffic.get("day") == today else 0}


def hub_dashboard(store: Store) -> list[dict]:
    """Each node: last contact, backlog, open conflicts, bytes today, silent for more than 48 h."""
    now = time.time_ns() // 1000
    today = datetime.now(timezone.utc).date().isoformat()
    with store.db.read() as conn:
        nodes = st.node_rows(conn)
        traffic = st.traffic(conn, today)
        out = []
        for n in nodes:
            bytes_in, bytes_out = traffic.get(n.name, (0, 0))
            out.append({"name": n.name, "node_id": n.node_id, "organization_id": n.organization_id,
                        "enrolled": n.enrolled_at is not None, "revoked": n.revoked_at is not None,
                        "last_contact": n.last_contact, "backlog": n.backlog or 0,
                        "conflicts": st.count_conflicts(conn, n.node_id) if n.node_id else 0,
                        "bytes_today": bytes_in + bytes_out, "pushed_seq": n.push_seq,
                        "silent": n.revoked_at is None and (n.last_contact or n.invited_at) < now - SILENT_AFTER_US})
    return out
