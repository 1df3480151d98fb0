"""The facility's seal (chữ ký số của cơ sở) on a document its author has already signed: the discharge
paper, the referral paper and the record summary carry the facility's signature beside the doctor's
(issue 13.2; paper conversions get theirs when converted, documents.paper).

The seal is a second PAdES signature added to the *same* signed PDF as an incremental update, so the
author's signature still covers exactly the bytes it signed; the seal's JWS over the same document
Bundle goes in its Provenance (Bundle.signature holds one signature, the author's). Since a signed
version never changes, the sealed PDF is a new DocumentReference, `relatesTo` "appends" the
author's version, `authenticator` the facility; its Provenance has the seal's signature type
(Verification Signature), the facility as the legal agent and the person who applied the seal as
the performer, and the certificate check made before sealing (documents.signing does each part).
"""
from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass

from benhan import errors
from benhan.auth import roles
from benhan.auth.actor import Actor
from benhan.clinical import visits
from benhan.documents import signing
from benhan.documents.composition import LOINC, SIGNED_TAG, canonical, entry_digests
from benhan.fhir import resource_json
from benhan.signing import certcheck, jws
from benhan.signing.keys import SigningKey
from benhan.signing.trust import TrustList
from benhan.store.repository import Repository

# The documents that carry the facility's seal, by LOINC document type.
SEALED_TYPES = {"18842-5": "discharge", "57133-1": "referral", "34133-9": "summary"}
APPENDS = "appends"     # FHIR document-relationship-type: this version adds the seal to the target


@dataclass
class Sealed:
    document_reference_id: str
    provenance_id: str
    pdf: bytes
    check: certcheck.CertCheck
    pending_recheck: bool


def loinc(document: dict) -> str:
    return next((c.get("code", "") for c in (document.get("type") or {}).get("coding", [])
                 if c.get("system") == LOINC), "")


def sealed_from(document: dict) -> str | None:
    """The id of the author's version this sealed version appends the seal to (None: not a sealed version)."""
    for relation in document.get("relatesTo") or []:
        if relation.get("code") == APPENDS:
            return relation.get("target", {}).get("reference", "").split("/")[1] or None
    return None


def needs_seal(document: dict, listed: list[dict]) -> bool:
    """Whether the seal applies to `document` and is still missing (no sealed version of it in `listed`)."""
    if loinc(document) not in SEALED_TYPES or sealed_from(document):
        return False
    return not any(sealed_from(d) == document["id"] for d in listed)


