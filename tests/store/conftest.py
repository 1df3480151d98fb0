"""Fixtures of the store's tests."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benhan.store.database import Database
from tests.server_process import Database as DataPlace, fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def migration_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind, with no schema yet: a migration test builds it to the
    revision it starts from."""
    if request.param == "sqlite":
        (tmp_path / "data").mkdir()
        database = Database(DataPlace(tmp_path / "data").url)
        yield database
        database.dispose()
        return
    with fresh_postgres_database(request.getfixturevalue("pg_database")) as url:
        database = Database(url)
        yield database
        database.dispose()


@pytest.fixture
def pg_store(pg_database, tmp_path):  # noqa: ANN001, ANN201
    """A store on an empty PostgreSQL database (the session's, emptied)."""
    from benhan import config as config_mod
    from benhan.store.store import Store
    from tests.conftest import empty_pg
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data", database_url=empty_pg(pg_database)))
    yield store
    store.close()
