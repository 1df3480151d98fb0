"""The CapabilityStatement names every operation the server answers, at the level it answers it:
an operation route added without its line in fhir/capability.py (as $import and $hosobenhan were)
fails here. The routes are read from the application itself, not from a list kept beside them.
SQLite is enough: the routes do not depend on the database."""
from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route

# Not operations of their own: the polling and download endpoints of an asynchronous one.
FOLLOW_UPS = re.compile(r"\$[a-z-]+-(status|file)(/|$)")
OPERATION = re.compile(r"^/fhir(?:/(?P<type>[A-Z][A-Za-z]+)(?:/\{id\})?)?/\$(?P<name>[a-z-]+)$")


def _paths(routes, prefix: str = ""):  # noqa: ANN001, ANN202
    for route in routes:
        if isinstance(route, Mount):
            yield from _paths(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path


def _served_operations(app) -> set[tuple[str | None, str]]:  # noqa: ANN001
    found = set()
    for path in _paths(app.router.routes):
        if "$" not in path or FOLLOW_UPS.search(path):
            continue
        if path.startswith("/fhir/{type}"):      # type-level routes served for every type (terminology's are per type)
            continue
        m = OPERATION.match(path)
        assert m, f"an operation route of a shape this test does not know: {path}"
        found.add((m["type"], m["name"]))
    return found


@pytest.mark.parametrize("db_config", ["sqlite"], indirect=True)
def test_every_operation_route_is_declared(client):
    statement = client.get("/fhir/metadata").json()
    rest = statement["rest"][0]
    declared = {(None, o["name"]) for o in rest["operation"]}
    declared |= {(r["type"], o["name"]) for r in rest["resource"] for o in r.get("operation", [])}
    served = _served_operations(client.app)
    assert {(None, "import"), (None, "hosobenhan"), ("Encounter", "hosobenhan"), ("Patient", "everything")} <= served
    assert served - declared == set()
    # And nothing declared that no route answers.
    assert declared - served == set()
    for op in rest["operation"] + [o for r in rest["resource"] for o in r.get("operation", [])]:
        assert op["definition"].startswith(("http://hl7.org/fhir/", "https://benhan.vn/fhir/OperationDefinition/"))
