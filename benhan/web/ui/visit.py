"""The visit page (the chart of one encounter) and the forms posted from it: vital signs, the
record, diagnoses, allergies, orders and results, prescriptions, daily notes, discharge.

Every form posts back to its own URL; a refused form re-renders the page with the message beside
each field and everything typed kept (status 400); a saved one redirects to the page (303) with
`saved=<form>` so the draft script forgets that form's draft. A GET on a form's URL — after a
lost session, the login returns there — goes back to the page, where the draft is restored."""
from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.auth import roles
from benhan.clinical import (admission, allergies, chart, diagnoses, discharge, notes, orders, outcome, prescriptions,
                             procedures, record, signers, transfers, visits, vitals)
from benhan.clinical import consent, referral
from benhan.clinical import traditional_medicine
from benhan.clinical import transfusion
from benhan.clinical.catalogue import lookup
from benhan.clinical import dx_ranking
from benhan.clinical.common import FormInvalid, age_on, now, ref_id
from benhan.clinical.corrections import EDITABLE, is_cancelled
from benhan.lab import validation as lab_validation
from benhan.store.repository import Repository
from benhan.vn import display
from benhan.web import i18n
from benhan.web.ui import specialty as specialty_ui
from benhan.web.ui import referral as referral_ui
from benhan.web.ui import sick_leave as sick_leave_ui
from benhan.web.ui import svg
from benhan.web.ui import traditional
from benhan.web.ui.base import (back, chart_gate, form, may, may_act, messages, page, repo, require, require_act, today,
                                tz, warnings)


# The table shows the latest rounds; the trend charts show the whole visit (all earlier rounds
# stay in the record and on the patient page): keeps a long stay's page within its 60 KB budget.
RECENT_READINGS = 8
# Likewise the latest progress and nursing notes; "earlier notes" shows them all (and the 01/BV1
# printout always holds every one).
RECENT_NOTES = 10
# The order form lists this many services (imaging and procedures) at first; Find (or typing, with the script)
# narrows a longer catalogue.
ORDER_LIST = 150


def _load(r: Repository, encounter_id: str) -> tuple[dict, dict]:
    encounter = r.read("Encounter", encounter_id).json()
    pid = ref_id(encounter.get("subject"))
    if not pid:
        raise errors.NotFound("this encounter has no patient")
    return encounter, r.read("Patient", pid).json()


def _signed_forms(r: Repository, encounter_id: str) -> dict[str, dict]:
    """The newest signed version of each of the visit's papers, by form key: the visit page says
    "Đã ký số bởi …" beside the printout (TT 13/2025: the signing state visible where the paper is)."""
    from benhan.documents import composition, signing
    by_loinc: dict[str, str] = {}
    for key, (code, _) in composition.DOCUMENT_TYPES.items():     # several forms share a type: its first
        by_loinc.setdefault(code, key)
    out: dict[str, dict] = {}
    for d in signing.signed_documents(r, encounter_id):          # newest first
        key = next((c.get("code", "") for cat in d.get("category", []) for c in cat.get("coding", [])
                    if c.get("system") == signing.FORM_KEY_SYSTEM), "")
        key = key or next((by_loinc.get(c.get("code")) for c in (d.get("type") or {}).get("coding", [])), "") or ""
        if key and key not in out:
            out[key] = {"by": (d.get("author") or [{}])[0].get("display", ""), "date": d.get("date", ""),
                        "sealed": bool(d.get("authenticator"))}
    return out


