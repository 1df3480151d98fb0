"""GET /fhir/AuditEvent and /fhir/AuditEvent/{id}: the audit trail through FHIR (docs/audit.md).

Served from the trail (audit.trail), not from the resource table, and read-only: the trail is
append-only and written by the server alone, so every write method answers 405. fhir_api puts
these routes before its generic /{type} ones.
"""
from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.audit import fhir_view, trail
from benhan.auth.actor import Actor
from benhan.fhir import bundle as fhir_bundle
from benhan.fhir.outcome import information
from benhan.web import http
from benhan.web.shaping import shape

_SHAPING = ("_summary", "_elements")
APPEND_ONLY = ("the audit trail is append-only: AuditEvents are recorded by the server and can be "
               "neither created, changed nor deleted through the API")


def _api():  # noqa: ANN202
    # fhir_api mounts these routes and so imports this module; importing it back when a request
    # comes (as compartment_api does) keeps the two free of an import cycle.
    from benhan.web import fhir_api
    return fhir_api


def _actor(request: Request) -> Actor:
    # The request's Actor exactly as every other FHIR endpoint gets it (authentication included).
    return _api()._repo(request).actor


def _facility(store) -> str | None:  # noqa: ANN001
    return store.config.values.get("facility_name") or None


async def search(request: Request) -> Response:
    http.check_format(request)
    return await _search(request, list(request.query_params.multi_items()), "AuditEvent")


async def search_post(request: Request) -> Response:
    http.check_format(request)
    if http.content_type(request) != "application/x-www-form-urlencoded":
        raise errors.UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
    raw = await http.read_bytes(request, request.app.state.store.config.max_body_bytes)
    form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return await _search(request, list(request.query_params.multi_items()) + form, "AuditEvent")


async def patient_compartment(request: Request) -> Response:
    """GET /fhir/Patient/{id}/AuditEvent: the events that touched this patient's record."""
    http.check_format(request)
    patient_id = request.path_params["id"]
    items = [("patient", patient_id)] + [(k, v) for k, v in request.query_params.multi_items() if k != "patient"]
    return await _search(request, items, f"Patient/{patient_id}/AuditEvent", fixed=1)


async def _search(request: Request, items: list[tuple[str, str]], path: str, fixed: int = 0) -> Response:
    store = request.app.state.store
    shaping = [(k, v) for k, v in items if k in _SHAPING]
    criteria = [(k, v) for k, v in items if k not in _SHAPING]
    lenient = http.prefer(request, "handling") == "lenient"
    page = await run_in_threadpool(trail.search, store, _actor(request), criteria, lenient=lenient)
    base = _api()._base(request)
    # The link keeps the client's parameters except those the path already says (the compartment's patient).
    applied = page.applied[fixed:] + shaping
    here = [("_cursor", v) for k, v in criteria if k == "_cursor"]
    links = [fhir_bundle.link("self", fhir_bundle.url_with(base, path, applied + here))]
    if page.next_cursor is not None:
        links.append(fhir_bundle.link("next", fhir_bundle.url_with(base, path, applied + [("_cursor", str(page.next_cursor))])))
    summary = next((v for k, v in shaping if k == "_summary"), None)
    elements = next((v for k, v in shaping if k == "_elements"), None)
    entries = []
    for event in page.events(store.node_id, _facility(store)):
        resource = shape(event, summary, elements) if summary or elements else event
        entries.append({"fullUrl": f"{base}/AuditEvent/{event['id']}", "resource": resource,
                        "search": {"mode": "match"}})
    bundle = fhir_bundle.searchset(entries, links, page.total)
    if page.ignored:
        bundle.setdefault("entry", []).append({"resource": information(
            "ignored search parameters: " + ", ".join(page.ignored), "not-supported"), "search": {"mode": "outcome"}})
    return http.json_response(bundle, indent=http.pretty(request))


async def read(request: Request) -> Response:
    http.check_format(request)
    store = request.app.state.store
    row = await run_in_threadpool(trail.read, store, _actor(request), request.path_params["id"])
    event = fhir_view.render(row, store.node_id, _facility(store))
    summary, elements = request.query_params.get("_summary"), request.query_params.get("_elements")
    if summary or elements:
        event = shape(event, summary, elements)
    # An event never changes: version 1 for ever, last modified when it was recorded.
    return http.json_response(event, 200, http.version_headers(1, row.recorded), indent=http.pretty(request))


async def refuse_write(request: Request) -> Response:
    raise errors.MethodNotAllowed(APPEND_ONLY)


routes = [
    Route("/AuditEvent", search, methods=["GET"]),
    Route("/AuditEvent", refuse_write, methods=["POST", "PUT", "PATCH", "DELETE"]),
    Route("/AuditEvent/_search", search_post, methods=["POST"]),
    Route("/AuditEvent/{id}", read, methods=["GET"]),
    Route("/AuditEvent/{id}", refuse_write, methods=["POST", "PUT", "PATCH", "DELETE"]),
    Route("/Patient/{id}/AuditEvent", patient_compartment, methods=["GET"]),
]
