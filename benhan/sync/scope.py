"""What a node may receive from the hub (docs/sync.md "Scope").

- Resources outside the Patient compartment — shared registries (Organization, Practitioner,
  Location, Medication …) and terminology (CodeSystem, ValueSet …) — go to every node.
- A Patient and the resources in their compartment go to a node when the patient is its own (it
  registered them), was referred to it (a ServiceRequest whose performer is the node's
  Organization) or was fetched by it on demand — and, for the last two, only while the patient's
  Consent lets their record leave the facility that holds it.
- Nothing goes back to the node that made it.

What a node may WRITE at the hub (Authorship, checked on every push before anything is applied):

- Patient-compartment data only about patients it holds (the same patients it receives) or that it
  creates in the same push; an existing resource only if every patient it is about at the hub is
  one of those (so a node can neither overwrite another facility's record nor move it into its own
  scope).
- Outside the compartment (the registries every node receives): what it creates, and an existing
  resource only when it is its own — first made by this node, or its facility's (the node's
  Organization, or a resource that references it) — or the hub admin let the node author that type
  (`benhan node may-author NAME TYPE …`).
Anything else is refused: not applied, audited at the hub, and listed in the push's answer for the
node operator.
"""
from __future__ import annotations

import orjson

from benhan.fhir.indexing import extract
from benhan.store import access as access_sql
from benhan.store import sync_tables as st
from benhan.store.store import Store
from benhan.store.sync_tables import Change, RemoteWrite
from benhan.sync.wire import Version


def held_patients(store: Store, conn, node) -> set[str]:  # noqa: ANN001
    """The patients whose records the node holds: what it receives, and what it may write about."""
    from benhan.auth.consent import may_leave_facility
    own = st.scope_patients(conn, node.name)
    shared = {p for p, reason in own.items() if reason != "home"}
    if node.organization_id:
        shared |= st.referred_patients(conn, node.organization_id, not_in_scope_of=node.name) - set(own)
    # Consent is checked for every patient whose record would leave the facility holding it.
    return {p for p, reason in own.items() if reason == "home"} | {p for p in shared if may_leave_facility(store, p)}


class Scope:
    def __init__(self, store: Store, conn, node, *, own: bool = False):  # noqa: ANN001
        self.conn = conn
        self.node_id = None if own else node.node_id      # own: its own changes are sent back too
        self.patients = held_patients(store, conn, node)

    def filter(self, rows: list[Change]) -> list[Change]:
        rows = [r for r in rows if r.origin != self.node_id]
        members = [r for r in rows if r.res_type != access_sql.PATIENT and access_sql.in_patient_compartment(r.res_type)]
        by_pk = access_sql.patients_of(self.conn, [r.resource_pk for r in members if not r.deleted])
        current = st.current_versions(self.conn, [r.resource_pk for r in members if not r.deleted])
        keep = []
        for r in rows:
            if r.res_type == access_sql.PATIENT:
                if r.res_id in self.patients:
                    keep.append(r)
            elif not access_sql.in_patient_compartment(r.res_type):
                keep.append(r)
            else:
                if r.deleted:
                    about = self._patients_before(r)
                elif current.get(r.resource_pk) == r.version:
                    about = by_pk.get(r.resource_pk)
                else:
                    # An earlier version is judged by whose it was (its own references), as history
                    # and vread are (store.release): a record moved between patients must not carry
                    # its version about the other patient to this node.
                    about = self._patients_in(r.res_type, r.body)
                if about and not about.isdisjoint(self.patients):
                    keep.append(r)
        return keep

    @staticmethod
    def _patients_in(res_type: str, body: bytes | None) -> set[str]:
        if body is None:
            return set()
        return access_sql.referenced_patients(res_type, extract(orjson.loads(body)).reference)

    def _patients_before(self, r: Change) -> set[str]:
        # A deletion has no index rows left: whose it was is read from the version before it.
        return self._patients_in(r.res_type, st.version_body(self.conn, r.resource_pk, r.version - 1)
                                 if r.version > 1 else None)


# --- what a node may write ------------------------------------------------------------------------

NOT_HELD_PATIENT = "patient-not-held"          # about a patient the node does not hold
NOT_HELD_RESOURCE = "resource-not-held"        # changes a record of a patient the node does not hold
NOT_OWN = "registry-not-own"                   # changes shared data that is not the node's own
REASONS = {
    NOT_HELD_PATIENT: "it is about a patient whose record this node does not hold",
    NOT_HELD_RESOURCE: "it changes a record that belongs to a patient this node does not hold",
    NOT_OWN: "it changes shared reference data that is not this facility's own",
}


class Authorship:
    """Decides, for a push, which versions the node may not write (docs/sync.md "What a node may
    write"). Built inside the push's transaction, after the node's row is locked."""

    def __init__(self, store: Store, conn, node):  # noqa: ANN001
        self.conn = conn
        self.node_id = node.node_id
        self.organization_id = node.organization_id
        self.patients = held_patients(store, conn, node)
        self.may_author = st.node_authoring(conn, node.name)

    def refusals(self, writes: list[tuple[Version, RemoteWrite]]) -> dict[int, tuple[str, set[str]]]:
        """seq → (reason, patients it touched at the hub) for each version the node may not write,
        in order: a resource the node creates earlier in the push is its own for the later ones."""
        slots = st.current(self.conn, list({(v.res_type, v.res_id) for v, _ in writes}), lock=False)
        pks = [s.pk for s in slots.values()]
        hub_patients = access_sql.patients_of(self.conn, pks)
        authors = st.first_origins(self.conn, pks)
        facility = st.referencing(self.conn, pks, "Organization", self.organization_id) \
            if self.organization_id else set()
        created: set[tuple[str, str]] = set()       # new at the hub, made by this push
        patients = set(self.patients)
        out: dict[int, tuple[str, set[str]]] = {}
        for v, w in writes:
            key = (v.res_type, v.res_id)
            slot = None if key in created else slots.get(key)
            if access_sql.in_patient_compartment(v.res_type):
                if slot is None and v.res_type == access_sql.PATIENT:
                    created.add(key)            # a new patient: registered at this facility
                    patients.add(v.res_id)
                    continue
                about = {v.res_id} if v.res_type == access_sql.PATIENT else \
                    access_sql.referenced_patients(v.res_type, w.index.reference if w.index else ())
                if slot is not None:
                    at_hub = hub_patients.get(slot.pk) or set()
                    # A record about nobody (or deleted) is held by the node that made it.
                    held = at_hub <= patients if at_hub else authors.get(slot.pk) == self.node_id
                    if not held:
                        out[v.seq] = (NOT_HELD_RESOURCE, at_hub | about)
                        continue
                if not about <= patients:
                    out[v.seq] = (NOT_HELD_PATIENT, about - patients)
                    continue
                if slot is None:
                    created.add(key)
                continue
            if slot is None:
                created.add(key)
            elif not (authors.get(slot.pk) == self.node_id or slot.pk in facility
                      or (v.res_type == "Organization" and v.res_id == self.organization_id)
                      or "*" in self.may_author or v.res_type in self.may_author):
                out[v.seq] = (NOT_OWN, set())
        return out
