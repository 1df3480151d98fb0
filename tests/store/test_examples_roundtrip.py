"""Every instance example of the official R4 package (npm hl7.fhir.r4.examples@4.0.1, conformance
resources included) is accepted by update (or create, when it has no id) and reads back equal
apart from meta (the AuditEvents excepted: the trail refuses every write); the spec's own known defects (tests/fhir/test_validation_examples.KNOWN_DEFECTS)
are refused (422, or 400 for an id that is invalid in the URL too). Runs on every store."""
from __future__ import annotations

import pytest

from benhan.store.store import Store
from tests.fhir.test_validation_examples import KNOWN_DEFECTS, resource_files

FHIR_JSON = {"content-type": "application/fhir+json"}


def _without_server_meta(resource: dict) -> dict:
    out = dict(resource)
    meta = {k: v for k, v in (out.pop("meta", None) or {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        out["meta"] = meta
    return out


@pytest.fixture
def big_client(db_config):  # noqa: ANN001, ANN201
    """The largest example (Bundle-resources.json) is 35 MB; allow it."""
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    cfg = db_config.replace(max_body_bytes=64 * 1024 * 1024)
    store = Store.open(cfg)
    from tests.auth_helpers import install_in_store
    with TestClient(create_app(cfg, store), raise_server_exceptions=False) as c:
        c.headers.update(install_in_store(store))
        yield c
    store.close()


# The examples travel in transaction Bundles (each entry an update, or a create when the example has
# no id) and come back through batch reads: the same repository interactions as one request per
# example, in a fraction of the time. Examples that hold urn:uuid references go in batch Bundles
# instead (a transaction would try to resolve them against its own entries). The known defects and the AuditEvents go one request each, since
# each must be refused on its own.
CHUNK_ENTRIES, CHUNK_BYTES = 100, 4_000_000


def _flush(client, chunk: list[tuple[str, dict]], problems: list[str], stored: list,  # noqa: ANN001
           kind: str = "transaction") -> None:
    if not chunk:
        return
    entries = []
    for _, resource in chunk:
        rtype = resource["resourceType"]
        if "id" in resource:
            entries.append({"resource": resource, "request": {"method": "PUT", "url": f"{rtype}/{resource['id']}"}})
        else:
            entries.append({"resource": resource, "request": {"method": "POST", "url": rtype}})
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": kind, "entry": entries}, headers=FHIR_JSON)
    assert r.status_code == 200, r.text[:300]
    for (name, resource), entry in zip(chunk, r.json()["entry"]):
        status = entry["response"]["status"]
        if not status.startswith(("200", "201")):
            problems.append(f"{name}: {status} {str(entry['response'].get('outcome'))[:300]}")
            continue
        # location: Type/id/_history/n
        stored.append((name, resource, entry["response"]["location"].split("/")[1]))


def _read_back(client, stored: list, problems: list[str]) -> int:  # noqa: ANN001
    accepted = 0
    for start in range(0, len(stored), CHUNK_ENTRIES):
        part = stored[start:start + CHUNK_ENTRIES]
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": f"{resource['resourceType']}/{rid}"}} for _, resource, rid in part]}
        r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
        assert r.status_code == 200, r.text[:300]
        for (name, resource, rid), entry in zip(part, r.json()["entry"]):
            back = entry.get("resource")
            if back is None or _without_server_meta(back) != _without_server_meta(dict(resource, id=rid)):
                problems.append(f"{name}: reads back different")
            else:
                accepted += 1
    return accepted


def test_every_r4_example_is_stored_and_reads_back_equal_apart_from_meta(big_client, r4_examples_dir):
    refused, problems, stored = [], [], []
    chunk: list[tuple[str, dict]] = []
    keys: set[tuple[str, str]] = set()
    size = 0
    for path, resource in resource_files(r4_examples_dir):
        rtype = resource["resourceType"]
        if rtype == "AuditEvent":
            # The audit trail is append-only and written by the server: /fhir/AuditEvent refuses
            # every write (405). These examples are still checked by the validator's example tests.
            r = big_client.post(f"/fhir/{rtype}", json=resource, headers=FHIR_JSON)
            if r.status_code != 405:
                problems.append(f"{path.name}: an AuditEvent was not refused ({r.status_code})")
            continue
        if path.name in KNOWN_DEFECTS:
            if "id" in resource:
                r = big_client.put(f"/fhir/{rtype}/{resource['id']}", json=resource, headers=FHIR_JSON)
            else:
                r = big_client.post(f"/fhir/{rtype}", json=resource, headers=FHIR_JSON)
            # 422: invalid content; 400: an id too long even for the URL.
            if r.status_code not in (400, 422):
                problems.append(f"{path.name}: a known defect was accepted ({r.status_code})")
            refused.append(path.name)
            continue
        if "urn:uuid:" in path.read_text(encoding="utf-8"):
            _flush(big_client, chunk, problems, stored)
            chunk, keys, size = [], set(), 0
            _flush(big_client, [(path.name, resource)], problems, stored, "batch")
            continue
        key = (rtype, resource.get("id", path.name))
        weight = path.stat().st_size
        # A few examples share type and id: they go in different transactions, in file order.
        if key in keys or len(chunk) >= CHUNK_ENTRIES or size + weight > CHUNK_BYTES:
            _flush(big_client, chunk, problems, stored)
            chunk, keys, size = [], set(), 0
        chunk.append((path.name, resource))
        keys.add(key)
        size += weight
    _flush(big_client, chunk, problems, stored)
    # Shared ids: the later example is what is stored now; compare each id with its last version.
    last = {(resource["resourceType"], rid): i for i, (_, resource, rid) in enumerate(stored)}
    accepted = _read_back(big_client, [s for i, s in enumerate(stored)
                                       if last[(s[1]["resourceType"], s[2])] == i], problems)
    assert problems == []
    assert sorted(refused) == sorted(KNOWN_DEFECTS)
    assert accepted > 5000
