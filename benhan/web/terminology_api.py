"""Terminology operation endpoints (http://hl7.org/fhir/R4/terminology-service.html), GET with query
parameters or POST with a Parameters resource; fhir_api mounts `routes` before /{type}/{id}, which
would otherwise read "$expand" as an id."""
from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
routes = [
    Route("/CodeSystem/$lookup", _endpoint(operations.lookup), methods=_BOTH),
    Route("/CodeSystem/$validate-code", _endpoint(operations.validate_code_in_code_system), methods=_BOTH),
    Route("/CodeSystem/$subsumes", _endpoint(operations.subsumes), methods=_BOTH),
    Route("/CodeSystem/{id}/$validate-code", _endpoint(operations.validate_code_in_code_system, "id"), methods=_BOTH),
    Route("/CodeSystem/{id}/$subsumes", _endpoint(operations.subsumes, "id"), methods=_BOTH),
    Route("/ValueSet/$expand", _endpoint(operations.expand), methods=_BOTH),
    Route("/ValueSet/$validate-code", _endpoint(operations.validate_code_in_value_set), methods=_BOTH),
    Route("/ValueSet/{id}/$expand", _endpoint(operations.expand, "id"), methods=_BOTH),
    Route("/ValueSet/{id}/$validate-code", _endpoint(operations.validate_code_in_value_set, "id"), methods=_BOTH),
]
