"""`benhan reindex` rebuilds the search index from the stored resources."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from benhan.auth.actor import Actor
from benhan.store.reindex import reindex
from benhan.store.repository import Repository
from benhan.store.schema import INDEX_TABLES
from tests.factories import observation, patient


def _index_rows(store) -> int:  # noqa: ANN001
    with store.db.read() as conn:
        return sum(conn.execute(select(func.count()).select_from(t)).scalar() for t in INDEX_TABLES.values())


def test_reindex_restores_lost_index_rows_and_search_works_again(store):
    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient(family="Nguyễn"))
    for _ in range(3):
        repo.create("Observation", observation(f"Patient/{p.res_id}"))
    before = _index_rows(store)
    with store.db.write() as conn:
        for t in INDEX_TABLES.values():
            conn.execute(delete(t))
    assert repo.search_type("Patient", [("name", "nguyen")]).matches == []
    assert reindex(store) == 4
    assert _index_rows(store) == before
    assert [m.res_id for m in repo.search_type("Patient", [("name", "nguyen")]).matches] == [p.res_id]
    assert reindex(store, resource_type="Observation") == 3
    assert _index_rows(store) == before
