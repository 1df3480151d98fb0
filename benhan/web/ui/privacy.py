"""Personal-data pages (Luật 91/2025, NĐ 356/2025; docs/security.md "Personal data"):
- the patient's consents per purpose (/ui/patients/{id}/privacy): record an opt-in with its
  evidence, see every consent and refusal, withdraw — the registration desk (Consent "c");
- the data-protection officer's page (/ui/privacy): the register of data-subject requests with their
  deadlines (overdue ones marked) and the breach records with their 72-hour notification deadline,
  each printable (/ui/privacy/breaches/{id}) — roles with the privilege `data-protection`.
The DPO's writes go through a repository acting as "<user> (dpo)": the register and the breach
records are not any patient's chart, so no chart permission is asked; every one is audited."""
from __future__ import annotations

from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.auth import breach, purposes, roles, subject_requests
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.web import authn
from benhan.web.templates import environment
from benhan.web.ui.base import back, form, page, repo, require, t, today, tz

DPO = "data-protection"
_FORM = ["GET", "POST"]


def _dpo_repo(request: Request) -> Repository:
    actor = authn.actor(request)
    if actor.access is not None and not roles.may_act(actor.roles, DPO):
        raise errors.Forbidden("your role is not the facility's data-protection officer")
    return Repository(request.app.state.store, Actor(name=f"{actor.name} (dpo)"[:120], kind="system",
                                                     source_address=actor.source_address, display=actor.display))


def _message(request: Request, exc: errors.BenhanError) -> str:
    key = {"people": "ui.privacy.err.people", "discovered": "ui.privacy.err.discovered",
           "occurred": "ui.privacy.err.occurred"}.get(exc.expression or "", "ui.privacy.err.form")
    return t(request, key)


def _half(request: Request) -> int:
    """0 for Vietnamese, 1 for English: which of a (vi, en) label pair to show."""
    from benhan.web import i18n
    return 0 if i18n.language(request) == "vi" else 1


# --- the patient's consents --------------------------------------------------------------------------
async def patient_privacy(request: Request) -> Response:
    pid = request.path_params["id"]
    r = repo(request)
    values = await form(request) if request.method == "POST" else {}

    def show(status: int = 200, error: str = "") -> Response:
        require(r, ("r", "Consent"))
        patient = r.read("Patient", pid).json()
        consents = purposes.of_patient(request.app.state.store, r, pid)
        decisions = {p: purposes.decide(request.app.state.store, pid, p) for p in purposes.CONSENT_PURPOSES}
        return page(request, "ui/privacy_patient.html", status, patient=patient, consents=consents,
                    decisions=decisions, labels=purposes.LABELS, methods=purposes.METHODS,
                    purposes_needing=purposes.CONSENT_PURPOSES, law=(purposes.TREATMENT, purposes.HEALTH_BOOK),
                    purpose_options=[(p, purposes.LABELS[p][_half(request)]) for p in purposes.CONSENT_PURPOSES],
                    method_options=[(x, t(request, f"ui.privacy.method.{x}")) for x in purposes.METHODS],
                    error=error, v=values)

    def work() -> Response:
        if request.method != "POST":
            return show()
        require(r, ("c", "Consent"))
        if values.get("withdraw"):
            found = r.read("Consent", values["withdraw"]).json()
            if (found.get("patient") or {}).get("reference") != f"Patient/{pid}":
                return show(400, t(request, "ui.privacy.err.form"))
            purposes.withdraw(r, values["withdraw"])
            return back(f"/ui/patients/{pid}/privacy?saved=withdrawn")
        purpose, method = values.get("purpose", ""), values.get("method", "")
        evidence = values.get("evidence", "").strip()
        if purpose not in purposes.CONSENT_PURPOSES or method not in purposes.METHODS:
            return show(400, t(request, "ui.privacy.err.purpose"))
        if not evidence:
            return show(400, t(request, "ui.privacy.err.evidence"))
        form_ref = {"contentType": "text/plain", "title": evidence, "creation": today(request).isoformat()}
        try:
            purposes.record(r, pid, purpose, method=method, form=form_ref)
        except errors.InvalidUserSetting:
            return show(400, t(request, "ui.privacy.err.purpose"))
        return back(f"/ui/patients/{pid}/privacy?saved=consent")
    return await run_in_threadpool(work)