def _render(request: Request, r: Repository, encounter_id: str, status: int = 200, section: str = "",
            v: dict | None = None, errs: dict | None = None, warns: list[str] | None = None,
            dx_results: list | None = None, order_found: list | None = None) -> Response:
    encounter = r.read("Encounter", encounter_id).json()
    pid = ref_id(encounter.get("subject"))
    if not pid:
        raise errors.NotFound("this encounter has no patient")
    facts = chart.patient_facts(r, pid)
    patient = facts.patient
    rec = chart.visit(r, encounter, patient, facts)
    b = chart.banner(r, patient, today(request), facts)
    drugs = prescriptions.catalogue(r) if may(r, "c", "MedicationRequest") else []
    day = today(request)
    finished = encounter.get("status") == "finished"
    order_services: list = []
    if may(r, "c", "ServiceRequest") and not finished:
        if order_found is not None:      # what Find (or a typed name) matched
            order_services = [(k, [s for s in order_found if s.group in g]) for k, g in orders.GROUPS.items()]
        else:
            offered = lookup.services_on(r, day, "", orders.ORDERABLE, limit=ORDER_LIST)
            order_services = [(k, [s for s in offered if s.group in g]) for k, g in orders.GROUPS.items()]
    allergy_choices = (allergies.choices(prescriptions.ingredient_names(drugs))
                       if may(r, "c", "AllergyIntolerance") else [])
    # A transfer (the referral slip's ServiceRequest) is the referral card's, not an order awaiting results.
    pending = [o for o in rec.orders if o.get("status") == "active" and not referral.is_referral(o)]
    results = []
    for o in (o for o in rec.orders if not referral.is_referral(o)):
        report = chart.report_for(o["id"], rec.reports)
        results.append((o, report, orders.result_rows(report, rec.lab_results) if report else []))
    notes_shown = rec.notes if request.query_params.get("notes") == "all" else rec.notes[-RECENT_NOTES:]
    stay = _stay(r, encounter, rec, i18n.language(request)) if visits.is_inpatient(encounter) else {}
    signed = _signed_forms(r, encounter_id) if may(r, "s", "DocumentReference") else {}
    lab_flags = lab_validation.open_flags(r, encounter_id) if may(r, "r", "Flag") else []
    return page(request, "ui/encounter.html", status, banner=b, enc=encounter, rec=rec, signed=signed, lab_flags=lab_flags,
                technical_by=lab_validation.technical_by,
                notes_shown=notes_shown, notes_earlier=len(rec.notes) - len(notes_shown),
                readings=vitals.readings(rec.vital_signs)[-RECENT_READINGS:], vital_fields=vitals.VITALS,
                trend=svg.trends(rec.vital_signs, i18n.language(request)),
                dx=diagnoses.listed(encounter, rec.conditions), record_texts=record.texts(rec.record),
                sections=record.SECTIONS, summary_sections=discharge.SUMMARY,
                summary_texts=discharge.summary_texts(rec.summary), drugs=drugs, routes=prescriptions.ROUTES,
                lab_choices=[(k, display.unit(text)) for k, text in orders.lab_choices()], pending=pending, results=results,
                order_services=order_services, order_found=order_found, order_list=ORDER_LIST,
                service_code=orders.service_code, not_in_catalogue=orders.not_in_catalogue,
                allergy_choices=allergy_choices, allergy_coded=allergies.is_coded, day=day,
                tests_of=orders.tests_of, result_field=orders.result_field, kind_of=orders.kind_of,
                # Whom a lab result names as its validating doctor (only when a lab order awaits results).
                result_staff=procedures.practitioners(r) if may(r, "c", "DiagnosticReport") and any(
                    o.get("status") == "active" and orders.kind_of(o) == "lab" for o, _, _ in results) else [],
                note_kind=notes.kind_of, drug_of=prescriptions.drug_of, results_map=discharge.RESULTS,
                dispositions=discharge.DISPOSITIONS, result_code=discharge.result_of(encounter),
                disposition_code=discharge.disposition_of(encounter), inpatient=visits.is_inpatient(encounter),
                editable=EDITABLE, cancelled=is_cancelled, allergy_substance=allergies.substance,
                may=lambda letter, t: may(r, letter, t), section=section, v=v or {}, errors=errs or {},
                warnings=warns or [], dx_results=dx_results, saved=request.query_params.get("saved", ""),
                dx_chosen=diagnoses.chosen(r, (v or {}).get("dx_code", "")) if section == "diagnoses" else [],
                dx_has_main=diagnoses.has_main(diagnoses.listed(encounter, rec.conditions), "DD" if finished else "AD"),
                icd10_loaded=not may(r, "c", "Condition") or dx_ranking.loaded(r),
                finished=finished, can_discharge=may(r, "u", "Encounter") and may_act(r, roles.DISCHARGE),
                can_close=(may(r, "u", "Encounter") and may_act(r, roles.CLOSE_VISIT)
                           and encounter.get("status") in discharge.CLOSABLE),
                can_progress=may_act(r, roles.PROGRESS_NOTE), stay=stay, outcome=outcome,
                death=outcome.death_of(encounter), transfer_out=outcome.transfer_out_of(encounter),
                out_options={k: [(c, names[0 if i18n.language(request) == "vi" else 1]) for c, names in codes.items()]
                             for k, codes in (("levels", outcome.LEVELS), ("circumstances", outcome.CIRCUMSTANCES),
                                              ("autopsy", outcome.AUTOPSY), ("pathology", outcome.PATHOLOGY))},
                pathology=outcome.pathology_of(encounter),
                yhct_card=traditional.card(r, encounter, patient, rec.record, i18n.language(request)),
                consent_card=_consent_card(r, encounter, patient, i18n.language(request)),
                transfusion_card=_transfusion_card(r, encounter, i18n.language(request)),
                infusion_card=_infusion_card(r, encounter),
                fluid_card=_fluid_card(r, encounter, tz(request)),
                bed_card=_bed_card(r, encounter),
                care_plan_card=_care_plan_card(r, encounter),
                sick_leave_card=sick_leave_ui.card(r, encounter),
                referral_card=referral_ui.card(r, encounter, rec),
                summary_missing=_summary_missing(encounter, rec),
                summary_values={discharge.field_name(k): x for k, x in discharge.summary_texts(rec.summary).items()})


