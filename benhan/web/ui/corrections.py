"""Correcting or cancelling a saved entry (with a reason; a new version, never an overwrite) and an
entry's version history, one click from the chart."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.clinical import corrections
from benhan.clinical.common import FormInvalid, ref_id
from benhan.store.repository import Repository
from benhan.web import i18n
from benhan.web.ui.base import back, form, messages, page, repo, require, tz, warnings

CORRECTABLE = set(corrections.EDITABLE) | {"Composition", "Encounter"}


def _type(request: Request) -> str:
    res_type = request.path_params["type"]
    if res_type not in CORRECTABLE:
        raise errors.NotFound(f"{res_type} entries are not corrected from the chart")
    return res_type


def _encounter_of(body: dict) -> str | None:
    if body.get("resourceType") == "Encounter":
        return body.get("id")
    return ref_id(body.get("encounter"))


def _form_page(request: Request, r: Repository, res_type: str, res_id: str, status: int = 200,
               v: dict | None = None, errs: dict | None = None, warns: list[str] | None = None) -> Response:
    body = r.read(res_type, res_id).json()
    return page(request, "ui/correct.html", status, res_type=res_type, res_id=res_id, body=body,
                fields=corrections.EDITABLE.get(res_type, ()), current=corrections.current_values(body),
                v=v or corrections.current_values(body), errors=errs or {}, encounter_id=_encounter_of(body),
                cancelled=corrections.is_cancelled(body), warnings=warns or [])


async def correct(request: Request) -> Response:
    res_type, res_id = _type(request), request.path_params["id"]
    r = repo(request)
    await run_in_threadpool(require, r, ("u", res_type))
    if request.method == "GET":
        return await run_in_threadpool(_form_page, request, r, res_type, res_id)
    values = await form(request)

    def work() -> Response:
        cancel = values.get("action") == "cancel"
        try:
            corrections.change(r, r.actor, res_type, res_id, None if cancel else values, values.get("reason", ""),
                               tz(request))
        except FormInvalid as exc:
            return _form_page(request, r, res_type, res_id, 400, values, messages(request, exc),
                              warnings(request, exc))
        eid = _encounter_of(r.read(res_type, res_id).json())
        return back(f"/ui/encounters/{eid}" if eid else f"/ui/history/{res_type}/{res_id}")
    return await run_in_threadpool(work)


async def history(request: Request) -> Response:
    res_type, res_id = request.path_params["type"], request.path_params["id"]

    def work() -> Response:
        r = repo(request)
        require(r, ("r", res_type))
        versions = corrections.history(r, res_type, res_id)
        if not versions:
            raise errors.NotFound(f"{res_type}/{res_id} is not known")
        lang = i18n.language(request)
        labels = {f.field: (f.vi if lang == "vi" else f.en) for f in corrections.EDITABLE.get(res_type, ())}
        return page(request, "ui/history.html", res_type=res_type, res_id=res_id, versions=versions,
                    values=corrections.current_values, labels=labels, encounter_id=_encounter_of(versions[0].body))
    return await run_in_threadpool(work)
