"""IndexedRouter (web/routing.py) picks the route Starlette's own loop over every route would
pick — for a path made from each route of the application, and for its neighbours (a segment
more, a segment less, a trailing slash, other values in its parameters)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Match, Mount, Route, Router

from benhan import config as config_mod
from benhan.web.app import create_app
from benhan.web.routing import IndexedRouter

VALUES = ("Patient", "p1", "123", "_history", "$everything", "metadata", "_search", "x.y")


def _first_match(routes, scope: dict) -> tuple[object, Match]:  # noqa: ANN001
    """What Starlette's Router loop picks among `routes`: the first full match, else the first partial."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, match
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial, Match.PARTIAL if partial else Match.NONE


def _linear(router: Router, scope: dict) -> tuple[object, Match]:
    return _first_match(router.routes, scope)


def _indexed(router: IndexedRouter, scope: dict) -> tuple[object, Match]:
    return _first_match(router.candidates(scope), scope)


def _paths(route_path: str) -> set[str]:
    """Concrete paths for a route's path, and neighbours of them."""
    out = set()
    for value in VALUES:
        path = re.sub(r"\{[^}]*\}", value, route_path) or "/"
        out |= {path, path.rstrip("/") + "/", path + "/extra", path.rsplit("/", 1)[0] or "/",
                path + "/" + value + "/" + value}
    return out


def _routers(app) -> list[tuple[IndexedRouter, list[str]]]:  # noqa: ANN001
    outer = app.router
    assert isinstance(outer, IndexedRouter)
    found = [(outer, [r.path for r in outer.routes if isinstance(r, (Route, Mount))])]
    for r in outer.routes:
        if isinstance(r, Mount) and isinstance(r.app, IndexedRouter):
            found.append((r.app, [x.path for x in r.app.routes if isinstance(x, (Route, Mount))]))
    return found


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_the_indexed_router_picks_the_route_the_linear_loop_picks(tmp_path: Path, method: str) -> None:
    app = create_app(config_mod.load(env={}, data_dir=tmp_path))
    checked = 0
    for router, route_paths in _routers(app):
        paths = set().union(*(_paths(p) for p in route_paths)) | {"/", "/a" + "/b" * 40, "//", "/fhir//x"}
        for path in sorted(paths):
            scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
            assert _indexed(router, scope) == _linear(router, scope), (method, path)
            checked += 1
    assert checked > 1000


def test_a_route_added_later_is_found(tmp_path: Path) -> None:
    app = create_app(config_mod.load(env={}, data_dir=tmp_path))
    router = app.router
    scope = {"type": "http", "method": "GET", "path": "/late/one/two", "root_path": "", "headers": []}
    assert _indexed(router, scope)[1] is Match.NONE

    async def late(request):  # noqa: ANN001, ANN202
        return None
    router.routes.append(Route("/late/{a}/{b}", late))
    assert _indexed(router, scope)[0] is router.routes[-1]
