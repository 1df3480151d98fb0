"""Signing in the clinician app: an encounter's signed documents (who signed, when, the status of the
certificate at signing), "Ký số" with the token's PIN (the token whose certificate is the user's, found
among those plugged into the server), the facility's seal added by the director ("Đóng dấu cơ sở"),
the patient's confirmation (a code by SMS, or a signature drawn on the screen), the signed PDF, and
"Kiểm tra chữ ký": every signature and confirmation of a document (docs/signatures.md)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.auth import roles
from benhan.clinical import visits
from benhan.web.lazy import lazy_module
from benhan.documents.composition import DOCUMENT_TYPES
from benhan.signing import trust
from benhan.web import i18n
from benhan.web.ui.base import back, form, may, may_act, page, repo, require, require_act

# The PDF and signature stack at first use (web/lazy.py):
confirmation = lazy_module("benhan.documents.confirmation")
paper_docs = lazy_module("benhan.documents.paper")
sealing = lazy_module("benhan.documents.seal")
signing = lazy_module("benhan.documents.signing")
verify = lazy_module("benhan.documents.verify")
keys = lazy_module("benhan.signing.keys")


def _half(message: str, lang: str) -> str:
    """Signing refusals carry "Vietnamese | English": the reader's half."""
    vi, _, en = message.partition(" | ")
    return (en or vi) if lang == "en" else vi


def _documents_page(request: Request, r, eid: str, status: int = 200, **extra) -> Response:  # noqa: ANN001
    encounter = r.read("Encounter", eid).json()
    listed = signing.signed_documents(r, eid)
    # A sealed version stands for the author's version it appends the seal to: one row per paper.
    superseded = {sealing.sealed_from(d) for d in listed}
    documents = [d for d in listed if d["id"] not in superseded]
    # A version a correction replaces is kept for the record but is no longer the one to confirm.
    replaced = {rel.get("target", {}).get("reference", "").removeprefix("DocumentReference/")
                for d in documents for rel in d.get("relatesTo") or [] if rel.get("code") == "replaces"}
    sms = bool(request.app.state.store.config.sms_gateway_url)
    confirmed = {d["id"]: confirmation.confirmations(r, d["id"], follow=True) for d in documents}
    phone = confirmation.patient_phone(r, documents[0]) if documents and sms and _may_sign(r) else ""
    can_seal = _may_seal(r)
    to_seal = {d["id"] for d in documents if can_seal and sealing.needs_seal(d, listed)}
    from benhan.documents import recheck     # signatures made offline: still unchecked, or the later check's verdict
    rechecks = {d["id"]: recheck.state_of(r, d["id"]) for d in documents}
    reports = _result_reports(r, eid)
    if may(r, "s", "Consent") and may(r, "s", "Procedure"):     # each consent and procedure sheet by itself
        from benhan.clinical import consent
        reports.update(consent.signable(r, encounter))
    if may(r, "s", "Procedure"):            # each blood unit's transfusion sheet by itself
        from benhan.clinical import transfusion
        reports.update(transfusion.signable(r, encounter))
    return page(request, "ui/documents.html", status, enc=encounter, documents=documents,
                forms=_sign_choices(r, encounter) + list(reports), sign_labels=reports, can_sign=_may_sign(r),
                sms=sms, confirmed=confirmed, phone=phone,
                to_seal=to_seal, rechecks=rechecks, replaced=replaced, done=request.query_params.get("signed", ""),
                otp_done=request.query_params.get("confirmed", ""), sealed=request.query_params.get("sealed", ""),
                **extra)


RESULT_SHEETS = ("labresult", "imagingresult")     # signed once per report (documents.forms.results)


def _result_reports(r, eid: str) -> dict[str, str]:  # noqa: ANN001
    """"labresult:<id>" / "imagingresult:<id>" → what the report is of and when, for each result of the visit."""
    if not may(r, "s", "DiagnosticReport"):
        return {}
    from benhan.clinical.common import vn_datetime
    found = r.search_all("DiagnosticReport", [("encounter", f"Encounter/{eid}")])
    out = {}
    for report in sorted((m.json() for m in found), key=lambda x: x.get("issued", "")):
        lab = any(c.get("code") == "LAB" for cat in report.get("category", []) for c in cat.get("coding", []))
        out[f"{RESULT_SHEETS[0 if lab else 1]}:{report['id']}"] = " ".join(
            x for x in ((report.get("code") or {}).get("text", ""), vn_datetime(report.get("issued"))) if x)
    return out


