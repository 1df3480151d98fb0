"""The CV 365 `HoSoBenhAn` export over the FHIR API (docs/hosobenhan.md):

    GET /fhir/Encounter/{id}/$hosobenhan?format=xml|json     one episode
    GET /fhir/Patient/{id}/$hosobenhan?format=xml|json       every episode of the patient
    GET /fhir/$hosobenhan?from=YYYY-MM-DD&to=YYYY-MM-DD&format=…   every episode ended in the period

The answer is the document itself (application/xml or application/json, as an attachment), valid
against the published schema; anything wrong is an OperationOutcome (400 a bad parameter, 403 a
reader who may not see a part of the record, 404 an unknown id, 422 a record that does not fit the
schema, naming the field). The reader's access rules apply to every read; each export is one audit
event naming the patients and the episodes."""
from __future__ import annotations

from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.exchange.hosobenhan import audit, export
from benhan.store.repository import Repository
from benhan.web import authn

_PARAMS = {"format", "from", "to"}


def _params(request: Request, allowed: set[str]) -> dict[str, str]:
    for key in request.query_params.keys():
        if key not in allowed:
            raise errors.UnknownOperationParameter(
                f"$hosobenhan does not take {key!r} (it takes {', '.join(sorted(allowed))})", expression=key)
    return dict(request.query_params)


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidOperationParameter(f"{name} must be a day YYYY-MM-DD, not {value!r}",
                                               expression=name) from None


def _repo(request: Request) -> Repository:
    """The reader's repository, refused (403) before anything else when their role may not read
    every part of a record: the parameters of a request they may not make are not their business."""
    repo = Repository(request.app.state.store, authn.actor(request))
    export.require_reads(repo)
    return repo


def _answer(request: Request, repo: Repository, work) -> Response:  # noqa: ANN001
    store = request.app.state.store
    done, target, query = work(repo)
    audit.record_export(store, repo.actor, done, target, patients=repo.released, query=query)
    return Response(done.content, media_type=f"{done.media_type}; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{done.filename}"'})


async def encounter_export(request: Request) -> Response:
    repo = await run_in_threadpool(_repo, request)
    q = _params(request, {"format"})
    fmt = export.check_format(q.get("format", "xml"))
    eid = request.path_params["id"]
    return await run_in_threadpool(_answer, request, repo, lambda repo: (
        export.export_episode(repo, eid, fmt), ("Encounter", eid), None))


async def patient_export(request: Request) -> Response:
    repo = await run_in_threadpool(_repo, request)
    q = _params(request, {"format"})
    fmt = export.check_format(q.get("format", "xml"))
    pid = request.path_params["id"]
    return await run_in_threadpool(_answer, request, repo, lambda repo: (
        export.export_patient(repo, pid, fmt), ("Patient", pid), None))


async def period_export(request: Request) -> Response:
    repo = await run_in_threadpool(_repo, request)
    q = _params(request, _PARAMS)
    fmt = export.check_format(q.get("format", "xml"))
    if not q.get("from") or not q.get("to"):
        raise errors.InvalidOperationParameter("$hosobenhan over a period needs from and to (YYYY-MM-DD)")
    first, last = _day(q["from"], "from"), _day(q["to"], "to")
    return await run_in_threadpool(_answer, request, repo, lambda repo: (
        export.export_period(repo, first, last, fmt), ("Encounter", None), f"from={first}&to={last}"))


# Mounted under /fhir by fhir_api, before /{type} and /Patient/{id}/{type}, which would take these paths.
routes = [
    Route("/$hosobenhan", period_export, methods=["GET"]),
    Route("/Encounter/{id}/$hosobenhan", encounter_export, methods=["GET"]),
    Route("/Patient/{id}/$hosobenhan", patient_export, methods=["GET"]),
]
