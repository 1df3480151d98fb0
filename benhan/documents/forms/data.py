"""What a form's sources read: the printout Context of the visit (benhan.clinical.printouts.forms,
shared with the old printouts) and what only the new forms need (the parent authority, the BHYT
referral of the visit), the time of printing and the signing marks."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from benhan.clinical import (administration, care_plan, chart, consent, infusion, sick_leave, specialty_record,
                             transfusion)
from benhan.clinical.printouts.forms import Context
from benhan.store.repository import Repository

SNOMED = "http://snomed.info/sct"
REFERRAL = "3457005"          # SNOMED CT "Patient referral": the ServiceRequest of a transfer (XML13)


@dataclass
class FormData:
    ctx: Context
    printed: dt.datetime
    authority: str = ""                      # "Sở Y tế …"
    referral: dict | None = None             # the transfer's ServiceRequest
    sick_leave: dict | None = None           # the sick-leave certificate (Basic) of the visit
    signed: dict[str, list[str]] = field(default_factory=dict)
    # The one item printed when a form has a sheet per item: the form key's part after ":"
    # ("labresult:<DiagnosticReport id>"; a day of the treatment sheet).
    part: str = ""
    consents: list[dict] = field(default_factory=list)   # the visit's 01/BV2 consents (clinical.consent), oldest first
    transfusions: list[dict] = field(default_factory=list)   # the visit's blood units given (clinical.transfusion)
    infusions: list[dict] = field(default_factory=list)      # the stay's infusions, 07/BV2 (clinical.infusion)
    doses: list[dict] = field(default_factory=list)   # the stay's recorded scheduled doses (clinical.administration)
    care_plan: dict | None = None            # the stay's nursing care plan (clinical.care_plan)
    # Codes a facility sets for the sheets with no TT 32 number (the setting transfusion_form_code).
    form_codes: dict[str, str] = field(default_factory=dict)
    specialty: dict | None = None            # the stay's specialty record part (clinical.specialty_record)


def authority(repo: Repository, ctx: Context, configured: str | None) -> str:
    """The setting facility_authority when given, else the facility Organization's partOf."""
    if configured and configured.strip():
        return configured.strip()
    if not ctx.facility.organization_id:
        return ""
    org = repo.read("Organization", ctx.facility.organization_id).json()
    return (org.get("partOf") or {}).get("display", "")


def referral_of(repo: Repository, ctx: Context) -> dict | None:
    """The latest active BHYT referral (a ServiceRequest with the SNOMED referral code) of the visit."""
    if not chart.may_read(repo, "ServiceRequest"):
        return None
    found = repo.search_type("ServiceRequest", [("encounter", f"Encounter/{ctx.encounter['id']}"),
                                                ("code", f"{SNOMED}|{REFERRAL}"), ("_count", "20")])
    live = [m.json() for m in found.matches if m.json().get("status") in ("active", "completed")]
    return max(live, key=lambda r: r.get("authoredOn", ""), default=None)


DOCUMENT_KIND, SICK_LEAVE, ENCOUNTER_EXT = sick_leave.DOCUMENT_KIND, sick_leave.SICK_LEAVE, sick_leave.ENCOUNTER_EXT


def sick_leave_of(repo: Repository, ctx: Context) -> dict | None:
    """The visit's sick-leave certificate: a Basic (R4 has no resource for it) coded sick-leave, of the
    patient, naming the visit in an extension; issued on the visit page (benhan.clinical.sick_leave)."""
    if not chart.may_read(repo, "Basic"):
        return None
    return next(iter(sick_leave.of_visit(repo, {**ctx.encounter, "subject": {"reference": f"Patient/{ctx.patient['id']}"}})),
                None)


def gather_extra(repo: Repository, ctx: Context, printed: dt.datetime, configured_authority: str | None = None,
                 signed: dict[str, list[str]] | None = None) -> FormData:
    return FormData(ctx, printed, authority(repo, ctx, configured_authority), referral=referral_of(repo, ctx),
                    sick_leave=sick_leave_of(repo, ctx), signed=signed or {},
                    consents=consent.of_visit(repo, ctx.encounter) if chart.may_read(repo, "Consent") else [],
                    specialty=specialty_of(repo, ctx),
                    transfusions=(transfusion.of_visit(repo, ctx.encounter["id"])
                                  if chart.may_read(repo, "Procedure") else []),
                    form_codes=_form_codes(repo),
                    infusions=(infusion.of_visit(repo, ctx.encounter["id"])
                               if chart.may_read(repo, "MedicationAdministration") else []),
                    doses=(list(administration.records_of(repo, ctx.encounter["id"]).values())
                           if chart.may_read(repo, "MedicationAdministration") else []),
                    care_plan=(care_plan.of_visit(repo, ctx.encounter["id"])
                               if chart.may_read(repo, "CarePlan") else None))


def _form_codes(repo: Repository) -> dict[str, str]:
    """The codes the facility set for the sheets that have no TT 32 number (transfusion_form_code)."""
    values = getattr(getattr(repo.store, "config", None), "values", None) or {}
    code = str(values.get("transfusion_form_code") or "").strip()
    return {"transfusion": code} if code else {}


def specialty_of(repo: Repository, ctx: Context) -> dict | None:
    """A stay's specialty record part (02/03/04/05/10 BV1); an outpatient visit has none."""
    if (ctx.encounter.get("class") or {}).get("code") != "IMP" or not chart.may_read(repo, "Composition"):
        return None
    return specialty_record.of_visit(repo, ctx.encounter["id"])
