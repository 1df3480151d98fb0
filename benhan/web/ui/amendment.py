"""Correcting a signed document in the clinician app (documents/amendment.py): "Sửa sau khi ký" on a
signed document asks for the reason and the token's PIN, builds the corrected version from the
record as it is now and signs it; the old version stays, shown as superseded. "Các bản đã ký"
verifies the whole chain: each version, who signed it and when, why it was corrected, and each link."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.auth import roles
from benhan.signing import trust
from benhan.web.lazy import lazy_module
from benhan.web import i18n
from benhan.web.ui.base import back, form, page, repo, require, require_act

# The PDF and signature stack at first use (web/lazy.py):
amendment = lazy_module("benhan.documents.amendment")
signing = lazy_module("benhan.documents.signing")
keys = lazy_module("benhan.signing.keys")


def _half(message: str, lang: str) -> str:
    """Refusals carry "Vietnamese | English": the reader's half."""
    vi, _, en = message.partition(" | ")
    return (en or vi) if lang == "en" else vi


def _encounter(document: dict) -> str:
    return next((x.get("reference", "").split("/", 1)[1] for x in
                 (document.get("context") or {}).get("encounter", []) if "/" in x.get("reference", "")), "")


async def amend(request: Request) -> Response:
    """GET: the form (reason, PIN); POST: the corrected version signed with the user's token."""
    r = repo(request)
    await run_in_threadpool(require, r, ("c", "DocumentReference"))
    require_act(r, roles.SIGN_DOCUMENT)
    doc_id = request.path_params["id"]
    values = await form(request) if request.method == "POST" else {}
    lang = i18n.language(request)

    def show(status: int = 200, error: str = "") -> Response:
        document = r.read("DocumentReference", doc_id).json()
        later = amendment.superseded_by(r, doc_id)
        return page(request, "ui/amend.html", status, document=document, encounter_id=_encounter(document),
                    superseded=later[-1] if later else None, reason=values.get("reason", ""), error=error)

    def work() -> Response:
        if request.method != "POST":
            return show()
        cfg = request.app.state.store.config
        try:
            # Checked before the token is opened: a missing reason or a replaced version costs no PIN.
            amendment.amendment_of(r, doc_id, values.get("reason", ""))
            module = str(cfg.pkcs11_module)
            if module in ("", "."):
                raise errors.ConfigError("pkcs11_module")
            cccd = signing.staff_cccd(r, r.actor)
            if not cccd:
                raise errors.CertificateRefused(i18n.translate("ui.sign.no_cccd", "vi") + " | "
                                                + i18n.translate("ui.sign.no_cccd", "en"))
            label = keys.find_token(module, f"CCCD:{cccd}")
            with keys.from_token(module, label, values.get("pin", ""), None) as key:
                done = amendment.amend_document(
                    r, r.actor, doc_id, key, trust.load(cfg.trust_dir), reason=values.get("reason", ""),
                    offline_policy=cfg.signing_offline, base_url=str(request.base_url),
                    facility_name=cfg.values.get("facility_name"))
        except errors.ConfigError:
            return show(400, i18n.translate("ui.sign.no_module", lang))
        except (errors.AmendmentRefused, errors.CertificateRefused, errors.SigningKeyUnavailable,
                errors.InvalidOperationParameter) as exc:
            return show(400, _half(exc.message, lang))
        eid = _encounter(r.read("DocumentReference", done.document_reference_id).json())
        return back(f"/ui/encounters/{eid}/documents?signed={done.document_reference_id}")
    return await run_in_threadpool(work)


async def chain(request: Request) -> Response:
    """Every signed version of the document, oldest first, each verified and each link checked."""
    def work() -> Response:
        r = repo(request)
        require(r, ("r", "DocumentReference"))
        document = r.read("DocumentReference", request.path_params["id"]).json()
        found = amendment.chain(r, document["id"], trust.load(request.app.state.store.config.trust_dir))
        return page(request, "ui/document_chain.html", document=document, chain=found,
                    encounter_id=_encounter(document))
    return await run_in_threadpool(work)
