"""An analyst takes a Bulk Data export of the demo facility and loads it into DuckDB: every type's row
count equals the database's, and the files join up (each Observation's subject is an exported
Patient). The export goes through the HTTP API and the app's own worker. SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import duckdb
from sqlalchemy import false, func, select
from starlette.testclient import TestClient

from benhan.clinical.load_demo import load_demo
from benhan.store.schema import resource
from benhan.web.app import create_app
from tests.auth_helpers import install_in_store
from tests.web.test_bulk_export import finished, kick

# The demo facility with fewer patients than `benhan demo`'s 200, to keep the test short on both
# databases; every kind of record the demo writes is there.
PATIENTS = 30


def test_the_demo_facility_exported_loads_into_duckdb_with_every_row(store, tmp_path: Path):
    load_demo(store, patients=PATIENTS, seed=7)
    with store.db.read() as conn:
        expected = dict(conn.execute(select(resource.c.res_type, func.count()).where(resource.c.deleted == false())
                                     .group_by(resource.c.res_type)).all())
    assert sum(expected.values()) > 20 * PATIENTS
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as api:
        api.headers.update(install_in_store(store))
        r = finished(api, kick(api, "/fhir/$export"))
        assert r.status_code == 200, r.text
        files: dict[str, list[str]] = {}
        for item in r.json()["output"]:
            body = api.get(item["url"])
            assert body.status_code == 200
            path = tmp_path / item["url"].rsplit("/", 1)[1]
            path.write_bytes(body.content)
            files.setdefault(item["type"], []).append(str(path))
    assert set(files) == set(expected)
    db = duckdb.connect()
    try:
        for res_type, paths in files.items():
            (count,) = db.execute("SELECT count(*) FROM read_json(?, format='newline_delimited', union_by_name=true)",
                                  [paths]).fetchone()
            assert count == expected[res_type], res_type
        # The analyst's first question: observations per patient, joined on the subject reference.
        joined = db.execute(
            "SELECT count(*) FROM read_json(?, format='newline_delimited', union_by_name=true) o "
            "JOIN read_json(?, format='newline_delimited', union_by_name=true) p "
            "ON o.subject.reference = 'Patient/' || p.id",
            [files["Observation"], files["Patient"]]).fetchone()[0]
        assert joined == expected["Observation"]
        per_type = db.execute("SELECT resourceType, count(DISTINCT id) FROM read_json(?, "
                              "format='newline_delimited', union_by_name=true) GROUP BY 1",
                              [files["Patient"]]).fetchall()
        assert per_type == [("Patient", expected["Patient"])]
    finally:
        db.close()
