"""Reads by id on PostgreSQL answered on the event loop (store.database.LoopReads). When every one of
its connections is busy, reads of one type that arrive meanwhile go to PostgreSQL as one statement:
each must still get its own resource, 404 or 410, and its own audit line."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from benhan import errors
from benhan.auth.actor import Actor
from benhan.store import database
from benhan.store.repository import Repository


def _on_its_own_loop(make: Callable[[], Coroutine]) -> Any:
    """asyncio.run(make()) on a thread of its own: this worker's main thread may hold a running loop
    (a browser test's Playwright ran before), where asyncio.run refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The parameters of every statement the loop's connections send, in order."""
    sent: list[tuple] = []
    run = database._LoopPool._run

    async def counted(self, cur, sql, params):  # noqa: ANN001, ANN202
        sent.append(params)
        return await run(self, cur, sql, params)
    monkeypatch.setattr(database._LoopPool, "_run", counted)
    return sent


def test_reads_arriving_while_the_connection_is_busy_share_one_statement_and_each_gets_its_own(
        pg_store, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(database, "LOOP_READ_CONNECTIONS", 1)
    sent = _sent(monkeypatch)
    system = Repository(pg_store, Actor.system("test"))
    an = system.create("Patient", {"resourceType": "Patient", "name": [{"family": "Nguyễn", "given": ["An"]}]})
    binh = system.create("Patient", {"resourceType": "Patient", "name": [{"family": "Trần", "given": ["Bình"]}]})
    pulse = system.create("Observation", {
        "resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{binh.res_id}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 88, "unit": "/min"}})
    gone = system.create("Observation", {
        "resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{an.res_id}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]}})
    system.delete("Observation", gone.res_id)
    asked = [("Patient", an.res_id), ("Patient", binh.res_id), ("Observation", pulse.res_id),
             ("Patient", "khong-co"), ("Patient", an.res_id), ("Observation", gone.res_id),
             ("Observation", "khong-co"), ("Patient", binh.res_id)]

    async def all_at_once() -> list:
        reader = Repository(pg_store, Actor.system("reader"))
        try:
            return await asyncio.gather(*(reader.read_on_loop(t, i) for t, i in asked), return_exceptions=True)
        finally:
            pg_store.db.loop_reads.close()
    answers = _on_its_own_loop(all_at_once)

    # The first read took the one connection; the others waited and went as one statement per type.
    assert len(sent) == 3, sent
    assert sent[0] == ("Patient", an.res_id)
    assert sorted(map(tuple, (ids for _, ids in sent[1:]))) == sorted([
        (binh.res_id, "khong-co", an.res_id), (pulse.res_id, gone.res_id, "khong-co")])
    for (res_type, res_id), answer in zip(asked, answers):
        if res_id == "khong-co":
            assert isinstance(answer, errors.NotFound), (res_type, answer)
        elif res_id == gone.res_id:
            assert isinstance(answer, errors.Gone), answer
        else:
            assert not isinstance(answer, BaseException), answer
            assert (answer.res_type, answer.res_id, answer.version) == (res_type, res_id, 1)
            assert json.loads(answer.body)["resourceType"] == res_type
    assert json.loads(answers[0].body)["name"][0]["family"] == "Nguyễn"
    assert json.loads(answers[7].body)["name"][0]["family"] == "Trần"
    assert json.loads(answers[2].body)["valueQuantity"]["value"] == 88

    # One audit line per read, each naming its own resource and whose record it is.
    pg_store.read_audit.flush()
    with pg_store.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT res_type, res_id, outcome, patients FROM audit_event "
                                 "WHERE agent = 'reader' AND interaction = 'read' ORDER BY seq")).all()
    assert sorted((t, i, o) for t, i, o, _ in rows) == sorted(
        (t, i, "4" if i in ("khong-co", gone.res_id) else "0") for t, i in asked)
    assert {(i, p) for t, i, _, p in rows if t == "Observation" and i == pulse.res_id} == {(pulse.res_id, binh.res_id)}


def test_a_read_with_a_connection_free_goes_alone_at_once(pg_store, monkeypatch) -> None:  # noqa: ANN001
    """Batching never makes a read wait: one after another, each is its own statement."""
    sent = _sent(monkeypatch)
    system = Repository(pg_store, Actor.system("test"))
    made = [system.create("Patient", {"resourceType": "Patient", "name": [{"family": f"Lê {n}"}]}) for n in range(3)]

    async def one_by_one() -> list:
        try:
            return [await system.read_on_loop("Patient", m.res_id) for m in made]
        finally:
            pg_store.db.loop_reads.close()
    answers = _on_its_own_loop(one_by_one)
    assert [json.loads(a.body)["name"][0]["family"] for a in answers] == ["Lê 0", "Lê 1", "Lê 2"]
    assert sent == [("Patient", m.res_id) for m in made]
