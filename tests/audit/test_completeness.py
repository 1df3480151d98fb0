"""Audit completeness at the repository: N operations of every kind make exactly the expected
events — per interaction, agent, patients and outcome — nothing missing, nothing extra."""
from __future__ import annotations

from collections import Counter

import pytest

from benhan import errors
from benhan.audit.verify import verify
from benhan.store import bundles
from benhan.store.repository import Repository
from tests import factories
from tests.audit.helpers import BASE, DOCTOR, NURSE, sql

N = 3
K = 4          # entries per transaction / batch Bundle


def events(store, after: int = 0) -> list:  # noqa: ANN001
    store.read_audit.flush()
    return sql(store, "SELECT seq, interaction, agent, outcome, res_type, res_id, patients, source_address, "
                      "role, client_id FROM audit_event WHERE seq > :s ORDER BY seq", s=after)


def last_seq(store) -> int:  # noqa: ANN001
    store.read_audit.flush()
    return sql(store, "SELECT coalesce(max(seq), 0) FROM audit_event")[0][0]


@pytest.fixture
def chart(store):  # noqa: ANN001, ANN201
    """N patients, each with one Observation, written by the doctor."""
    repo = Repository(store, DOCTOR)
    patients = [repo.create("Patient", factories.patient()).res_id for _ in range(N)]
    observations = [repo.create("Observation", factories.observation(f"Patient/{p}")).res_id for p in patients]
    return patients, observations


def test_each_kind_of_operation_makes_exactly_its_events(store, chart):
    patients, observations = chart
    nurse = Repository(store, NURSE)
    start = last_seq(store)
    for p, o in zip(patients, observations):
        nurse.read("Observation", o)
        nurse.vread("Observation", o, "1")
        nurse.update("Observation", o, {**factories.observation(f"Patient/{p}", value=99), "id": o})
        nurse.patch("Observation", o, [{"op": "replace", "path": "/status", "value": "amended"}])
        nurse.search_type("Observation", [("subject", f"Patient/{p}")])
        nurse.search_system([("_type", "Patient"), ("_id", p)])
        nurse.history("Observation", o)
        nurse.history("Observation")
        nurse.history()
        nurse.delete("Observation", o)
    got = events(store, start)
    # A patch is one event: the version it starts from is loaded without a read event of its own.
    expected = {"read": N, "vread": N, "update": N, "patch": N, "search-type": N, "search-system": N,
                "history-instance": N, "history-type": N, "history-system": N, "delete": N}
    assert Counter(e.interaction for e in got) == expected
    assert {(e.agent, e.role, e.client_id, e.source_address) for e in got} == {("dd.hoa", "nurse", "ward-tablet", "10.0.0.6")}
    assert {e.outcome for e in got} == {"0"}
    # Each instance-level event and each search that showed the patient's data names that patient;
    # a type or system history page names every patient whose versions it shows (store.release):
    # at least the one just read and updated.
    histories = [e for e in got if e.interaction in ("history-type", "history-system")]
    assert Counter(e.patients for e in got if e not in histories) == {p: 8 for p in patients}
    for e, p in zip(histories, [p for p in patients for _ in range(2)]):
        assert p in (e.patients or "").split(), (e.interaction, e.patients, p)
    for e in got:
        if e.interaction in ("read", "vread", "update", "patch", "history-instance"):
            assert (e.res_type, e.patients) == ("Observation", patients[observations.index(e.res_id)])
    assert verify(store).intact


def test_a_deletion_names_the_patient_whose_record_it_touched(store, chart):
    patients, observations = chart
    start = last_seq(store)
    Repository(store, NURSE).delete("Observation", observations[0])
    assert [(e.interaction, e.patients) for e in events(store, start)] == [("delete", patients[0])]


def test_creates_name_the_patient_they_are_about(store):
    repo = Repository(store, DOCTOR)
    start = last_seq(store)
    made = []
    for _ in range(N):
        p = repo.create("Patient", factories.patient()).res_id
        repo.create("Observation", factories.observation(f"Patient/{p}"))
        made.append(p)
    got = events(store, start)
    assert [(e.interaction, e.res_type, e.patients) for e in got] == [
        (i, t, p) for p in made for i, t in (("create", "Patient"), ("create", "Observation"))]


def test_a_transaction_of_k_entries_makes_k_events_in_its_own_transaction(store):
    repo = Repository(store, DOCTOR)
    start = last_seq(store)
    for _ in range(N):
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}", "resource": factories.patient(),
             "request": {"method": "POST", "url": "Patient"}} for i in range(K)]}
        bundles.process_bundle(repo, bundle, BASE)
    got = events(store, start)
    assert Counter(e.interaction for e in got) == {"create": N * K}
    assert all(e.patients == e.res_id and e.res_type == "Patient" for e in got)


def test_a_batch_of_k_entries_makes_one_event_per_entry_with_its_outcome(store, chart):
    patients, observations = chart
    repo = Repository(store, NURSE)
    start = last_seq(store)
    for _ in range(N):
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": f"Observation/{observations[0]}"}},
            {"request": {"method": "GET", "url": "Observation/no-such-thing"}},
            {"resource": factories.observation(f"Patient/{patients[1]}"),
             "request": {"method": "POST", "url": "Observation"}},
            {"request": {"method": "GET", "url": f"Observation?subject=Patient/{patients[2]}"}}]}
        bundles.process_bundle(repo, bundle, BASE)
    got = events(store, start)
    assert Counter((e.interaction, e.outcome) for e in got) == {
        ("read", "0"): N, ("read", "4"): N, ("create", "0"): N, ("search-type", "0"): N}


def test_a_failed_write_leaves_no_event_and_a_refused_read_is_recorded_as_such(store, chart):
    patients, observations = chart
    repo = Repository(store, NURSE)
    start = last_seq(store)
    with pytest.raises(errors.VersionConflict):
        repo.update("Observation", observations[0],
                    {**factories.observation(f"Patient/{patients[0]}"), "id": observations[0]}, if_match=7)
    with pytest.raises(errors.NotFound):
        repo.read("Observation", "not-there")
    got = events(store, start)
    assert [(e.interaction, e.outcome, e.res_id) for e in got] == [("read", "4", "not-there")]
    assert verify(store).intact


def test_nobody_stores_an_audit_event_as_a_resource_by_any_path(store):
    from benhan import errors
    from benhan.auth.actor import Actor
    from benhan.store.bundles import process_bundle
    event = {"resourceType": "AuditEvent", "type": {"system": "http://dicom.nema.org/resources/ontology/DCM",
                                                    "code": "110110"},
             "recorded": "2026-11-25T10:00:00+07:00", "agent": [{"requestor": True, "who": {"display": "x"}}],
             "source": {"observer": {"display": "x"}}}
    system = Repository(store, Actor.system())
    with pytest.raises(errors.MethodNotAllowed):
        system.create("AuditEvent", event)
    with pytest.raises(errors.MethodNotAllowed):
        system.update("AuditEvent", "forged", {**event, "id": "forged"})
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [{"resource": event, "request": {"method": "POST", "url": "AuditEvent"}}]}
    with pytest.raises(errors.MethodNotAllowed):
        process_bundle(system, bundle, "http://x/fhir")
