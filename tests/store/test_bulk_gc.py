"""A large transaction Bundle runs with fewer garbage collections, and the collector's thresholds
come back afterwards, whatever happened in between."""
from __future__ import annotations

import gc
import threading

import pytest

from benhan.store import bulk_gc
from benhan.store.bulk_gc import BULK_GEN0, fewer_collections


def test_the_thresholds_are_raised_inside_and_restored_after_the_block():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], BULK_GEN0)
        assert gc.get_threshold()[1:] == before[1:]
    assert gc.get_threshold() == before


def test_an_error_in_the_block_restores_the_thresholds():
    before = gc.get_threshold()
    with pytest.raises(ValueError):
        with fewer_collections():
            raise ValueError("entry 3 is not valid")
    assert gc.get_threshold() == before


def test_overlapping_blocks_in_two_threads_restore_the_thresholds_once_the_last_ends():
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    try:
        assert inside.wait(10)
        with fewer_collections():
            assert gc.get_threshold()[0] == max(before[0], BULK_GEN0)
        assert gc.get_threshold()[0] == max(before[0], BULK_GEN0)     # the other one still runs
    finally:
        release.set()
        t.join(10)
    assert gc.get_threshold() == before
    assert bulk_gc._depth == 0


def test_disabled_it_changes_nothing():
    before = gc.get_threshold()
    with fewer_collections(False):
        assert gc.get_threshold() == before


def test_a_large_transaction_runs_with_fewer_collections_and_a_failing_one_restores_them(store):
    from benhan.auth.actor import Actor
    from benhan.store.bundles import BULK_ENTRIES, transaction
    from benhan.store.repository import Repository
    from benhan import errors

    seen = []
    repo = Repository(store, Actor.system("test"))
    original = repo.prepare

    def watching(*a, **k):  # noqa: ANN002, ANN003, ANN202
        seen.append(gc.get_threshold()[0])
        return original(*a, **k)
    repo.prepare = watching
    before = gc.get_threshold()
    entries = [{"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                "resource": {"resourceType": "Basic", "code": {"text": f"n{i}"}},
                "request": {"method": "POST", "url": "Basic"}} for i in range(BULK_ENTRIES)]
    out = transaction(repo, {"resourceType": "Bundle", "type": "transaction", "entry": entries}, "http://x/fhir")
    assert len(out["entry"]) == BULK_ENTRIES
    assert set(seen) == {max(before[0], BULK_GEN0)}
    assert gc.get_threshold() == before
    entries[-1]["resource"] = {"resourceType": "Basic"}          # Basic.code is required
    with pytest.raises(errors.BenhanError):
        transaction(repo, {"resourceType": "Bundle", "type": "transaction", "entry": entries}, "http://x/fhir")
    assert gc.get_threshold() == before
