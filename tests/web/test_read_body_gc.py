"""A large request body (a transaction Bundle) is parsed with fewer garbage collections
(store.bulk_gc): hardly any of the young generation while it parses, the thresholds back
afterwards, on a refused body too; a small body parses at the usual thresholds. (Counts of
collections, not times.)"""
from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from starlette.requests import Request

from benhan import errors
from benhan.web import http
from benhan.web.http import BULK_BODY_BYTES, read_body


def _request(body: bytes) -> Request:
    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}
    scope = {"type": "http", "method": "POST", "path": "/fhir", "query_string": b"",
             "headers": [(b"content-type", b"application/fhir+json")]}
    return Request(scope, receive)


def _bundle(size: int) -> bytes:
    entry = {"resource": {"resourceType": "Observation", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                          "subject": {"reference": "urn:uuid:p"}}, "request": {"method": "POST", "url": "Observation"}}
    n = 1
    while len(body := orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry] * n})) < size:
        n *= 2
    return body


def _read(body: bytes):  # noqa: ANN202
    """read_body on its own event loop in a thread of its own: the test's thread may already run
    a loop (another file's browser tests in the same xdist worker), where asyncio.run refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(read_body(_request(body), 10 * 1024 * 1024))).result()


def _parse_counting_collections(body: bytes) -> tuple[object, list[int]]:
    young = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 0:
            young.append(gc.get_threshold()[0])
    gc.callbacks.append(seen)
    try:
        return _read(body), young
    finally:
        gc.callbacks.remove(seen)


def test_a_large_body_parses_with_fewer_young_collections_and_the_thresholds_come_back(monkeypatch) -> None:  # noqa: ANN001
    before = gc.get_threshold()
    body = _bundle(4 * BULK_BODY_BYTES)
    parsed, young = _parse_counting_collections(body)
    assert len(parsed["entry"]) > 1000
    assert gc.get_threshold() == before
    # The same body under a cutoff above its size: the collector runs dozens of times in the parse.
    monkeypatch.setattr(http, "BULK_BODY_BYTES", 10 * len(body))
    _, usual = _parse_counting_collections(body)
    assert len(usual) >= 10 and len(young) <= 2, (usual, young)      # (≤ 2: the loop's and thread's own)
    assert gc.get_threshold() == before


def test_a_small_body_parses_at_the_usual_thresholds() -> None:
    before = gc.get_threshold()
    parsed, young = _parse_counting_collections(_bundle(1024))
    assert parsed["resourceType"] == "Bundle"
    assert all(t == before[0] for t in young)
    assert gc.get_threshold() == before


def test_a_large_body_that_is_not_json_is_refused_and_the_thresholds_come_back() -> None:
    before = gc.get_threshold()
    with pytest.raises(errors.MalformedJson):
        _read(b"[" * BULK_BODY_BYTES)
    assert gc.get_threshold() == before
