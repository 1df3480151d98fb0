from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import empty_pg
from tests.sync.harness import Hub, Node


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """The hub, on each kind of database."""
    url = None if request.param == "sqlite" else empty_pg(request.getfixturevalue("pg_database"))
    h = Hub(tmp_path, url)
    yield h
    h.close()


@pytest.fixture
def make_node(hub: Hub, tmp_path: Path) -> Iterator:
    made: list[Node] = []

    def make(name: str = "tyt-a", organization_id: str | None = None) -> Node:
        n = Node(tmp_path, hub, name, organization_id)
        made.append(n)
        return n
    yield make
    for n in made:
        n.close()
