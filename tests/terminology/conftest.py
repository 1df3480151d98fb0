"""A database with every code system loaded, once per backend for the whole package: loading the
two 15k-concept ICD-10 versions takes seconds, so the tests share it and only read from it.

The PostgreSQL variant gets a database of its own, because the shared session database is
truncated by every test that takes the function-scoped `store` fixture.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benhan import config as config_mod
from tests.conftest import own_pg_database

VS_ICD10 = "https://benhan.vn/fhir/ValueSet/vn-icd10"
CS_ICD10 = "http://fhir.hl7.org.vn/core/CodeSystem/vn-icd10-cs"


@dataclass
class Loaded:
    store: object
    results: list        # what the first `load` reported


def _own_pg_database() -> Iterator[str]:
    yield from own_pg_database("benhan_test_tx")


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    from benhan.store.store import Store
    from benhan.terminology.load import load
    data_dir: Path = tmp_path_factory.mktemp("terminology") / "data"
    pg = _own_pg_database() if request.param == "postgresql" else None
    url = next(pg) if pg else None
    store = Store.open(config_mod.load(env={}, data_dir=data_dir, database_url=url))
    try:
        yield Loaded(store, load(store))
    finally:
        store.close()
        if pg:
            pg.close()


@pytest.fixture(scope="package")
def tx(loaded: Loaded):  # noqa: ANN201
    """An HTTP client on the loaded database."""
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    from tests.auth_helpers import install_in_store
    with TestClient(create_app(loaded.store.config, loaded.store), raise_server_exceptions=False) as c:
        c.headers.update(install_in_store(loaded.store))
        yield c


def expand(client, **params) -> dict:  # noqa: ANN001
    params.setdefault("url", VS_ICD10)
    r = client.get("/fhir/ValueSet/$expand", params=params)
    assert r.status_code == 200, r.text
    return r.json()["expansion"]


def codes(expansion: dict) -> list[str]:
    return [c["code"] for c in expansion.get("contains", [])]


def parameter(parameters: dict, name: str):  # noqa: ANN201
    """The value of the first parameter called `name` in a Parameters resource."""
    for p in parameters["parameter"]:
        if p["name"] == name:
            return next(v for k, v in p.items() if k.startswith("value"))
    return None
