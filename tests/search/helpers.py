"""Small helpers shared by the search tests: store a resource, and the ids a search matches."""
from __future__ import annotations

from tests.factories import FHIR_JSON


def create(client, resource: dict) -> str:  # noqa: ANN001
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def found(client, query: str) -> set[str]:  # noqa: ANN001
    r = client.get(f"/fhir/{query}")
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "match"}
