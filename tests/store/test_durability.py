"""Durability: a real `benhan serve`, loaded by concurrent writers, is killed with SIGKILL at random
moments. After every restart each acknowledged write is there with the content the client was
given, an unanswered transaction is wholly there or wholly absent, and nothing half-written is
visible in the tables. Run on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benhan.vn.identifiers import CCCD_SYSTEM
from tests.server_process import (api_client, Database, ServerProcess, Writers, consistency_problems,
                                  fresh_postgres_database, sqlite_integrity, stored_resources)

KILLS = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind, of this test's own."""
    if request.param == "sqlite":
        yield Database(tmp_path / "data")
        return
    with fresh_postgres_database(request.getfixturevalue("pg_database")) as url:
        yield Database(tmp_path / "data", url)


class Ledger:
    """Everything the clients sent over all rounds, and what the server answered."""

    def __init__(self) -> None:
        self.acked_creates: list[dict] = []
        self.acked_transactions: list[list[dict]] = []
        self.in_doubt_creates: list[dict] = []
        self.in_doubt_transactions: list[list[dict]] = []
        self.last_round: list[dict] = []

    def add(self, writers: Writers) -> None:
        self.last_round = writers.acked_creates()
        self.acked_creates += self.last_round
        self.acked_transactions += writers.transactions.written.acked
        self.in_doubt_creates += writers.in_doubt_creates()
        self.in_doubt_transactions += writers.in_doubt_transactions()

    def sent_identifiers(self) -> set[str]:
        sent = self.acked_creates + self.in_doubt_creates + [t[0] for t in self.acked_transactions
                                                             + self.in_doubt_transactions]
        return {p["identifier"][0]["value"] for p in sent}


def without_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k != "meta"}


def assert_nothing_lost_and_nothing_half_written(database: Database, server: ServerProcess, ledger: Ledger,
                                                 http: httpx.Client, *, read_all: bool, seed: int) -> None:
    where = f"(seed {seed})"
    assert consistency_problems(database.url) == [], where
    if database.kind == "sqlite":
        assert sqlite_integrity(database.data_dir / "benhan.sqlite") == "ok", where
    stored = stored_resources(database.url)

    lost = [b["id"] for b in ledger.acked_creates if stored.get(("Patient", b["id"])) != b]
    assert lost == [], f"acknowledged creates missing or changed after a kill {where}"

    for sent in ledger.acked_transactions:
        found = [stored.get((r["resourceType"], r["id"])) for r in sent]
        assert [without_meta(f) if f else None for f in found] == sent, \
            f"an acknowledged transaction is missing or changed {where}"
    for sent in ledger.in_doubt_transactions:
        present = [(r["resourceType"], r["id"]) in stored for r in sent]
        assert all(present) or not any(present), \
            f"a transaction killed mid-way is partly there: {present} {where}"

    patients = [r for (t, _), r in stored.items() if t == "Patient"]
    cccds = Counter(p["identifier"][0]["value"] for p in patients)
    assert set(cccds) <= ledger.sent_identifiers(), f"a Patient nobody sent {where}"
    assert [c for c, n in cccds.items() if n > 1] == [], f"a create stored twice {where}"

    # Through the restarted server: the round's last (most at risk) writes read back as
    # acknowledged, and search finds them, so their index rows were committed with them.
    to_read = ledger.acked_creates if read_all else ledger.last_round
    for body in to_read:
        r = http.get(f"{server.base}/Patient/{body['id']}")
        assert (r.status_code, r.json()) == (200, body), where
    for body in ledger.last_round[-20:]:
        cccd = body["identifier"][0]["value"]
        found = http.get(f"{server.base}/Patient", params={"identifier": f"{CCCD_SYSTEM}|{cccd}"}).json()
        assert [e["resource"]["id"] for e in found.get("entry", [])] == [body["id"]], where


def test_acknowledged_writes_survive_sigkill_at_random_moments_and_no_half_write_is_ever_visible(
        database: Database) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    server = database.server()
    ledger = Ledger()
    try:
        with api_client() as http:
            for kill in range(KILLS + 1):
                server.start()
                if kill:
                    assert_nothing_lost_and_nothing_half_written(database, server, ledger, http,
                                                                 read_all=kill == KILLS, seed=seed)
                if kill == KILLS:
                    break
                writers = Writers(server.base).start()
                # Kill only once writes are flowing, then at a random moment among them.
                deadline = time.monotonic() + 20
                while writers.acked_count() < 5 and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 1.0))
                server.kill()
                writers.join()
                assert writers.refused() == [], f"the server refused writes before it was killed (seed {seed})"
                assert writers.acked_count() >= 5, "the writers got nothing acknowledged before the kill"
                ledger.add(writers)
    finally:
        server.kill()
    assert ledger.acked_transactions, "no transaction was acknowledged, so none was tested"
