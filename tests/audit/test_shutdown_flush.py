"""Issue 11 item 3: SIGTERM writes the read events still waiting in the buffer (a real server
process, SQLite and PostgreSQL); and a nasty request over real HTTP leaves later reads audited."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests import factories
from tests.conftest import own_pg_database
from tests.server_process import ServerProcess, api_client


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield None
    else:
        yield from own_pg_database("benhan_flush")


def test_sigterm_writes_the_waiting_read_events(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url).start()
    try:
        with api_client() as http:
            pid = http.post(f"{server.base}/Patient", json=factories.patient()).json()["id"]
            assert http.get(f"{server.base}/Patient", params={"_elements": "\x00"}).status_code < 500
            for _ in range(40):
                assert http.get(f"{server.base}/Patient/{pid}").status_code == 200
            health = http.get(server.base.replace("/fhir", "/health"))
            assert health.status_code == 200 and health.json()["status"] == "ok"
        server.stop()                    # SIGTERM at once: the last reads are still in the buffer
    finally:
        server.kill()
    url = database_url or f"sqlite:///{tmp_path / 'data' / 'benhan.sqlite'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            reads = conn.execute(text("SELECT count(*) FROM audit_event WHERE interaction = 'read' "
                                      "AND res_id = :p"), {"p": pid}).scalar()
    finally:
        engine.dispose()
    assert reads == 40