def _sign_choices(r, encounter: dict) -> list[str]:  # noqa: ANN001
    """The documents to sign: each form, and the treatment and nursing sheets once per day with an entry
    ("treatment-day:2026-12-15"), the days read from the visit's record."""
    per_day = {"treatment-day": "progress", "nursing-day": "nursing"}
    choices = [f for f in DOCUMENT_TYPES if f not in per_day and f not in RESULT_SHEETS]
    if visits.is_inpatient(encounter) and may(r, "r", "ClinicalImpression"):
        from benhan.clinical import chart
        from benhan.documents.forms import sheets
        rec = chart.visit(r, encounter, r.read("Patient", encounter["subject"]["reference"].split("/")[1]).json())
        choices += [f"{key}:{day}" for key, kind in per_day.items() for day in sheets.signable_days(rec, kind)]
    return choices


def _tsa(cfg):  # noqa: ANN001, ANN202 - the facility's TSA (signing_tsa_url), None when not configured
    from benhan.documents import timestamping
    return timestamping.configured(cfg)


def _may_seal(r) -> bool:  # noqa: ANN001
    return may(r, "c", "DocumentReference") and may(r, "c", "Provenance") and may_act(r, roles.SEAL_DOCUMENT)


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
                    facility_name=cfg.values.get("facility_name"), tsa=_tsa(cfg))
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
    """Every signature on the document: the author's and the facility's seal (in the PDF and over the
    FHIR document), the patient's confirmations; for each who, when, the certificate and its status at
    signing, and whether the document changed since."""
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "DocumentReference"))
        document = r.read("DocumentReference", request.path_params["id"]).json()
        trusted = trust.load(request.app.state.store.config.trust_dir)
        checks = []
        data = signing.pdf_of(document)
        if data:
            checks += [("seal" if c.sig_field.startswith("seal-") else "author", "PDF", c)
                       for c in verify.verify_pdf(data, trusted)]
        bundle = signing.bundle_of(document)
        if bundle:
            checks.append(("author", "FHIR", verify.verify_bundle(bundle, trusted)))
            seal_sig = sealing.seal_signature(r, document["id"])
            if seal_sig:
                checks.append(("seal", "FHIR", verify.verify_bundle({**bundle, "signature": seal_sig}, trusted)))
        confirmed = [(c, confirmation.unchanged_since(r, c, data))
                     for c in confirmation.confirmations(r, document["id"], follow=True)]
        from benhan.documents import recheck
        return page(request, "ui/document_verify.html", document=document, checks=checks, confirmed=confirmed,
                    encounter_id=_document_encounter(document), recheck=recheck.state_of(r, document["id"]))
    return await run_in_threadpool(work)


async def seal(request: Request) -> Response:
    """"Đóng dấu cơ sở": the facility's seal (its PKCS#12 file) added to a signed document."""
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "DocumentReference"))
    require_act(r, roles.SEAL_DOCUMENT)
    if request.method == "GET":
        return back("/")
    await form(request)
    lang = i18n.language(request)

    def work() -> Response:
        cfg = request.app.state.store.config
        document = r.read("DocumentReference", request.path_params["id"]).json()
        eid = _document_encounter(document)
        try:
            key = paper_docs.facility_seal(cfg)
            done = sealing.seal_document(r, r.actor, document["id"], key, trust.load(cfg.trust_dir),
                                         offline_policy=cfg.signing_offline,
                                         facility_name=cfg.values.get("facility_name"), tsa=_tsa(cfg))
        except errors.SealNotConfigured:
            return _documents_page(request, r, eid, 409, error=i18n.translate("ui.seal.not_configured", lang))
        except (errors.CertificateRefused, errors.SigningKeyUnavailable, errors.InvalidOperationParameter) as exc:
            return _documents_page(request, r, eid, 400, error=_half(exc.message, lang))
        return back(f"/ui/encounters/{eid}/documents?sealed={done.document_reference_id}")
    return await run_in_threadpool(work)


async def pad_page(request: Request) -> Response:
    """"Ký trên màn hình": the patient signs with a finger (or the mouse) on the tablet; the drawing is
    kept as their electronic confirmation (documents.confirmation), never as a digital signature."""
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "Provenance"))      # as for the code by SMS
    lang = i18n.language(request)

    def show(document: dict, status: int = 200, error: str = "", values: dict | None = None) -> Response:
        return page(request, "ui/pad.html", status, document=document, error=error, v=values or {},
                    encounter_id=_document_encounter(document))

    if request.method == "GET":
        return await run_in_threadpool(
            lambda: show(r.read("DocumentReference", request.path_params["id"]).json()))
    values = await form(request)

    def work() -> Response:
        document = r.read("DocumentReference", request.path_params["id"]).json()
        try:
            confirmation.confirm_by_pad(r, r.actor, document["id"], values.get("signature", ""),
                                        device=values.get("device", ""),
                                        user_agent=request.headers.get("user-agent", ""),
                                        who=values.get("who", "patient"))
        except errors.ConfirmationImageRefused as exc:
            return show(document, 400, _half(exc.message, lang), {k: values.get(k, "") for k in ("device", "who")})
        return back(f"/ui/encounters/{_document_encounter(document)}/documents?confirmed={document['id']}")
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
