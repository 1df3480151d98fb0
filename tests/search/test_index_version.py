"""A database whose search index was built with other search definitions is reindexed before the
server serves it (store.index_version), on every store: rows of parameters the table no longer has
are gone, and what the new table indexes is found. A new, empty database is marked current without
work; a database of the current version is left alone."""
from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from benhan.auth.actor import Actor
from benhan.fhir.searchparams import index_version
from benhan.store import index_version as iv
from benhan.store.repository import Repository
from benhan.store.schema import idx_string, node_setting, resource
from tests.factories import patient


def _stale_rows(store) -> int:  # noqa: ANN001
    with store.db.read() as conn:
        return conn.execute(select(func.count()).select_from(idx_string)
                            .where(idx_string.c.param == "mothersMaidenName")).scalar()


def test_an_empty_database_is_marked_current_without_a_reindex(store):
    assert iv.stored(store) is None
    assert iv.reindex_if_stale(store) is None
    assert iv.stored(store) == index_version()
    assert not iv.is_stale(store)


def test_an_index_of_older_definitions_is_rebuilt_once(store):
    repo = Repository(store, Actor.system())
    pids = [repo.create("Patient", patient(family="Đặng")).res_id for _ in range(3)]
    # What an older server left: no version recorded, and rows of a parameter (a profile's
    # extension parameter) that the official table does not have.
    with store.db.write() as conn:
        pk = conn.execute(select(resource.c.pk).where(resource.c.res_id == pids[0])).scalar()
        conn.execute(insert(idx_string).values(resource_pk=pk, res_type="Patient", param="mothersMaidenName",
                                               value="le", exact="Lê"))
        conn.execute(delete(node_setting).where(node_setting.c.key == iv.KEY))
    assert iv.is_stale(store) and _stale_rows(store) == 1
    assert iv.reindex_if_stale(store) == 3
    assert _stale_rows(store) == 0 and iv.stored(store) == index_version()
    assert iv.reindex_if_stale(store) is None                    # once
    found = repo.search_type("Patient", [("family", "dang")]).matches
    assert sorted(m.res_id for m in found) == sorted(pids)


def test_another_recorded_version_is_rebuilt(store):
    repo = Repository(store, Actor.system())
    repo.create("Patient", patient())
    with store.db.write() as conn:
        conn.execute(insert(node_setting).values(key=iv.KEY, value="0:older"))
    assert iv.reindex_if_stale(store) == 1
    assert iv.stored(store) == index_version()
