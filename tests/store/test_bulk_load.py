"""A bulk load into a new database (`benhan demo --patients N`) builds its search indexes once at the
end; a load killed half-way gets them at the next start, so searches never stay without them."""
from __future__ import annotations

import signal
import subprocess
import sys

from sqlalchemy import inspect, select

from benhan.auth.actor import Actor
from benhan.clinical.synth import bulk
from benhan.store import bulk_load
from benhan.store.repository import Repository
from benhan.store.schema import node_setting
from benhan.store.store import Store


def _missing_indexes(store: Store) -> set[str]:
    insp = inspect(store.db.engine)
    present = {ix["name"] for table in {ix.table.name for ix in bulk_load.deferrable_indexes()}
               for ix in insp.get_indexes(table)}
    return {ix.name for ix in bulk_load.deferrable_indexes()} - present


def _flag(store: Store) -> str | None:
    with store.db.engine.connect() as conn:
        return conn.execute(select(node_setting.c.value).where(node_setting.c.key == bulk_load.FLAG)).scalar()


def test_a_load_into_a_new_database_defers_the_indexes_and_leaves_them_all_built(store):  # noqa: ANN001
    seen_during: list[set[str]] = []
    figures = bulk.generate(store, patients=30, seed=5, workers=0, commit_every=200,
                            progress=lambda f: seen_during.append(_missing_indexes(store)), progress_every=0)
    assert seen_during and all(missing == {ix.name for ix in bulk_load.deferrable_indexes()}
                               for missing in seen_during)
    assert _missing_indexes(store) == set() and _flag(store) is None
    assert figures.index_seconds > 0

    # Searches through the rebuilt indexes find what was written.
    repo = Repository(store, Actor.system("test"))
    patients = repo.search_type("Patient", [("_count", "100")]).matches
    assert len(patients) == 30
    one = patients[0].json()
    encounters = repo.search_type("Encounter", [("subject", f"Patient/{one['id']}"), ("_count", "100")]).matches
    assert encounters and all(e.json()["subject"]["reference"] == f"Patient/{one['id']}" for e in encounters)
    family = one["name"][0]["family"]
    assert one["id"] in {m.res_id for m in repo.search_type("Patient", [("family", family), ("_count", "100")]).matches}


def test_a_load_into_a_database_already_bigger_than_it_keeps_its_indexes(store):  # noqa: ANN001
    bulk.generate(store, patients=20, seed=5, workers=0)
    assert not bulk_load.worth_deferring(store.db, 100)
    assert bulk_load.worth_deferring(store.db, 10_000)


def test_a_load_killed_half_way_gets_its_indexes_at_the_next_start(db_config):  # noqa: ANN001
    Store.open(db_config).close()
    killer = ("import os, signal, sys\n"
              "from benhan.config import load\n"
              "from benhan.store import bulk_load\n"
              "from benhan.store.store import Store\n"
              "store = Store.open(load(env={}, data_dir=sys.argv[1], database_url=sys.argv[2] or None), upgrade=False)\n"
              "with bulk_load.deferred_indexes(store.db):\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    url = "" if db_config.sqlalchemy_url.startswith("sqlite") else db_config.database_url
    done = subprocess.run([sys.executable, "-c", killer, str(db_config.data_dir), url], timeout=120)
    assert done.returncode == -signal.SIGKILL

    # What the killed load left: the flag, and no deferrable index.
    left = Store.open(db_config, upgrade=False)
    try:
        assert _flag(left) == "1" and _missing_indexes(left) == {ix.name for ix in bulk_load.deferrable_indexes()}
    finally:
        left.close()

    reopened = Store.open(db_config)          # what `benhan serve` does first
    try:
        assert _missing_indexes(reopened) == set() and _flag(reopened) is None
    finally:
        reopened.close()
