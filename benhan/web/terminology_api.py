"""Terminology operation endpoints (http://hl7.org/fhir/R4/terminology-service.html), GET with query
parameters or POST with a Parameters resource; fhir_api mounts `routes` before /{type}/{id}, which
would otherwise read "$expand" as an id."""
from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.terminology import operations
from benhan.terminology.params import Param, from_parameters, from_query
from benhan.web import http


def _api():  # noqa: ANN202
    # Imported when a request comes, not at import time: fhir_api imports this module (as for
    # compartment_api).
    from benhan.web import fhir_api
    return fhir_api


async def _params(request: Request) -> list[Param]:
    params = from_query(list(request.query_params.multi_items()))
    if request.method == "POST":
        api = _api()
        params += from_parameters(await http.read_body(request, api._max_body(request)))
    return params


def _endpoint(run: Callable, id_kind: str | None = None) -> Callable:  # noqa: ANN001
    async def endpoint(request: Request) -> Response:
        http.check_format(request)
        params = await _params(request)
        repo = _api()._repo(request)
        # /CodeSystem/… or /ValueSet/…: reading terminology, like reading those resources.
        repo.permit("r", request.scope["route"].path.split("/")[1], "operation")
        args = (repo, params) if id_kind is None else (repo, params, request.path_params["id"])
        result = await run_in_threadpool(run, *args)
        return http.json_response(result, indent=http.pretty(request))
    return endpoint


_BOTH = ["GET", "POST"]
# (type, with an id, name) → handler: the REST routes below and the operation entries of a batch or
# transaction (store.bundles) run the same ones.
_HANDLERS = {
    ("CodeSystem", False, "$lookup"): operations.lookup,
    ("CodeSystem", False, "$validate-code"): operations.validate_code_in_code_system,
    ("CodeSystem", False, "$subsumes"): operations.subsumes,
    ("CodeSystem", True, "$validate-code"): operations.validate_code_in_code_system,
    ("CodeSystem", True, "$subsumes"): operations.subsumes,
    ("ValueSet", False, "$expand"): operations.expand,
    ("ValueSet", False, "$validate-code"): operations.validate_code_in_value_set,
    ("ValueSet", True, "$expand"): operations.expand,
    ("ValueSet", True, "$validate-code"): operations.validate_code_in_value_set,
}


def run_operation(repo, res_type: str, res_id: str | None, name: str, query: list[tuple[str, str]],  # noqa: ANN001
                  parameters: dict | None) -> dict:
    """An operation entry of a batch or transaction (bundles.Operation), checked as the route is."""
    run = _HANDLERS.get((res_type, res_id is not None, name))
    if run is None:
        raise errors.MethodNotAllowed(f"{res_type}/{res_id + '/' if res_id else ''}{name} is not an operation "
                                      "of this server (terminology: $lookup, $validate-code, $subsumes, $expand)")
    params = from_query(query) + (from_parameters(parameters) if parameters is not None else [])
    repo.permit("r", res_type, "operation")
    return run(repo, params, res_id) if res_id is not None else run(repo, params)


routes = [Route(f"/{res_type}/{{id}}/{name}" if with_id else f"/{res_type}/{name}",
                _endpoint(run, "id" if with_id else None), methods=_BOTH)
          for (res_type, with_id, name), run in _HANDLERS.items()]
