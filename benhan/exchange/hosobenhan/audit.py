"""Every HoSoBenhAn export is in the audit trail (DESIGN §6: export is audited) as one event naming
the patients, the episodes and the format, written at once in its own transaction: the file leaves
the system, so its record must not wait for the buffered read audit."""
from __future__ import annotations

import json
from collections.abc import Iterable

from benhan.auth.actor import Actor
from benhan.exchange.hosobenhan.export import Export
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import now_us
from benhan.store.store import Store

SUBTYPE = "hosobenhan"


def record_export(store: Store, actor: Actor, export: Export, target: tuple[str, str | None],
                  patients: Iterable[str] = (), query: str | None = None) -> None:
    """`target`: (resource type, id) asked for — ("Encounter", id), ("Patient", id), or
    ("Encounter", None) for a period (its bounds in `query`). `patients`: every patient whose
    record the reads handed out (Repository.released) besides the exported ones."""
    res_type, res_id = target
    record = AuditRecord(recorded=now_us(), interaction="export", subtype=SUBTYPE, agent=actor.name,
                         source_address=actor.source_address, res_type=res_type, res_id=res_id, query=query,
                         patients=tuple(sorted({*export.patients, *patients})), role=" ".join(actor.roles) or None,
                         client_id=actor.client_id,
                         detail=json.dumps({"format": export.format, "what": export.what,
                                            "encounters": export.encounters, "bytes": len(export.content)},
                                           ensure_ascii=False))
    with store.db.write() as conn:
        audit_log.write(conn, [record])
