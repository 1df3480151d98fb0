"""On PostgreSQL the server keeps the planner statistics of its own tables fresh: a table that grew
past its statistics (or never had any) is ANALYZEd, at start and every few minutes; on SQLite nothing
runs. A hub on a PostgreSQL without autovacuum otherwise planned its access-gate statement as a
sequential scan of millions of rows (store/planner_statistics.py)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.store.planner_statistics import FLOOR, TableState, refresh, stale_tables, table_states
from tests.conftest import own_pg_database


def test_a_table_is_stale_without_statistics_or_after_a_tenth_of_it_changed():
    assert TableState("t", -1, FLOOR, 0).stale                       # never analyzed, grown
    assert not TableState("t", -1, FLOOR - 1, 0).stale               # never analyzed, small
    assert not TableState("t", 100_000, 100_000, 10_000).stale       # a tenth + the floor not reached
    assert TableState("t", 100_000, 110_000, 11_000).stale
    assert not TableState("t", 0, 500, 500).stale                    # a few hundred rows change no plan


def test_on_sqlite_nothing_is_refreshed_and_no_runner_starts(tmp_path):
    from benhan.store.store import Store
    from benhan.web.app import create_app
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data"))
    try:
        assert refresh(store.db.engine) == []
        with TestClient(create_app(store.config, store)) as c:
            assert c.app.state.statistics_runner is None
    finally:
        store.close()


@pytest.fixture
def pg_store(tmp_path):  # noqa: ANN201 - its own database: the statistics counters of a fresh one
    from benhan.store.store import Store
    for url in own_pg_database("benhan_stats"):
        store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data", database_url=url))
        try:
            yield store
        finally:
            store.close()


def _observations(n: int) -> dict:
    entries = [{"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "name": [{"family": "Nguyễn"}]},
                "request": {"method": "POST", "url": "Patient"}}]
    for i in range(n):
        entries.append({"resource": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "urn:uuid:p"}, "performer": [{"reference": "urn:uuid:p"}],
            "valueQuantity": {"value": 60 + i % 40, "unit": "/min"}},
            "request": {"method": "POST", "url": "Observation"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _state(store, table: str, settled) -> TableState:  # noqa: ANN001
    """The table's state once `settled(state)`, or after 30 s: a backend reports its counts to
    PostgreSQL's statistics up to a second after its commit or ANALYZE."""
    deadline = time.monotonic() + 30
    while True:
        with store.db.engine.connect() as conn:
            state = {t.name: t for t in table_states(conn)}[table]
        if settled(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def test_a_grown_table_is_analyzed_once_and_then_left_alone(pg_store):
    from benhan.web.app import create_app
    from tests.auth_helpers import install_in_store
    headers = install_in_store(pg_store)
    with TestClient(create_app(pg_store.config, pg_store), raise_server_exceptions=False) as c:
        c.headers.update(headers)
        r = c.post("/fhir", json=_observations(600))
        assert r.status_code == 200, r.text
        state = _state(pg_store, "idx_reference", lambda t: t.live_rows >= FLOOR)
        assert state.live_rows >= FLOOR and state.estimated_rows < 0      # grown, never analyzed
        with pg_store.db.engine.connect() as conn:
            assert "idx_reference" in stale_tables(conn)

        runner = c.app.state.statistics_runner
        assert runner is not None and runner.thread_name == "benhan-statistics"
        analyzed = runner.round()
        assert "idx_reference" in analyzed
        assert "resource" not in analyzed                              # 601 rows: below the floor

        with pg_store.db.engine.connect() as conn:
            reltuples = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'idx_reference'")).scalar()
        assert reltuples >= FLOOR                                      # the planner now knows its size
        assert not _state(pg_store, "idx_reference", lambda t: not t.stale).stale
        assert "idx_reference" not in runner.round()                   # nothing changed since: left alone


def test_the_read_by_ids_statement_finds_whose_record_by_the_resources_pk_before_any_analyze(pg_store):
    """The read by id's one statement (store/release.py current_with_patients_sql) looks up the
    patients the resource names by its pk, not by the (type, parameter) index that holds every
    Observation's subject: on tables never analyzed PostgreSQL took that index and filtered its
    thousands of rows by pk, 0.7-2.5 ms per read instead of ~0.03."""
    from benhan.auth.actor import Actor
    from benhan.store.bundles import transaction
    from benhan.store.release import current_with_patients_sql
    from benhan.store.repository import Repository
    answer = transaction(Repository(pg_store, Actor.system("test")), _observations(3000), "http://x/fhir")
    observation_id = answer["entry"][-1]["response"]["location"].split("/")[1]
    with pg_store.db.engine.connect() as conn:
        assert conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'idx_reference'")).scalar() < 0
        sql = current_with_patients_sql("Observation", "%s").replace("%s", "'Observation'", 1).replace(
            "%s", f"'{observation_id}'", 1)
        plan = "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())
        row = conn.execute(text(sql)).one()
    assert "ix_idx_reference_resource" in plan and "ix_idx_reference_lookup" not in plan, plan
    patient_id = answer["entry"][0]["response"]["location"].split("/")[1]
    assert set(row[-1]) == {patient_id}          # subject and performer: the same patient
