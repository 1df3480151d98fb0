"""Paper → electronic in the clinician app (NĐ 137/2024 Đ4): the patient's documents converted from
paper, and the upload form (a scanned PDF, or a photo/scan as JPEG or PNG) that marks every page,
seals it with the facility's seal and stores it (documents.paper). The sealed PDF and "Kiểm tra chữ
ký" are the signed documents' own routes (/ui/documents/{id}/pdf, /verify)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.web.lazy import lazy_module
from benhan.signing import trust
from benhan.web import i18n
from benhan.web.ui.base import back, chart_gate, form, may, page, repo, require
from benhan.web.ui.signatures import _half

# The PDF and signature stack at first use (web/lazy.py):
paper = lazy_module("benhan.documents.paper")
signing = lazy_module("benhan.documents.signing")
timestamping = lazy_module("benhan.documents.timestamping")

FIELDS = ("kind", "date", "title")


def may_convert(r) -> bool:  # noqa: ANN001
    return may(r, "c", "DocumentReference") and may(r, "c", "Provenance")


def listing(r, patient_id: str) -> list[dict] | None:  # noqa: ANN001
    """The patient's paper documents, or None when the role may not read documents."""
    return paper.paper_documents(r, patient_id) if may(r, "s", "DocumentReference") else None


def _page(request: Request, r, pid: str, status: int = 200, **extra) -> Response:  # noqa: ANN001
    patient = r.read("Patient", pid).json()
    extra.setdefault("v", {"kind": "inpatient"})
    if extra.get("error"):
        extra["error"] = extra["error"][:1].upper() + extra["error"][1:]     # a sentence on the page
    return page(request, "ui/paper.html", status, patient=patient, documents=listing(r, pid) or [],
                kinds=list(paper.PAPER_TYPES), can_convert=may_convert(r), max_mb=paper.MAX_BYTES // (1024 * 1024),
                max_pages=paper.MAX_PAGES, max_kb=paper.MAX_STORED_BYTES // 1024, done=request.query_params.get("converted", ""), **extra)


async def paper_page(request: Request) -> Response:
    if request.method == "POST":
        return await _upload(request)

    def work() -> Response:
        r = repo(request)
        chart_gate(r)
        require(r, ("s", "DocumentReference"))
        return _page(request, r, request.path_params["id"])
    return await run_in_threadpool(work)


async def _upload(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "DocumentReference"))
    await run_in_threadpool(require, r, ("c", "Provenance"))
    pid = request.path_params["id"]
    lang = i18n.language(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > paper.MAX_BYTES + 256 * 1024:
        # Refused before the body is parsed: a 2 GB upload is not spooled to disk first.
        return await run_in_threadpool(lambda: _page(request, r, pid, 413, error=i18n.translate(
            "ui.paper.too_large", lang, mb=paper.MAX_BYTES // (1024 * 1024))))
    parsed = await request.form()
    try:
        values = await form(request)                    # the CSRF token (the form parsed once, cached)
        upload = parsed.get("file")
        data, filename = b"", ""
        if isinstance(upload, UploadFile):
            data = await upload.read(paper.MAX_BYTES + 1)    # one byte more than allowed: "too large" is told
            filename = upload.filename or ""
    finally:
        await parsed.close()                            # the spooled upload, on a refusal too
    v = {k: (values.get(k) or "").strip() for k in FIELDS}

    def work() -> Response:
        r.read("Patient", pid)          # 404 / 403 before the seal is opened
        cfg = request.app.state.store.config
        try:
            if not data:
                raise errors.PaperDocumentRefused(i18n.translate("ui.paper.no_file", "vi") + " | "
                                                  + i18n.translate("ui.paper.no_file", "en"))
            original = paper.parse_date(v["date"])
            checked = paper.check_upload(data)          # a bad file is told before the seal is asked for
            signing.offline_policy(cfg)
            key = paper.facility_seal(cfg)
            done = paper.convert(r, r.actor, pid, checked, kind=v["kind"], original_date=original, key=key,
                                 trust=trust.load(cfg.trust_dir), filename=filename, title=v["title"],
                                 offline_policy=cfg.signing_offline, facility_name=cfg.values.get("facility_name"),
                                 tsa=timestamping.configured(cfg))
        except errors.SealNotConfigured as exc:
            return _page(request, r, pid, 409, v=v, error=i18n.translate("ui.paper.no_seal", lang)
                         + " (" + _half(exc.message, lang) + ")")
        except (errors.PaperDocumentRefused, errors.CertificateRefused, errors.SigningKeyUnavailable,
                errors.ConfigError) as exc:
            return _page(request, r, pid, 400, v=v, error=_half(exc.message, lang))
        return back(f"/ui/patients/{pid}/paper?converted={done.document_reference_id}")
    return await run_in_threadpool(work)