# --- the data-protection officer ------------------------------------------------------------------
def _dpo_page(request: Request, r: Repository, status: int = 200, **extra: object) -> Response:
    on = today(request)
    for name, default in (("request_error", ""), ("breach_error", ""), ("bv", {})):
        extra.setdefault(name, default)
    requests = subject_requests.register(r)
    return page(request, "ui/privacy_dpo.html", status, requests=requests, on=on,
                kinds=subject_requests.KINDS, statuses=subject_requests.STATUSES,
                breaches=breach.all_breaches(r), sections=breach.SECTIONS,
                kind_options=[(k, v[1 + _half(request)]) for k, v in subject_requests.KINDS.items()], **extra)


async def dpo(request: Request) -> Response:
    def work() -> Response:
        return _dpo_page(request, _dpo_repo(request))
    return await run_in_threadpool(work)


async def new_request(request: Request) -> Response:
    values = await form(request) if request.method == "POST" else {}

    def work() -> Response:
        r = _dpo_repo(request)
        if request.method != "POST":
            return back("/ui/privacy")
        try:
            received = date.fromisoformat(values.get("received", ""))
        except ValueError:
            return _dpo_page(request, r, 400, request_error=t(request, "ui.privacy.err.received"), v=values)
        try:
            subject_requests.receive(r, kind=values.get("kind", ""), requester=values.get("requester", ""),
                                     received=received, description=values.get("description", ""),
                                     patient_id=values.get("patient", "").strip() or None)
        except (errors.InvalidUserSetting, errors.NotFound, errors.Gone):
            return _dpo_page(request, r, 400, request_error=t(request, "ui.privacy.err.request"), v=values)
        return back("/ui/privacy?saved=request#requests")
    return await run_in_threadpool(work)


async def answer_request(request: Request) -> Response:
    values = await form(request) if request.method == "POST" else {}

    def work() -> Response:
        r = _dpo_repo(request)
        if request.method != "POST":
            return back("/ui/privacy")
        try:
            subject_requests.answer(r, request.path_params["id"], status=values.get("status", ""),
                                    answer_text=values.get("answer", ""), evidence=values.get("evidence", ""))
        except (errors.InvalidUserSetting, errors.NotFound, errors.Gone):
            return _dpo_page(request, r, 400, request_error=t(request, "ui.privacy.err.answer"))
        return back("/ui/privacy?saved=answer#requests")
    return await run_in_threadpool(work)


async def new_breach(request: Request) -> Response:
    values = await form(request) if request.method == "POST" else {}

    def work() -> Response:
        r = _dpo_repo(request)
        if request.method != "POST":
            return back("/ui/privacy")
        try:
            bid = breach.record(r, {f: values.get(f, "") for f in breach.FIELDS},
                                author=authn.actor(request).display or authn.actor(request).name, tz=tz(request))
        except errors.InvalidUserSetting as exc:
            return _dpo_page(request, r, 400, breach_error=_message(request, exc), bv=values)
        return back(f"/ui/privacy/breaches/{bid}")
    return await run_in_threadpool(work)


async def breach_print(request: Request) -> Response:
    def work() -> Response:
        r = _dpo_repo(request)
        body = r.read("Composition", request.path_params["id"]).json()
        if breach.TYPE["code"] not in {c.get("code") for c in (body.get("type") or {}).get("coding", [])}:
            raise errors.NotFound("not a breach record")
        b = breach.from_composition(body)
        return page(request, "ui/privacy_breach.html", b=b, sections=breach.SECTIONS,
                    facility=request.app.state.store.config.values.get("facility_name") or "")
    return await run_in_threadpool(work)


def _retention_of(request: Request, encounter_id: str):  # noqa: ANN202
    """The visit's retention class and end date (TT 33/2025), for the visit page."""
    from benhan.clinical import retention
    return retention.of_visit(request.app.state.store, encounter_id)


# The visit page shows each record's retention (templates/ui/encounter.html, "retention").
environment().globals["retention_of"] = _retention_of

routes = [
    Route("/ui/patients/{id}/privacy", patient_privacy, methods=_FORM),
    Route("/ui/privacy", dpo),
    Route("/ui/privacy/requests", new_request, methods=_FORM),
    Route("/ui/privacy/requests/{id}", answer_request, methods=_FORM),
    Route("/ui/privacy/breaches", new_breach, methods=_FORM),
    Route("/ui/privacy/breaches/{id}", breach_print),
]
