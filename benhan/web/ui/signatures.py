"""Signing in the clinician app: an encounter's signed documents (who signed, when, the status of the
certificate at signing), "Ký số" with the token's PIN (the token whose certificate is the user's, found
among those plugged into the server), the signed PDF, and "Kiểm tra chữ ký" (docs/signatures.md)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.auth import roles
from benhan.documents import confirmation, signing, verify
from benhan.documents.composition import DOCUMENT_TYPES
from benhan.signing import keys, trust
from benhan.web import i18n
from benhan.web.ui.base import back, form, may, may_act, page, repo, require, require_act


def _half(message: str, lang: str) -> str:
    """Signing refusals carry "Vietnamese | English": the reader's half."""
    vi, _, en = message.partition(" | ")
    return (en or vi) if lang == "en" else vi


def _documents_page(request: Request, r, eid: str, status: int = 200, **extra) -> Response:  # noqa: ANN001
    encounter = r.read("Encounter", eid).json()
    documents = signing.signed_documents(r, eid)
    sms = bool(request.app.state.store.config.sms_gateway_url)
    confirmed = {d["id"]: confirmation.confirmations(r, d["id"]) for d in documents}
    phone = confirmation.patient_phone(r, documents[0]) if documents and sms and _may_sign(r) else ""
    return page(request, "ui/documents.html", status, enc=encounter, documents=documents,
                forms=list(DOCUMENT_TYPES), can_sign=_may_sign(r), sms=sms, confirmed=confirmed, phone=phone,
                done=request.query_params.get("signed", ""), otp_done=request.query_params.get("confirmed", ""),
                **extra)


def _may_sign(r) -> bool:  # noqa: ANN001
    return may(r, "c", "DocumentReference") and may(r, "c", "Provenance") and may_act(r, roles.SIGN_DOCUMENT)


async def documents_page(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "DocumentReference"))
        return _documents_page(request, r, request.path_params["id"])
    return await run_in_threadpool(work)


async def sign(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "DocumentReference"))
    require_act(r, roles.SIGN_DOCUMENT)
    eid = request.path_params["id"]
    if request.method == "GET":
        return back(f"/ui/encounters/{eid}/documents")
    values = await form(request)
    lang = i18n.language(request)

    def work() -> Response:
        cfg = request.app.state.store.config
        try:
            module = str(cfg.pkcs11_module)
            if module in ("", "."):
                raise errors.ConfigError("pkcs11_module")
            cccd = signing.staff_cccd(r, r.actor)
            if not cccd:
                raise errors.CertificateRefused(i18n.translate("ui.sign.no_cccd", "vi") + " | "
                                                + i18n.translate("ui.sign.no_cccd", "en"))
            label = keys.find_token(module, f"CCCD:{cccd}")
            with keys.from_token(module, label, values.get("pin", ""), None) as key:
                done = signing.sign_encounter_document(
                    r, r.actor, eid, values.get("form", ""), key, trust.load(cfg.trust_dir),
                    offline_policy=cfg.signing_offline, base_url=str(request.base_url),
                    facility_name=cfg.values.get("facility_name"))
        except errors.ConfigError:
            return _documents_page(request, r, eid, 400, error=i18n.translate("ui.sign.no_module", lang))
        except (errors.CertificateRefused, errors.SigningKeyUnavailable, errors.InvalidOperationParameter) as exc:
            return _documents_page(request, r, eid, 400, error=_half(exc.message, lang))
        return back(f"/ui/encounters/{eid}/documents?signed={done.document_reference_id}")
    return await run_in_threadpool(work)


async def document_pdf(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "DocumentReference"))
        document = r.read("DocumentReference", request.path_params["id"]).json()
        data = signing.pdf_of(document)
        if not data:
            raise errors.NotFound("no PDF in this document")
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{document["id"]}.pdf"'})
    return await run_in_threadpool(work)


async def document_verify(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "DocumentReference"))
        document = r.read("DocumentReference", request.path_params["id"]).json()
        trusted = trust.load(request.app.state.store.config.trust_dir)
        checks = []
        data = signing.pdf_of(document)
        if data:
            checks += [("PDF", c) for c in verify.verify_pdf(data, trusted)]
        bundle = signing.bundle_of(document)
        if bundle:
            checks.append(("FHIR", verify.verify_bundle(bundle, trusted)))
        return page(request, "ui/document_verify.html", document=document, checks=checks,
                    encounter_id=_document_encounter(document))
    return await run_in_threadpool(work)


def _gateway(request: Request):  # noqa: ANN202
    from benhan.outbox.sms import SmsGateway
    cfg = request.app.state.store.config
    return SmsGateway(cfg.sms_gateway_url, cfg.sms_gateway_key, cfg.sms_brandname)


def _document_encounter(document: dict) -> str:
    return next((x.get("reference", "").split("/", 1)[1] for x in
                 (document.get("context") or {}).get("encounter", []) if x.get("reference")), "")


async def otp_send(request: Request) -> Response:
    """Send the patient a code for confirming this signed document; the page to type it."""
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Provenance"))
    if request.method == "GET":
        return back("/")
    values = await form(request)
    lang = i18n.language(request)

    def work() -> Response:
        document = r.read("DocumentReference", request.path_params["id"]).json()
        eid = _document_encounter(document)
        try:
            challenge = confirmation.request(r, document["id"], values.get("phone", ""), _gateway(request).send,
                                             who=values.get("who", "patient"))
        except (errors.ConfirmationRefused, errors.SmsFailed) as exc:
            return _documents_page(request, r, eid, 400, error=_half(exc.message, lang))
        return page(request, "ui/otp.html", document=document, challenge=challenge, encounter_id=eid)
    return await run_in_threadpool(work)


async def otp_confirm(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Provenance"))
    if request.method == "GET":
        return back("/")
    values = await form(request)
    lang = i18n.language(request)

    def work() -> Response:
        document = r.read("DocumentReference", request.path_params["id"]).json()
        eid = _document_encounter(document)
        try:
            confirmation.confirm(r, r.actor, values.get("challenge", ""), values.get("code", ""))
        except errors.ConfirmationRefused as exc:
            challenge = confirmation.Challenge(values.get("challenge", ""), values.get("phone_masked", ""), None)  # type: ignore[arg-type]
            return page(request, "ui/otp.html", 400, document=document, challenge=challenge, encounter_id=eid,
                        error=_half(exc.message, lang))
        return back(f"/ui/encounters/{eid}/documents?confirmed={document['id']}")
    return await run_in_threadpool(work)