def _summary_missing(encounter: dict, rec) -> list:  # noqa: ANN001 - a chart.Visit
    """The parts of the summary the VNeID health book still waits for, on a visit a doctor ended
    (an administrative close has no summary to write)."""
    from benhan.clinical import closing_summary
    if encounter.get("status") != "finished" or not discharge.result_of(encounter):
        return []
    gaps = closing_summary.missing(rec.summary)
    return [s for s in discharge.SUMMARY if s.code in gaps]


def _consent_card(r: Repository, encounter: dict, patient: dict, lang: str) -> dict:
    """What the consent card shows (01/BV2, clinical.consent): the visit's consents and, to whom may
    record one, the choices of its form."""
    li = 0 if lang == "vi" else 1
    given = consent.of_visit(r, encounter) if may(r, "r", "Consent") else []
    may_add = may(r, "c", "Consent") and may_act(r, roles.PROGRESS_NOTE)

    def options(codes: dict) -> list[tuple[str, str]]:
        return [(code, names[li]) for code, names in codes.items()]

    def describe(c: dict) -> str:
        s = consent.signer(c, patient)
        who = s.name if s.is_patient else f"{s.name} ({s.relation})"
        decided = consent.DECISIONS.get(consent.decision(c), ("", ""))[li]
        kind = "" if consent.kind(c) == consent.SURGERY else consent.kind(c).replace("-", "/")
        return " — ".join(x for x in (kind, consent.procedure_name(c), decided, who) if x)
    return {"given": [(c, describe(c), consent.form_key(c)) for c in given], "may_add": may_add,
            "kinds": [(k, f"{k.replace('-', '/')} {names[0 if li == 0 else 2]}") for k, names in consent.KINDS.items()
                      if k != consent.SURGERY],
            "informed": options(consent.INFORMED),
            "targets": consent.choices(r, encounter["id"]) if may_add else [],
            "staff": procedures.practitioners(r) if may_add else [],
            "levels": options(consent.LEVELS), "explained": options(consent.EXPLAINED),
            "anaesthesia": options(procedures.ANAESTHESIA), "relations": options(consent.RELATIONS),
            "decisions": options(consent.DECISIONS)}


