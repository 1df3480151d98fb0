"""The ICD-10 type-ahead's answers for the visit page's script: the same ranking as the form's Find
button (clinical.dx_ranking — the typed code, whole words, then the codes this facility uses most),
as JSON. When ICD-10 is not loaded the answer says so, in the user's language, with the command
that loads it (the script shows it; never an empty list or an English 404)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from benhan.clinical import diagnoses, dx_ranking
from benhan.web import i18n
from benhan.web.ui.base import repo, require, t

COUNT = 40


async def icd10(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Condition"))
    text = request.query_params.get("q", "")
    lang = i18n.language(request)

    def work() -> Response:
        try:
            found = diagnoses.search(r, text, lang, COUNT)
            if not found:       # typed in the other language ("pneumonia" on the Vietnamese page)
                found = diagnoses.search(r, text, "en" if lang == "vi" else "vi", COUNT)
        except dx_ranking.CodeListMissing:
            return JSONResponse({"contains": [], "error": t(request, "ui.err.icd10_missing",
                                                            command=dx_ranking.LOAD_COMMAND)}, status_code=503)
        return JSONResponse({"contains": [{"code": c.code, "display": c.display} for c in found]})
    return await run_in_threadpool(work)
