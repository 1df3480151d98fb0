"""Every print of a record is in the audit trail (DESIGN §6: read, write, print, export and sign
are all audited), written at once in its own transaction rather than buffered like reads: a
printout leaves the system, so its record must not wait."""
from __future__ import annotations

import json
from collections.abc import Iterable

from benhan.auth.actor import Actor
from benhan.clinical.printouts.forms import Printout
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import now_us
from benhan.store.store import Store


def record_print(store: Store, actor: Actor, printout: Printout, encounter_id: str, version: int | None,
                 as_pdf: bool, patients: Iterable[str] = ()) -> None:
    """`patients`: every other patient whose record the printout's reads handed out
    (Repository.released), so that each one's "who saw my record" lists the print too."""
    record = AuditRecord(recorded=now_us(), interaction="print", subtype="print", agent=actor.name,
                         source_address=actor.source_address, res_type="Encounter", res_id=encounter_id,
                         version=version, patients=tuple(sorted({printout.patient_id, *patients})),
                         role=" ".join(actor.roles) or None,
                         client_id=actor.client_id,
                         detail=json.dumps({"form": printout.form, "format": "pdf" if as_pdf else "html",
                                            "lookup": printout.mark.lookup_code}, ensure_ascii=False))
    with store.db.write() as conn:
        audit_log.write(conn, [record])
