"""Shared by the audit tests: a working day's worth of audited operations, and SQL on the trail."""
from __future__ import annotations

from sqlalchemy import text

from benhan.auth.actor import Actor
from benhan.store import bundles
from benhan.store.repository import Repository
from tests import factories

BASE = "http://benhan.test/fhir"
DOCTOR = Actor(name="bs.lan", kind="user", source_address="10.0.0.5", roles=("doctor",))
NURSE = Actor(name="dd.hoa", kind="user", source_address="10.0.0.6", roles=("nurse",), client_id="ward-tablet")


def transaction(n_patients: int = 2) -> dict:
    entries = []
    for i in range(n_patients):
        full = f"urn:uuid:00000000-0000-4000-8000-{i:012d}"
        entries.append({"fullUrl": full, "resource": factories.patient(),
                        "request": {"method": "POST", "url": "Patient"}})
        entries.append({"resource": factories.observation(full, value=60 + i),
                        "request": {"method": "POST", "url": "Observation"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def a_working_day(store) -> dict:  # noqa: ANN001
    """Writes and reads of every kind, by two users; the read audit flushed. Returns some ids."""
    doctor, nurse = Repository(store, DOCTOR), Repository(store, NURSE)
    an = doctor.create("Patient", factories.patient())
    obs = doctor.create("Observation", factories.observation(f"Patient/{an.res_id}"))
    doctor.update("Observation", obs.res_id, {**factories.observation(f"Patient/{an.res_id}", value=80),
                                               "id": obs.res_id})
    nurse.read("Observation", obs.res_id)
    nurse.vread("Observation", obs.res_id, "1")
    nurse.search_type("Observation", [("subject", f"Patient/{an.res_id}")])
    nurse.history("Observation", obs.res_id)
    bundles.process_bundle(doctor, transaction(), BASE)
    doctor.patch("Patient", an.res_id, [{"op": "replace", "path": "/gender", "value": "female"}])
    doctor.delete("Observation", obs.res_id)
    store.read_audit.flush()
    return {"patient": an.res_id, "observation": obs.res_id}


def sql(store, statement: str, **params) -> list:  # noqa: ANN001
    with store.db.write() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else []


def row_at(store, chain_pos: int):  # noqa: ANN001, ANN201
    return sql(store, "SELECT seq, chain_pos, hash, patients, recorded FROM audit_event WHERE chain_pos = :p", p=chain_pos)[0]


def chain_length(store) -> int:  # noqa: ANN001
    return sql(store, "SELECT count(*) FROM audit_event WHERE chain_pos IS NOT NULL")[0][0]
