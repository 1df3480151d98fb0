"""Every instance example of the official R4 package (npm hl7.fhir.r4.examples@4.0.1, conformance
resources included) is accepted by update (or create, when it has no id) and reads back equal
apart from meta; the spec's own known defects (tests/fhir/test_validation_examples.KNOWN_DEFECTS)
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


def test_every_r4_example_is_stored_and_reads_back_equal_apart_from_meta(big_client, r4_examples_dir):
    accepted, refused, problems = 0, [], []
    for path, resource in resource_files(r4_examples_dir):
        rtype = resource["resourceType"]
        if rtype == "AuditEvent":
            # The audit trail is append-only and written by the server: /fhir/AuditEvent refuses
            # every write (405). These examples are still checked by the validator's example tests.
            r = big_client.post(f"/fhir/{rtype}", json=resource, headers=FHIR_JSON)
            if r.status_code != 405:
                problems.append(f"{path.name}: an AuditEvent was not refused ({r.status_code})")
            continue
        if "id" in resource:
            r = big_client.put(f"/fhir/{rtype}/{resource['id']}", json=resource, headers=FHIR_JSON)
        else:
            r = big_client.post(f"/fhir/{rtype}", json=resource, headers=FHIR_JSON)
        if path.name in KNOWN_DEFECTS:
            # 422: invalid content; 400: an id too long even for the URL.
            if r.status_code not in (400, 422):
                problems.append(f"{path.name}: a known defect was accepted ({r.status_code})")
            refused.append(path.name)
            continue
        if r.status_code not in (200, 201):
            problems.append(f"{path.name}: {r.status_code} {r.text[:300]}")
            continue
        stored_id = r.json()["id"]
        back = big_client.get(f"/fhir/{rtype}/{stored_id}")
        expected = dict(resource, id=stored_id)
        if back.status_code != 200 or _without_server_meta(back.json()) != _without_server_meta(expected):
            problems.append(f"{path.name}: reads back different")
            continue
        accepted += 1
    assert problems == []
    assert sorted(refused) == sorted(KNOWN_DEFECTS)
    assert accepted > 5000