def _transfusion_card(r: Repository, encounter: dict, lang: str) -> dict:
    """What the transfusion card shows (clinical.transfusion): the units given and, to whom may record
    one (a nurse or a doctor on an inpatient stay), the choices of its form."""
    from benhan.clinical.common import vn_datetime
    if not visits.is_inpatient(encounter):
        return {}
    li = 0 if lang == "vi" else 1
    given = transfusion.of_visit(r, encounter["id"]) if may(r, "r", "Procedure") else []
    may_add = may(r, "c", "Procedure") and may(r, "c", "Observation")

    def describe(p: dict) -> str:
        period = p.get("performedPeriod") or {}
        return " — ".join(x for x in (transfusion.product(p), transfusion.bag(p),
                                      " → ".join(vn_datetime(x) for x in (period.get("start"), period.get("end")) if x),
                                      transfusion.reaction(p)) if x)
    return {"given": [(p, describe(p)) for p in given], "may_add": may_add, "rows": transfusion.CHECK_ROWS,
            "products": [(k, names[li]) for k, names in ((k, v[:2]) for k, v in transfusion.PRODUCTS.items())],
            "groups": [(k, names[0]) for k, names in transfusion.GROUPS.items()],
            "checks": [(k, names[li]) for k, names in transfusion.CHECKS.items()],
            "staff": procedures.practitioners(r) if may_add else []}


def _bed_card(r: Repository, encounter: dict) -> dict:
    from benhan.web.ui import ward      # the bed card (clinical.beds): ward.py owns it
    return ward.card(r, encounter)


def _care_plan_card(r: Repository, encounter: dict) -> dict:
    from benhan.web.ui import care_plan as care_plan_ui     # the nursing care plan card: care_plan.py owns it
    return care_plan_ui.card(r, encounter)


def _fluid_card(r: Repository, encounter: dict, offset: str) -> dict:
    from benhan.web.ui import fluids     # the fluid-balance card (clinical.fluids): fluids.py owns it
    return fluids.card(r, encounter, offset)


def _infusion_card(r: Repository, encounter: dict) -> dict:
    """07/BV2 (clinical.infusion): the stay's bottles as the sheet's rows, and who may record one."""
    if not visits.is_inpatient(encounter) or not may(r, "r", "MedicationAdministration"):
        return {"given": [], "may_add": False, "staff": []}
    from benhan.clinical import infusion
    may_add = may(r, "c", "MedicationAdministration")
    names = dict(procedures.practitioners(r))
    rows = _infusion_rows(infusion.of_visit(r, encounter["id"]), names)
    return {"given": rows, "may_add": may_add, "staff": procedures.practitioners(r) if may_add else []}


def _infusion_rows(items: list[dict], names: dict[str, str]) -> list[list[str]]:
    from benhan.clinical import infusion
    from benhan.clinical.common import vn_datetime
    out = []
    for item in items:
        period = item.get("effectivePeriod") or {}
        nurse = infusion.performer(item, infusion.NURSE) or {}
        out.append([vn_datetime(period.get("start")), infusion.fluid(item), display.number(infusion.volume(item)),
                    infusion.lot(item), display.number(infusion.rate(item)), vn_datetime(period.get("end")),
                    names.get(ref_id(nurse) or "", nurse.get("display", ""))])
    return out


def _stay(r: Repository, encounter: dict, rec: chart.VisitRecord, lang: str) -> dict:
    """What the admission, transfers and procedures cards show (inpatient visits)."""
    rooms = visits.locations(r)
    procs = procedures.of_visit(r, encounter["id"]) if may(r, "r", "Procedure") else []
    may_add_proc = may(r, "c", "Procedure")
    li = 0 if lang == "vi" else 1
    stays = transfers.stays(encounter, dict(rooms))
    names = signers.practitioner_names(r, [x.get("actor") for p in procs for x in p.get("performer", [])])

    def describe(p: dict) -> str:
        return procedures.describe(p, names)
    here = stays[-1].location_id if stays else ""

    def options(codes: dict) -> list[tuple[str, str]]:
        return [(code, names[li]) for code, names in codes.items()]
    return {"options": {"routes": options(admission.ROUTES), "sources": options(admission.SOURCES),
                        "kinds": options(procedures.KINDS), "anaesthesia": options(procedures.ANAESTHESIA),
                        "classes": options(procedures.CLASSES),
                        "complication_kinds": options(procedures.COMPLICATIONS),
                        "procedures": [(p["id"], describe(p)) for p in procs]},
            "transfer_rooms": [(lid, name) for lid, name in rooms if lid != here],
            "admission": admission.of(encounter),
            "admission_values": admission.of(encounter).values(encounter.get("hospitalization") or {}),
            "routes": admission.ROUTES, "sources": admission.SOURCES,
            "stays": stays,
            "procedures": procs, "describe": describe, "kind_of": procedures.kind_of,
            "complications": procedures.complications(rec.conditions), "complication_text": procedures.complication_text,
            "kinds": procedures.KINDS, "anaesthesia": procedures.ANAESTHESIA, "complication_kinds": procedures.COMPLICATIONS,
            "staff": procedures.practitioners(r) if may_add_proc else [], "may_add_proc": may_add_proc,
            "specialty": specialty_ui.card(r, encounter, lang)}


