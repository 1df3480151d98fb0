"""Fixtures shared by the whole suite.

Contract tests take the `store` fixture and run once per database: SQLite always; PostgreSQL when a
server answers at BENHAN_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
Without one they are skipped with a message — unless BENHAN_REQUIRE_POSTGRES=1 (CI), where a
missing PostgreSQL fails the run instead of hiding behind a skip.
"""
from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benhan import config as config_mod  # noqa: E402
from benhan.store.schema import metadata  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENHAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def own_pg_database(prefix: str = "benhan_test") -> Iterator[str]:
    """Create a throwaway PostgreSQL database, yield its URL, drop it afterwards. Skips with a
    message when PostgreSQL is not reachable — fails instead under BENHAN_REQUIRE_POSTGRES=1."""
    problem = _pg_available()
    if problem:
        if os.environ.get("BENHAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (BENHAN_REQUIRE_POSTGRES=1) but not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem}); PostgreSQL tests skipped")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; its URL."""
    yield from own_pg_database()


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_config(request: pytest.FixtureRequest, tmp_path: Path) -> config_mod.Config:
    """A configuration pointing at an empty database of each kind."""
    if request.param == "sqlite":
        return config_mod.load(env={}, data_dir=tmp_path / "data")
    url = empty_pg(request.getfixturevalue("pg_database"))
    return config_mod.load(env={}, data_dir=tmp_path / "data", database_url=url)


def empty_pg(url: str) -> str:
    """The session's PostgreSQL database, emptied of what earlier tests stored."""
    from benhan.store import migrate
    from benhan.store.database import Database
    db = Database(url)
    try:
        if migrate.status(db) != "empty":
            _truncate_pg(url)
    finally:
        db.dispose()
    return url


@pytest.fixture
def store(db_config: config_mod.Config):  # noqa: ANN201
    from benhan.store.store import Store
    s = Store.open(db_config)
    yield s
    s.close()


@pytest.fixture
def client(store):  # noqa: ANN001, ANN201
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    from tests.auth_helpers import install_in_store
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        c.headers.update(install_in_store(store))
        yield c


@pytest.fixture
def anonymous_client(store):  # noqa: ANN001, ANN201
    """A client with no credentials at all."""
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def r4_examples_dir() -> Path:
    from tools.fhir_packages import examples_dir
    return examples_dir()


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_session() -> Iterator[None]:
    """Every process a test starts must be ended by it, whole process group included (issue 11
    item 21): at the end of the session anything still running that this session started (a
    server's workers, a proxy, a tracker) fails the run — and is killed, so CI does not hang."""
    yield
    from tests.server_process import kill_leftovers, leftover_processes
    left = leftover_processes()
    if left:
        kill_leftovers()
        pytest.fail("processes started by the tests are still running:\n" + "\n".join(left), pytrace=False)
