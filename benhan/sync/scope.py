"""What a node may receive from the hub (docs/sync.md "Scope").

- Resources outside the Patient compartment — shared registries (Organization, Practitioner,
  Location, Medication …) and terminology (CodeSystem, ValueSet …) — go to every node.
- A Patient and the resources in their compartment go to a node when the patient is its own (it
  registered them), was referred to it (a ServiceRequest whose performer is the node's
  Organization) or was fetched by it on demand — and, for the last two, only while the patient's
  Consent lets their record leave the facility that holds it.
- Nothing goes back to the node that made it.
"""
from __future__ import annotations

import orjson

from benhan.fhir.indexing import extract
from benhan.store import access as access_sql
from benhan.store import sync_tables as st
from benhan.store.store import Store
from benhan.store.sync_tables import Change


class Scope:
    def __init__(self, store: Store, conn, node):  # noqa: ANN001
        from benhan.auth.consent import may_leave_facility
        self.conn = conn
        self.node_id = node.node_id
        own = st.scope_patients(conn, node.name)
        shared = {p for p, reason in own.items() if reason != "home"}
        if node.organization_id:
            shared |= st.referred_patients(conn, node.organization_id) - set(own)
        # Consent is checked for every patient whose record would leave the facility holding it.
        self.patients = {p for p, reason in own.items() if reason == "home"}
        self.patients |= {p for p in shared if may_leave_facility(store, p)}

    def filter(self, rows: list[Change]) -> list[Change]:
        rows = [r for r in rows if r.origin != self.node_id]
        members = [r for r in rows if r.res_type != access_sql.PATIENT and access_sql.in_patient_compartment(r.res_type)]
        by_pk = access_sql.patients_of(self.conn, [r.resource_pk for r in members if not r.deleted])
        keep = []
        for r in rows:
            if r.res_type == access_sql.PATIENT:
                if r.res_id in self.patients:
                    keep.append(r)
            elif not access_sql.in_patient_compartment(r.res_type):
                keep.append(r)
            else:
                about = by_pk.get(r.resource_pk) if not r.deleted else self._patients_before(r)
                if about and not about.isdisjoint(self.patients):
                    keep.append(r)
        return keep

    def _patients_before(self, r: Change) -> set[str]:
        # A deletion has no index rows left: whose it was is read from the version before it.
        body = st.version_body(self.conn, r.resource_pk, r.version - 1) if r.version > 1 else None
        if body is None:
            return set()
        return access_sql.referenced_patients(r.res_type, extract(orjson.loads(body)).reference)