def seal_document(repo: Repository, actor: Actor, document_reference_id: str, key: SigningKey, trust: TrustList,
                  *, offline_policy: str = "refuse", now: dt.datetime | None = None,
                  facility_name: str | None = None, tsa=None) -> Sealed:  # noqa: ANN001 - signing.timestamps.Tsa
    """Add the facility's seal (`key`) to the signed document `document_reference_id`."""
    if actor.access is not None and not roles.may_act(actor.roles, roles.SEAL_DOCUMENT):
        raise errors.Forbidden("vai trò của bạn không đóng dấu số của cơ sở | your role does not apply the "
                               "facility's seal")
    document = repo.read("DocumentReference", document_reference_id).json()
    listed = signing.signed_documents(repo, _encounter(document)) if _encounter(document) else [document]
    if not needs_seal(document, listed):
        raise errors.InvalidOperationParameter(
            "tài liệu này không cần hoặc đã có con dấu số của cơ sở | this document does not take the facility's "
            "seal, or already has it")
    pdf, bundle_bytes = signing.pdf_of(document), signing.raw_bundle_of(document)
    if not pdf or not bundle_bytes:
        raise errors.InvalidOperationParameter("tài liệu chưa được ký số | the document is not signed")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone(dt.timedelta(hours=7)))
    check = certcheck.check(key.cert, key.chain, trust, when)          # before anything is signed
    pending = signing.refuse_unless_allowed(check, offline_policy)
    facility = visits.facility(repo, facility_name)
    sealer = key.cert.subject.native.get("common_name", "")
    title = (document.get("type") or {}).get("text", "")
    from benhan.documents import timestamping     # pyHanko loads only when something is signed
    sealed_pdf, no_stamp = timestamping.sign_pdf(pdf, key, check, trust, tsa, field_name=f"seal-{uuid.uuid4().hex[:8]}",
                                                 reason=f"Con dấu số của cơ sở — {title}", location=facility.name,
                                                 name=sealer)
    bundle = resource_json.loads(bundle_bytes)
    token = jws.sign_detached(canonical(bundle), key, signed_at=when, digests=entry_digests(bundle),
                              revocation=check.ocsp + check.crls)
    stamp = when.isoformat(timespec="seconds")
    organization = ({"reference": f"Organization/{facility.organization_id}", "display": facility.name}
                    if facility.organization_id else {"display": facility.name})
    doc_id, prov_id = str(uuid.uuid4()), str(uuid.uuid4())
    version = document["meta"]["versionId"]
    content = [signing.attachment(sealed_pdf, "application/pdf", f"{title}.pdf", when)]
    content += [c for c in document.get("content", [])
                if (c.get("attachment") or {}).get("contentType") != "application/pdf"]   # the same signed Bundle
    sealed = {k: v for k, v in document.items() if k not in ("id", "meta", "content", "relatesTo")}
    sealed.update({
        "meta": {"tag": [SIGNED_TAG]}, "date": stamp, "authenticator": organization,
        "custodian": organization, "content": content,
        "description": f"{document.get('description', title)}; đã đóng dấu số của cơ sở ({sealer})",
        "relatesTo": [{"code": APPENDS, "target": {"reference": f"DocumentReference/{document['id']}"}}]})
    seal_type = signing.SIGNATURE_TYPES["seal"]
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": f"DocumentReference/{doc_id}/_history/1"},
                   {"reference": f"DocumentReference/{document['id']}/_history/{version}"}],
        "recorded": stamp,
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "LA", "display": "legal authenticator"}], "text": "Đóng dấu số của cơ sở"},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "legal", "display": "Legal Authenticator"}],
                            "text": "Cơ sở (con dấu số)"}, "who": organization},
                  {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "performer", "display": "Performer"}],
                            "text": "Người đóng dấu"}, "who": {"display": actor.display or actor.name}}],
        "signature": [{"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": seal_type[0],
                                 "display": seal_type[1]}],
                       "when": stamp, "who": organization, "targetFormat": "application/fhir+json",
                       "sigFormat": "application/jose", "data": base64.b64encode(token.encode()).decode()}],
        "extension": [signing.certificate_check_extension(check, key.cert, pending),
                      *timestamping.extensions(sealed_pdf, no_stamp)],
    }
    if pending:     # signed offline: the later check (documents.recheck) finds it by this tag
        provenance["meta"] = {"tag": [signing.RECHECK_PENDING_TAG]}
    repo.commit([repo.prepare("POST", "DocumentReference", doc_id, sealed, create_only=True),
                 repo.prepare("POST", "Provenance", prov_id, provenance, create_only=True)], "transaction")
    return Sealed(doc_id, prov_id, sealed_pdf, check, pending)


def seal_signature(repo: Repository, document_reference_id: str) -> dict | None:
    """The seal's Provenance signature recorded for a sealed version (its JWS over the Bundle)."""
    found = repo.search_type("Provenance", [("target", f"DocumentReference/{document_reference_id}"),
                                            ("_count", "50")])
    seal_code = signing.SIGNATURE_TYPES["seal"][0]
    for match in found.matches:
        p = match.json()
        if p["target"][0]["reference"].split("/")[1] != document_reference_id:
            continue
        for sig in p.get("signature", []):
            if sig.get("sigFormat") == "application/jose" and any(t.get("code") == seal_code
                                                                   for t in sig.get("type", [])):
                return sig
    return None


def _encounter(document: dict) -> str:
    return next((x.get("reference", "").split("/", 1)[1] for x in
                 (document.get("context") or {}).get("encounter", []) if x.get("reference")), "")
