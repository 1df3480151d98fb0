"""A signable clinical document as FHIR has it: a `Composition` (what the paper says, section by
section, with its author, time and the encounter) at the head of a `document` Bundle that also holds
every resource the paper was made from (the patient, the encounter, the diagnoses, results,
prescriptions …, each at the version printed). The Bundle is what is signed (JWS in Bundle.signature
and in the Provenance); the PDF rendered from the same printout carries the PAdES signature.

The sections are the printout's own blocks, so the paper and the document cannot say different things.
"""
from __future__ import annotations

import datetime as dt
import html
import uuid

import orjson

from benhan.clinical.printouts.forms import Block, Context, Printout
from benhan.fhir import resource_json
from benhan.store.signed_versions import SIGNED_TAG   # the store refuses changes to what carries it

# The certificate check kept in a signature's Provenance (documents/signing.py writes it).
PROVENANCE_CHECK = "https://benhan.vn/fhir/StructureDefinition/certificate-check"
# A Provenance whose certificate status could not be checked at signing carries this tag, so the later
# check (benhan.documents.recheck) finds it by a search; the result goes in a new Provenance.
RECHECK_SYSTEM = "https://benhan.vn/fhir/CodeSystem/certificate-recheck"
RECHECK_PENDING_TAG = {"system": RECHECK_SYSTEM, "code": "pending",
                       "display": "Chưa kiểm tra được trạng thái chứng thư"}

LOINC = "http://loinc.org"
# The LOINC document type of each form (document ontology: kind of document).
DOCUMENT_TYPES = {
    "discharge": ("18842-5", "Discharge summary"),
    "prescription": ("57833-6", "Prescription for medication"),
    "outpatient": ("34108-1", "Outpatient Note"),
    "inpatient": ("11503-0", "Medical records"),
    # Drawn only by the layout engine (benhan.documents.forms): the BHYT transfer and follow-up slips.
    "referral": ("57133-1", "Referral note"),
    "followup": ("18776-5", "Plan of care note"),
    "sickleave": ("34109-9", "Note"),
    "death": ("64297-5", "Death certificate"),      # giấy báo tử, TT 25/2025 Mẫu 05
    # One per result report: signed as "labresult:<DiagnosticReport id>" (benhan.documents.forms.results).
    "labresult": ("11502-2", "Laboratory report"),
    "imagingresult": ("18748-4", "Diagnostic imaging study"),
    # One per day: "treatment-day:2026-12-15" (tờ điều trị), "nursing-day:2026-12-15" (phiếu chăm sóc).
    "treatment-day": ("11506-3", "Progress note"),
    "nursing-day": ("34746-8", "Nurse Note"),
    # Surgery (benhan.documents.forms.consent, surgery_sheet, record_summary); "consent:<Consent id>",
    # "surgery:<Procedure id>" for one of several. The summary carries the facility's seal (seal.SEALED_TYPES).
    "consent": ("59284-0", "Patient Consent"),
    # The other consent papers (clinical.consent.KINDS): "consent-refusal:<Consent id>" for one of several.
    "consent-admission": ("59284-0", "Patient Consent"),
    "consent-refusal": ("59284-0", "Patient Consent"),
    "consent-transfer": ("59284-0", "Patient Consent"),
    "consent-leave": ("59284-0", "Patient Consent"),
    # The blood transfusion sheet, one per unit given: "transfusion:<Procedure id>" (forms.transfusion_sheet).
    "transfusion": ("28570-0", "Procedure note"),
    "surgery": ("11504-8", "Surgical operation note"),
    "summary": ("34133-9", "Summary of episode note"),
    # The specialty inpatient records (benhan.documents.forms.specialty_inpatient), records like 01/BV1:
    # the signed DocumentReference names its form key (signing.FORM_KEY_SYSTEM).
    "inpatient-paediatric": ("11503-0", "Medical records"),
    "inpatient-infectious": ("11503-0", "Medical records"),
    "inpatient-gynaecology": ("11503-0", "Medical records"),
    "inpatient-obstetric": ("11503-0", "Medical records"),
    "inpatient-surgical": ("11503-0", "Medical records"),
    # The traditional-medicine records (benhan.documents.forms.traditional_medicine, outpatient_variants): 18/BV1,
    # 20/BV1 (a child's) and 19/BV1; their signed DocumentReference names the form key too.
    "inpatient-traditional": ("11503-0", "Medical records"),
    "inpatient-traditional-child": ("11503-0", "Medical records"),
    "outpatient-traditional": ("34108-1", "Outpatient Note"),
}


def document_type(form: str) -> tuple[str, str] | None:
    """The LOINC type of a form key; a form with a sheet per item is named "key:item" (a result report,
    a day of the treatment sheet) and typed by its key."""
    return DOCUMENT_TYPES.get(form.partition(":")[0])



