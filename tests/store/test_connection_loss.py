"""PostgreSQL connections. A pooled connection the server has closed (a restart, pg_terminate_backend, an idle
timeout) is replaced at checkout, without pool_pre_ping's SELECT 1 per transaction — the next
request succeeds instead of failing with "terminating connection due to administrator command"."""
from __future__ import annotations

import json
import time

from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL


def _end_sessions(database_url: str, only: set[int] | None = None) -> set[int]:
    """pg_terminate_backend on the database's sessions (all, or `only`); waits until they are gone."""
    name = database_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            pids = set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> "
                                         "pg_backend_pid()"), {"d": name}).scalars())
            pids = pids & only if only is not None else pids
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"), {"p": list(pids)}).scalar():
                time.sleep(0.05)
    finally:
        admin.dispose()
    return pids


def _wait_until_pooled_connections_see_the_end(db, timeout: float = 10) -> None:  # noqa: ANN001
    """The backend leaves pg_stat_activity a moment before its goodbye reaches our socket; a real
    restart is long over by the next request. Wait until every idle pooled connection can see it."""
    from benhan.store.database import server_closed
    deadline = time.monotonic() + timeout
    records = list(db.engine.pool._pool.queue)      # the idle connections (QueuePool internals)
    while time.monotonic() < deadline:
        if all(r.dbapi_connection is None or server_closed(r.dbapi_connection) for r in records):
            return
        time.sleep(0.02)


def _backend_pid(db) -> int:  # noqa: ANN001
    with db.read() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def test_a_terminated_connection_is_replaced_at_the_next_checkout(pg_store) -> None:  # noqa: ANN001
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    repo = Repository(pg_store, Actor.system("test"))
    made = repo.create("Patient", {"resourceType": "Patient", "name": [{"family": "Lê"}]})
    pid = _backend_pid(pg_store.db)
    assert _end_sessions(pg_store.config.sqlalchemy_url, {pid}) == {pid}
    _wait_until_pooled_connections_see_the_end(pg_store.db)
    # The pooled connection is dead; the next read and write still succeed, on a new session.
    assert json.loads(repo.read("Patient", made.res_id).body)["name"][0]["family"] == "Lê"
    assert _backend_pid(pg_store.db) != pid
    repo.create("Patient", {"resourceType": "Patient", "name": [{"family": "Trần"}]})


def test_every_pooled_connection_ended_at_once_like_a_restart(pg_store) -> None:  # noqa: ANN001
    db = pg_store.db
    held = [db.engine.connect() for _ in range(4)]      # four sessions in the pool
    for conn in held:
        conn.exec_driver_sql("SELECT 1")
        conn.close()
    ended = _end_sessions(pg_store.config.sqlalchemy_url)
    assert len(ended) >= 4
    _wait_until_pooled_connections_see_the_end(db)
    for _ in range(8):
        with db.write() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() not in ended


def test_a_live_idle_connection_is_kept(pg_store) -> None:  # noqa: ANN001
    from benhan.store.database import server_closed
    pid = _backend_pid(pg_store.db)
    assert _backend_pid(pg_store.db) == pid           # the same pooled session, not a new one each time
    with pg_store.db.engine.connect() as conn:
        assert server_closed(conn.connection.dbapi_connection) is False


def test_read_single_runs_without_a_transaction_and_read_keeps_its_snapshot(pg_store) -> None:  # noqa: ANN001
    from psycopg.pq import TransactionStatus
    db = pg_store.db
    with db.read_single() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        # autocommit: the statement was its own transaction, nothing is left open (no COMMIT to send)
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE
    with db.read() as conn:         # the same pooled connection, back to a REPEATABLE READ transaction
        assert conn.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.INTRANS
    with db.write() as conn:
        assert conn.execute(text("SHOW transaction_isolation")).scalar() == "read committed"


def test_a_read_by_id_on_the_event_loop_after_its_session_was_ended(pg_store) -> None:  # noqa: ANN001
    """The read by id is answered on the event loop through its own async connections
    (store.database.LoopReads): one the server has ended is replaced too, and the read succeeds."""
    from starlette.testclient import TestClient

    from benhan.auth.actor import Actor
    from benhan.store.database import server_closed
    from benhan.store.repository import Repository
    from benhan.web.app import create_app
    from tests.auth_helpers import install_in_store
    made = Repository(pg_store, Actor.system("test")).create("Patient", {"resourceType": "Patient",
                                                                         "name": [{"family": "Lê"}]})
    with TestClient(create_app(pg_store.config, pg_store), raise_server_exceptions=False) as client:
        client.headers.update(install_in_store(pg_store))
        assert client.get(f"/fhir/Patient/{made.res_id}").status_code == 200
        idle = [cur.connection for pool in pg_store.db.loop_reads._pools.values() for cur in pool._idle]
        pids = {conn.info.backend_pid for conn in idle}
        assert pids, "the read went through the event loop's connections"
        assert _end_sessions(pg_store.config.sqlalchemy_url, pids) == pids
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(server_closed(conn) for conn in idle):
            time.sleep(0.02)
        r = client.get(f"/fhir/Patient/{made.res_id}")
        assert r.status_code == 200, r.text
        assert r.json()["name"][0]["family"] == "Lê"
        assert {cur.connection.info.backend_pid for pool in pg_store.db.loop_reads._pools.values()
                for cur in pool._idle}.isdisjoint(pids)
