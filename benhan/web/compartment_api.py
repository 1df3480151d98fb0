"""Patient compartment endpoints: GET /fhir/Patient/{id}/{type}?… (compartment search,
http://hl7.org/fhir/R4/search.html#compartments) and GET /fhir/Patient/{id}/$everything
(http://hl7.org/fhir/R4/patient-operation-everything.html). fhir_api mounts them."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.fhir import bundle as fhir_bundle
from benhan.fhir.datetimes import parse_range
from benhan.fhir.outcome import information
from benhan.store import compartments
from benhan.web import http

# $everything's own parameters; start/end (care dates) are not answered yet.
_EVERYTHING_PARAMS = {"_since", "_type", "_count", "_cursor"}
_IGNORED = {"_format", "_pretty"}


def _api():  # noqa: ANN202
    # fhir_api mounts these routes and so imports this module; importing it back when a request
    # comes (rather than at import time) keeps the two free of an import cycle.
    from benhan.web import fhir_api
    return fhir_api


async def compartment_search(request: Request) -> Response:
    http.check_format(request)
    api = _api()
    patient_id, res_type = request.path_params["id"], request.path_params["type"]
    repo = api._repo(request)

    def run(items: list[tuple[str, str]], lenient: bool):  # noqa: ANN202
        return compartments.search(repo, patient_id, res_type, items, lenient=lenient)
    return await api._search(request, repo, res_type, list(request.query_params.multi_items()),
                             path=f"Patient/{patient_id}/{res_type}", run=run)


def _entry(base: str, m, resource: dict | bytes, mode: str) -> dict:  # noqa: ANN001
    return {"fullUrl": f"{base}/{m.res_type}/{m.res_id}", "resource": resource, "search": {"mode": mode}}


async def everything(request: Request) -> Response:
    http.check_format(request)
    api = _api()
    patient_id = request.path_params["id"]
    q = request.query_params
    lenient = http.prefer(request, "handling") == "lenient"
    ignored = []
    for key in dict.fromkeys(q.keys()):
        if key in _EVERYTHING_PARAMS or key in _IGNORED:
            continue
        if not lenient:
            raise errors.UnknownSearchParameter(f"$everything does not take {key!r} (it takes "
                                                f"{', '.join(sorted(_EVERYTHING_PARAMS))})", expression=key)
        ignored.append(key)
    since = _since(q.get("_since"))
    types = _types(q.getlist("_type"))
    count = api._int_param(q, "_count")
    cursor = api._int_param(q, "_cursor")
    page = await run_in_threadpool(compartments.everything, api._repo(request), patient_id, types=types,
                                   since=since, count=count, cursor=cursor)
    base, path = api._base(request), f"Patient/{patient_id}/$everything"
    keep = [(k, v) for k, v in q.multi_items() if k in ("_since", "_type", "_count")]
    links = [fhir_bundle.link("self", fhir_bundle.url_with(
        base, path, keep + ([("_cursor", str(cursor))] if cursor is not None else [])))]
    if page.next_cursor is not None:
        links.append(fhir_bundle.link("next", fhir_bundle.url_with(base, path, keep + [("_cursor", str(page.next_cursor))])))
    entries = [_entry(base, e.resource, e.resource.json(), e.mode) for e in page.entries]
    bundle = fhir_bundle.searchset(entries, links, None)
    if ignored:
        bundle.setdefault("entry", []).append({"resource": information(
            "ignored parameters: " + ", ".join(ignored), "not-supported"), "search": {"mode": "outcome"}})
    return http.json_response(bundle, indent=http.pretty(request))


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    r = parse_range(value)
    if r is None:
        raise errors.InvalidSearchParameter(f"_since={value}: not an instant", expression="_since")
    return r[0]


def _types(values: list[str]) -> tuple[str, ...] | None:
    if not values:
        return None
    types = tuple(dict.fromkeys(t.strip() for v in values for t in v.split(",") if t.strip()))
    if not types:
        raise errors.InvalidSearchParameter("_type needs at least one resource type", expression="_type")
    return types