def _narrative(block: Block) -> dict:
    parts = [f"<p><b>{html.escape(r.label)}</b>: {html.escape(r.value)}</p>" for r in block.rows]
    if block.table:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header or [])
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.table)
        parts.append(f"<table><tr>{head}</tr>{rows}</table>")
    return {"status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">' + ("".join(parts) or "<p>—</p>") + "</div>"}


def _entries(ctx: Context) -> list[dict]:
    """The resources the form was made from, each once, the patient and encounter first."""
    rec = ctx.rec
    found: list[dict] = [ctx.patient, ctx.encounter]
    for group in (list(rec.conditions.values()), rec.observations, rec.prescriptions, rec.orders, rec.reports,
                  rec.allergies, rec.notes, ctx.procedures, [rec.record, rec.summary, ctx.coverage, ctx.appointment]):
        found.extend(r for r in group if r)
    seen: set[tuple[str, str]] = set()
    out = []
    for r in found:
        key = (r.get("resourceType", ""), r.get("id", ""))
        if key not in seen and all(key):
            seen.add(key)
            out.append(r)
    return out


def _versioned(r: dict) -> str:
    version = (r.get("meta") or {}).get("versionId")
    return f"{r['resourceType']}/{r['id']}" + (f"/_history/{version}" if version else "")


def document_bundle(printout: Printout, ctx: Context, *, author: dict, when: dt.datetime,
                    composition_id: str | None = None) -> dict:
    """The document Bundle of `printout`; `author` a reference (the signer's Practitioner or display)."""
    code, display = document_type(printout.form) or DOCUMENT_TYPES[printout.form]
    comp_id = composition_id or str(uuid.uuid4())
    resources = _entries(ctx)
    composition = {
        "resourceType": "Composition", "id": comp_id, "status": "final",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": printout.title},
        "subject": {"reference": f"Patient/{ctx.patient['id']}", "display": printout.patient_name},
        "encounter": {"reference": f"Encounter/{ctx.encounter['id']}"},
        "date": when.isoformat(timespec="seconds"), "author": [author],
        "title": f"{printout.title} ({printout.form_code})",
        "custodian": {"display": printout.facility},
        "section": [{"title": b.heading or printout.title, "text": _narrative(b)} for b in printout.blocks],
    }
    entries = [{"fullUrl": f"urn:uuid:{comp_id}", "resource": composition}]
    for r in resources:
        body = {k: v for k, v in r.items()}
        entries.append({"fullUrl": _versioned(r), "resource": body})
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "meta": {"tag": [SIGNED_TAG]},
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{comp_id}"},
            "type": "document", "timestamp": when.isoformat(timespec="seconds"), "entry": entries}


def canonical(bundle: dict) -> bytes:
    """The bytes signed: the Bundle without its signature and server-kept meta, keys sorted, no
    whitespace, decimals exactly as written (resource_json)."""
    body = {k: v for k, v in bundle.items() if k != "signature"}
    meta = {k: v for k, v in (body.get("meta") or {}).items() if k not in resource_json.SERVER_META}
    if meta:
        body["meta"] = meta
    else:
        body.pop("meta", None)
    return resource_json.dumps(body, orjson.OPT_SORT_KEYS)


def entry_digests(bundle: dict) -> dict[str, str]:
    """A digest per entry (fullUrl → SHA-256 of its canonical resource): a failed verification can
    then name what changed. A Composition's sections get one each as well."""
    from benhan.signing.jws import digest
    out = {}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        out[entry.get("fullUrl", "")] = digest(resource_json.dumps(resource, orjson.OPT_SORT_KEYS))
        if resource.get("resourceType") == "Composition":
            for i, section in enumerate(resource.get("section", [])):
                out[f"{entry.get('fullUrl', '')}#section{i}"] = digest(resource_json.dumps(section, orjson.OPT_SORT_KEYS))
    return out


def what_changed(bundle: dict, digests: dict[str, str]) -> list[str]:
    """The entries (and Composition sections) whose content differs from what was signed, named as a
    person reads them; entries added or removed since signing too."""
    now = entry_digests(bundle)
    titles = {}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        titles[entry.get("fullUrl", "")] = f"{resource.get('resourceType', '?')}/{resource.get('id', '?')}"
        if resource.get("resourceType") == "Composition":
            for i, section in enumerate(resource.get("section", [])):
                titles[f"{entry.get('fullUrl', '')}#section{i}"] = f"mục “{section.get('title', i + 1)}”"
    changed = [titles.get(k, k) for k in now if k in digests and now[k] != digests[k]]
    changed += [f"{titles.get(k, k)} (thêm sau khi ký)" for k in now if k not in digests]
    changed += [f"{k} (bị xóa sau khi ký)" for k in digests if k not in now]
    return changed