async def encounter_page(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        chart_gate(r)
        return _render(request, r, request.path_params["id"])
    return await run_in_threadpool(work)


def _post(section: str, needs: tuple[str, str], action: Callable[[Request, Repository, dict, dict, dict], None],
          acts: tuple[str, ...] = (), *, open_only: bool = False):  # noqa: ANN202
    """A form handler: gate (the type permission `needs`, and one of `acts` when given), CSRF, run
    `action(request, repo, encounter, patient, values)`; on FormInvalid re-render with the
    messages; on success back to the page at the section. `open_only`: the page offers this form
    only while the visit is open (vital signs, orders, prescriptions, progress notes); sent for a
    visit that has ended (a page left open since, a second tab), it is refused, nothing written."""
    async def handler(request: Request) -> Response:
        eid = request.path_params["id"]
        r = repo(request)
        await run_in_threadpool(require, r, needs)
        if acts:
            require_act(r, *acts)
        if request.method == "GET":
            return back(f"/ui/encounters/{eid}#{section}")
        values = await form(request)

        def work() -> Response:
            encounter, patient = _load(r, eid)
            try:
                if open_only and encounter.get("status") == "finished":
                    raise FormInvalid({"form": ("ui.err.visit_finished", {})})
                action(request, r, encounter, patient, values)
            except FormInvalid as exc:
                return _render(request, r, eid, 400, section, values, messages(request, exc), warnings(request, exc))
            except errors.VersionConflict:
                return _render(request, r, eid, 409, section, values,
                               {"form": i18n.translate("ui.err.conflict", i18n.language(request))})
            except _Find as found:
                return _render(request, r, eid, 200, section, values, **{found.target: found.results})
            except orders.ServiceMatches as found:
                return _render(request, r, eid, 200, section, values, order_found=found.found)
            return back(f"/ui/encounters/{eid}?saved={section}#{section}")
        return await run_in_threadpool(work)
    return handler


class _Find(Exception):
    def __init__(self, results: list, target: str = "dx_results"):
        self.results = results
        self.target = target


def _progress(r: Repository, request: Request, encounter: dict) -> dict:
    return visits.mark_in_progress(r, r.actor, encounter)


def _vitals(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    vitals.record(r, r.actor, patient["id"], encounter["id"], v, now(tz(request)).isoformat())
    _progress(r, request, encounter)


def _record(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    rec = chart.visit(r, encounter, patient).record
    record.save(r, r.actor, patient["id"], encounter["id"], v, rec, v.get("reason", ""), tz(request))
    _progress(r, request, encounter)


def _diagnosis(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    if v.get("action") == "find":
        lang = i18n.language(request)
        found = diagnoses.search(r, v.get("dx_query", ""), lang)
        if not found:
            found = diagnoses.search(r, v.get("dx_query", ""), "en" if lang == "vi" else "vi")
        raise _Find(found)
    diagnoses.add(r, r.actor, encounter, v.get("dx_code", ""), v.get("dx_rank", ""), v.get("dx_role", ""),
                  v.get("dx_note", ""), tz(request), patient=patient, confirm=v)


def _allergy(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    allergies.add(r, r.actor, patient["id"], encounter["id"], v.get("allergy_substance", ""),
                  v.get("allergy_category", ""), v.get("allergy_criticality", ""), v.get("allergy_reaction", ""),
                  tz(request), prescriptions.ingredient_names(prescriptions.catalogue(r)))


def _order(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    kind = v.get("order_kind", "")
    if v.get("action") == "find":
        kinds = [kind] if kind in orders.GROUPS else list(orders.GROUPS)
        raise _Find([s for k in kinds for s in orders.services(r, k, today(request), v.get("order_query", ""))],
                    "order_found")
    orders.place(r, r.actor, encounter, kind, v, tz(request), today(request))
    _progress(r, request, encounter)


def _results(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    order = r.read("ServiceRequest", v.get("order", "x") or "x").json()
    if ref_id(order.get("encounter")) != encounter["id"]:
        raise errors.NotFound("that order is not of this visit")
    orders.enter_results(r, r.actor, order, patient.get("gender") == "female", v, tz(request),
                         birth_date=patient.get("birthDate"))


def _prescription(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    rec = chart.visit(r, encounter, patient)
    prescriptions.prescribe(r, r.actor, encounter, v, rec.allergies, rec.prescriptions, tz(request),
                            age=age_on(patient.get("birthDate"), today(request)),
                            weight_kg=prescriptions.latest_weight(rec.vital_signs))
    _progress(r, request, encounter)


def _note(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    if v.get("note_kind") == "progress":
        # The treatment sheet holds the doctor's course and orders: a nurse writes the care sheet.
        require_act(r, roles.PROGRESS_NOTE)
    notes.add(r, r.actor, encounter, v.get("note_kind", ""), v.get("note_course", ""), v.get("note_orders", ""),
              tz(request), care=v.get("note_care_level", ""), diet_text=v.get("note_diet", ""))


def _discharge(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    if may_act(r, roles.DISCHARGE):
        discharge.discharge(r, r.actor, encounter, v, tz(request))
        return
    # The front desk (CLOSE_VISIT, checked by the gate): an administrative close, never an outcome.
    if discharge.has_outcome(v):
        require_act(r, roles.DISCHARGE)
    discharge.close(r, r.actor, encounter, tz(request))


def _closing_summary(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    """The summary written or completed after the close (the VNeID health book waits for it)."""
    from benhan.clinical import closing_summary
    closing_summary.write(r, r.actor, encounter, v, chart.visit(r, encounter, patient).summary, tz(request))


def _admission(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    admission.record(r, r.actor, encounter, v)


def _transfer(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    fac = visits.facility(r, request.app.state.store.config.values.get("facility_name"))
    transfers.transfer(r, r.actor, encounter, v.get("transfer_to", ""), fac, tz(request),
                       bed_id=v.get("transfer_bed", ""))


def _procedure(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    procedures.add(r, r.actor, encounter, v, tz(request))
    _progress(r, request, r.read("Encounter", encounter["id"]).json())


def _consent(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    fac = visits.facility(r, request.app.state.store.config.values.get("facility_name"))
    consent.record(r, r.actor, encounter, patient, v, fac.organization_id, tz(request))


def _transfusion(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    if not visits.is_inpatient(encounter):      # the card is on inpatient stays only
        raise FormInvalid({"form": ("ui.tx.err.inpatient", {})})
    transfusion.record(r, r.actor, encounter, v, tz(request))


def _infusion(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    if not visits.is_inpatient(encounter):      # the card is on inpatient stays only
        raise FormInvalid({"form": ("ui.tx.err.inpatient", {})})
    from benhan.clinical import infusion
    infusion.record(r, r.actor, encounter, v, tz(request))


def _consent_paper(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    """40, 41, 45, 46/BV2: the form's paper_* fields are clinical.consent's consent_* ones (two forms on
    one page, no id repeated); a refusal names the paper's own fields back."""
    fac = visits.facility(r, request.app.state.store.config.values.get("facility_name"))
    values = {"consent_" + k.removeprefix("paper_"): x for k, x in v.items() if k.startswith("paper_")}
    values["consent_kind"] = values.get("consent_kind") or "?"          # never the 01/BV2 default
    try:
        consent.record(r, r.actor, encounter, patient, values, fac.organization_id, tz(request))
    except FormInvalid as exc:
        raise FormInvalid({"paper_" + k.removeprefix("consent_"): e for k, e in exc.errors.items()},
                          exc.warnings) from None


def _traditional(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    """The YHCT part of the record (18/BV1, 19/BV1): saved into the same record Composition."""
    rec = chart.visit(r, encounter, patient).record
    traditional_medicine.save(r, r.actor, encounter, v, rec, v.get("y_reason", ""), tz(request))


def _complication(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    procedures.add_complication(r, r.actor, encounter, v, procedures.of_visit(r, encounter["id"]), tz(request))


vitals_post = _post("vitals", ("c", "Observation"), _vitals, open_only=True)
admission_post = _post("admission", ("u", "Encounter"), _admission)
transfer_post = _post("admission", ("u", "Encounter"), _transfer)
procedure_post = _post("procedures", ("c", "Procedure"), _procedure)
complication_post = _post("procedures", ("c", "Condition"), _complication)
# A consent is the doctor's (the one who explained, and whose name it carries), not the front desk's.
consent_post = _post("consent", ("c", "Consent"), _consent, (roles.PROGRESS_NOTE,))
consent_paper_post = _post("consent-paper", ("c", "Consent"), _consent_paper, (roles.PROGRESS_NOTE,))
# A unit of blood given: the nurse's (or the doctor's) record, with the readings taken during it.
transfusion_post = _post("transfusion", ("c", "Procedure"), _transfusion)
# A bottle of infusion (07/BV2): the nurse's record.
infusion_post = _post("infusion", ("c", "MedicationAdministration"), _infusion)
record_post = _post("record", ("c", "Composition"), _record)
traditional_post = _post("traditional", ("c", "Composition"), _traditional)
diagnosis_post = _post("diagnoses", ("c", "Condition"), _diagnosis)
def _lab_flag(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    """The doctor has seen a critical value (benhan/lab/critical.py): the Flag ends, audited."""
    flag = r.read("Flag", (v.get("flag") or "").strip() or "-").json()
    if ref_id(flag.get("encounter")) != encounter["id"]:
        raise errors.NotFound("no such critical-value flag on this visit")
    try:
        lab_validation.acknowledge(r, r.actor, flag["id"], tz(request))
    except lab_validation.ValidationRefused:
        pass        # acknowledged meanwhile (another tab, a colleague): nothing more to do


lab_flag_post = _post("lab-flags", ("u", "Flag"), _lab_flag)


def _lab_medical(request: Request, r: Repository, encounter: dict, patient: dict, v: dict) -> None:
    """The doctor's medical validation of an analyser's results, after the technician's (benhan/lab)."""
    report = r.read("DiagnosticReport", (v.get("report") or "").strip() or "-").json()
    if ref_id(report.get("encounter")) != encounter["id"]:
        raise errors.NotFound("no such report on this visit")
    try:
        lab_validation.medical(r, r.actor, report["id"], tz=tz(request))
    except lab_validation.ValidationRefused as exc:
        raise FormInvalid({"form": (exc.key, {})}) from None


lab_medical_post = _post("orders", ("u", "DiagnosticReport"), _lab_medical)
allergy_post = _post("allergies", ("c", "AllergyIntolerance"), _allergy)
order_post = _post("orders", ("c", "ServiceRequest"), _order, open_only=True)
results_post = _post("orders", ("c", "DiagnosticReport"), _results)
prescription_post = _post("prescriptions", ("c", "MedicationRequest"), _prescription, open_only=True)
note_post = _post("notes", ("c", "ClinicalImpression"), _note, open_only=True)
discharge_post = _post("discharge", ("u", "Encounter"), _discharge, (roles.DISCHARGE, roles.CLOSE_VISIT))
closing_summary_post = _post("closing-summary", ("c", "Composition"), _closing_summary, (roles.DISCHARGE,))
