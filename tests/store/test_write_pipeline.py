"""A write's inserts go to PostgreSQL as one pipeline (store.writer.one_round_trip): what a user relies
on is that a write is still all or nothing — an insert refused inside it fails the write with the usual
error and leaves nothing behind — and that the versions, index rows and change log it sends all land."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from benhan.auth.actor import Actor
from benhan.store import writer
from benhan.store.repository import Repository
from tests import factories

DOCTOR = Actor(name="bs.lan", kind="user", roles=("doctor",))


def test_an_insert_refused_inside_fails_the_whole_write_and_leaves_nothing(store):  # noqa: ANN001
    with pytest.raises(IntegrityError):
        with store.db.write() as conn:
            with writer.one_round_trip(conn):
                writer.executemany(conn, "node_setting", ("key", "value"), [("pipe.a", "1")])
                writer.executemany(conn, "node_setting", ("key", "value"), [("pipe.b", "1"), ("pipe.b", "2")])
                writer.executemany(conn, "node_setting", ("key", "value"), [("pipe.c", "1")])
    with store.db.read() as conn:
        assert conn.execute(text("SELECT key FROM node_setting WHERE key LIKE 'pipe.%'")).all() == []
    # The connection it ran on is usable again.
    patient = Repository(store, DOCTOR).create("Patient", factories.patient())
    assert Repository(store, DOCTOR).read("Patient", patient.res_id).json()["id"] == patient.res_id


def test_what_a_create_sends_in_the_pipeline_all_lands(store):  # noqa: ANN001
    repo = Repository(store, DOCTOR)
    patient = repo.create("Patient", factories.patient())
    obs = repo.create("Observation", factories.observation(f"Patient/{patient.res_id}", value=72))
    with store.db.read() as conn:
        pk = conn.execute(text("SELECT pk FROM resource WHERE res_id = :i"), {"i": obs.res_id}).scalar()
        assert conn.execute(text("SELECT count(*) FROM resource_version WHERE resource_pk = :p"), {"p": pk}).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM change_log WHERE resource_pk = :p"), {"p": pk}).scalar() == 1
        assert conn.execute(text("SELECT target_id FROM idx_reference WHERE resource_pk = :p AND param = 'subject'"),
                            {"p": pk}).scalar() == patient.res_id
    found = repo.search_type("Observation", [("subject", f"Patient/{patient.res_id}"), ("value-quantity", "72")])
    assert [m.res_id for m in found.matches] == [obs.res_id]
