"""Migration 0011: the url index of idx_reference holds only rows that have a url. A database at
the revision before it keeps every index row, gains the partial index, and its planner takes it for
a search by URL. SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from benhan.fhir.search import parse
from benhan.store import migrate, search
from benhan.store.database import Database

CANONICAL = "http://benhan.vn/fhir/Questionnaire/kham-benh"


@pytest.fixture
def db(migration_db: Database) -> Database:     # tests/store/conftest.py: SQLite and PostgreSQL
    return migration_db


def _index_sql(conn, sqlite: bool) -> str:  # noqa: ANN001
    if sqlite:
        return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_idx_reference_lookup1'")).scalar()
    return conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_idx_reference_lookup1'")).scalar()


def test_0011_keeps_every_row_and_makes_the_url_index_partial(db: Database, tmp_path: Path) -> None:
    sqlite = db.engine.dialect.name == "sqlite"
    cfg = migrate._alembic_config()
    before = ScriptDirectory.from_config(cfg).get_revision("0011").down_revision
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
    with db.engine.begin() as conn:
        assert "IS NOT NULL" not in _index_sql(conn, sqlite).upper()
        for pk, (rt, url) in enumerate([("QuestionnaireResponse", f"{CANONICAL}|1.0"),
                                        ("QuestionnaireResponse", None), ("Observation", None)], start=1):
            conn.execute(text("INSERT INTO resource (pk, res_type, res_id, version, last_updated, deleted, "
                              "content_hash) VALUES (:pk, :rt, :id, 1, 1, false, :h)"),
                         {"pk": pk, "rt": rt, "id": f"r{pk}", "h": b"x" * 32})
            conn.execute(text("INSERT INTO idx_reference (resource_pk, res_type, param, target_type, target_id, url) "
                              "VALUES (:pk, :rt, :p, :tt, :tid, :url)"),
                         {"pk": pk, "rt": rt, "p": "questionnaire" if url or pk == 2 else "subject",
                          "tt": None if url else "Patient", "tid": None if url else "p1", "url": url})
    assert migrate.upgrade(db, tmp_path / "backups") == "behind"
    with db.engine.begin() as conn:
        assert "url IS NOT NULL" in _index_sql(conn, sqlite).replace("(", "").replace(")", "")
        assert conn.execute(text("SELECT count(*) FROM idx_reference")).scalar() == 3
        req = parse("QuestionnaireResponse", [("questionnaire", CANONICAL)])
        assert conn.execute(search.page_query(req)).scalars().all() == [1]
        assert conn.execute(search.page_query(parse("QuestionnaireResponse", [
            ("questionnaire", f"{CANONICAL}|1.0")]))).scalars().all() == [1]
        if not sqlite:      # (PostgreSQL on three rows prefers reading the table; ask it for indexes)
            conn.execute(text("SET LOCAL enable_seqscan = off"))
        # A search by URL walks the partial index: `url = ?` on both databases; on PostgreSQL also
        # `url = ? OR url LIKE '…|%'` (SQLite without statistics takes (res_type, param) of
        # lookup0 for that one, as it did before 0011).
        queries = [f"{CANONICAL}|1.0"] + ([] if sqlite else [CANONICAL])
        for value in queries:
            q = search.page_query(parse("QuestionnaireResponse", [("questionnaire", value)]))
            sql = str(q.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(str(r) for r in conn.execute(text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql)))
            assert "ix_idx_reference_lookup1" in plan, plan
