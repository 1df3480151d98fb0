"""Signing a clinical document: the steps TT 15/2025 and NĐ 23/2025 ask of signing software, in order.

1. The signer's certificate is checked first (trust list, dates, key usage, OCSP/CRL status); a
   revoked, expired, untrusted or weak certificate is refused with the reason in Vietnamese. When the
   status cannot be had (no link), the facility's `signing_offline` setting decides: `refuse`, or
   `sign-and-recheck` (signed, recorded as unchecked, checked again when the link is back).
2. The certificate must be the signer's own: the holder's ID in its UID attribute ("CCCD:…") must be
   the CCCD on the signer's staff record (their Practitioner).
3. The document is built (Composition + document Bundle), its PDF rendered with the visible mark
   ("Đã ký số bởi …"), the PDF signed (PAdES-B-LT) and the Bundle signed (detached JWS).
4. One transaction stores a DocumentReference holding the signed PDF and the signed document Bundle
   (two attachments of one document, as IHE MHD carries a FHIR document) and a Provenance naming the
   signer, the certificate, the status check and everything signed; the repository audits it, under
   the signer's own access rules. Signed versions cannot be changed afterwards (store.signed_versions).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509

from benhan import errors
from benhan.auth import roles, users
from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms, pdf
from benhan.fhir import resource_json
from benhan.documents import pdfa
from benhan.documents.forms import printing as form_printing
# PROVENANCE_CHECK and the recheck tag live in composition (light: the server's recheck runner reads them
# without importing the PDF and signature stack) and are this module's names as before.
from benhan.documents.composition import PROVENANCE_CHECK, RECHECK_PENDING_TAG, RECHECK_SYSTEM  # noqa: F401
from benhan.documents.composition import (DOCUMENT_TYPES, LOINC, SIGNED_TAG, canonical, document_bundle,
                                          document_type, entry_digests)
from benhan.signing import certcheck, jws
from benhan.signing.keys import SigningKey
from benhan.signing.trust import TrustList
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM

# ISO/ASTM E1762 signature types (http://hl7.org/fhir/R4/valueset-signature-type.html)
SIGNATURE_TYPES = {"author": ("1.2.840.10065.1.12.1.1", "Author's Signature"),
                   "seal": ("1.2.840.10065.1.12.1.5", "Verification Signature")}
OFFLINE_POLICIES = ("refuse", "sign-and-recheck")
FORM_KEY_SYSTEM = "https://benhan.vn/fhir/CodeSystem/form-key"     # "treatment-day:2026-12-15" (printing.split)


@dataclass
class SignedDocument:
    bundle_id: str
    document_reference_id: str
    provenance_id: str
    pdf: bytes
    check: certcheck.CertCheck
    pending_recheck: bool
    timestamp_note: str = ""            # why the PDF has no timestamp ("" when it has one)


def staff_cccd(repo: Repository, actor: Actor) -> str | None:
    """The CCCD on the signer's Practitioner (the staff record their account points to)."""
    if actor.user_pk is None:
        return None
    user = users.get_user(repo.store, actor.user_pk)
    if user is None or not user.practitioner_id:
        return None
    practitioner = repo.read("Practitioner", user.practitioner_id).json()
    return next((i.get("value") for i in practitioner.get("identifier", []) if i.get("system") == CCCD_SYSTEM), None)


def check_holder(key: SigningKey, cccd: str | None) -> None:
    uid = (key.holder_uid or "").removeprefix("CCCD:").strip()
    if not cccd:
        raise errors.CertificateRefused(
            "hồ sơ nhân viên chưa có số CCCD nên không đối chiếu được chứng thư số; quản trị ghi CCCD vào hồ sơ "
            "(Practitioner) của người ký | the signer's staff record has no CCCD to match the certificate "
            "against; an admin records it on their Practitioner")
    if uid != cccd:
        raise errors.CertificateRefused(
            "chứng thư số không phải của người đang ký (số định danh trong chứng thư khác CCCD của tài khoản) | "
            "the certificate belongs to someone else (its holder ID is not this account's CCCD)")


def offline_policy(cfg) -> str:  # noqa: ANN001 - a benhan.config.Config
    """The facility's signing_offline setting, refused by name when it is not one benhan knows."""
    if cfg.signing_offline not in OFFLINE_POLICIES:
        raise errors.ConfigError(f"signing_offline must be one of {', '.join(OFFLINE_POLICIES)}")
    return cfg.signing_offline


def refuse_unless_allowed(check: certcheck.CertCheck, offline_policy: str) -> bool:
    """True when signing goes on without a status answer (to be checked again later)."""
    if check.ok:
        return False
    if check.status == certcheck.OFFLINE and offline_policy == "sign-and-recheck":
        return True
    raise errors.CertificateRefused(f"{check.message('vi')} | {check.message('en')}")


def _mark(printout: forms.Printout, key: SigningKey, when: dt.datetime, check: certcheck.CertCheck,
          role: str) -> None:
    """The visible signing mark on the paper: who signed, as what, when, with which certificate."""
    issuer = key.cert.issuer.native.get("common_name", "")
    status = ("trạng thái chứng thư khi ký: hợp lệ (đã kiểm tra trực tuyến)" if check.ok
              else "trạng thái chứng thư chưa kiểm tra được khi ký (không có kết nối) — sẽ kiểm tra lại")
    title = "Chữ ký số của cơ sở" if role == "seal" else "Chữ ký số"
    printout.blocks.append(forms.Block(title, [
        forms.Row("Đã ký số bởi", key.cert.subject.native.get("common_name", "")),
        forms.Row("Thời điểm ký", when.strftime("%H:%M:%S %d/%m/%Y")),
        forms.Row("Chứng thư số", f"{issuer}, số sê-ri {key.cert.serial_number:X}"),
        forms.Row("Kiểm tra", status)]))


@dataclass
class Draft:
    """A document ready to be signed: everything the record needs except the two signatures. Plain
    data (`to_json`), so a remote signature can wait for the signer's approval across a restart."""
    form: str
    role: str
    when: dt.datetime
    title: str
    facility: str
    patient_id: str
    encounter_id: str
    signer_name: str
    bundle: dict
    pdf: bytes                      # the archival PDF, unsigned
    check: certcheck.CertCheck
    pending_recheck: bool

    @property
    def author(self) -> dict:
        return {"display": self.signer_name}

    def to_json(self) -> dict:
        return {"form": self.form, "role": self.role, "when": self.when.isoformat(), "title": self.title,
                "facility": self.facility, "patient": self.patient_id, "encounter": self.encounter_id,
                "signer": self.signer_name, "bundle": resource_json.dumps(self.bundle).decode(),
                "pdf": base64.b64encode(self.pdf).decode(), "recheck": self.pending_recheck,
                "check": {"status": self.check.status, "at": self.check.checked_at.isoformat(),
                          "ocsp": [base64.b64encode(o).decode() for o in self.check.ocsp],
                          "crls": [base64.b64encode(c).decode() for c in self.check.crls],
                          "detail": self.check.detail}}

    @classmethod
    def from_json(cls, data: dict) -> "Draft":
        c = data["check"]
        check = certcheck.CertCheck(c["status"], dt.datetime.fromisoformat(c["at"]),
                                    [base64.b64decode(o) for o in c["ocsp"]], [base64.b64decode(x) for x in c["crls"]],
                                    c.get("detail", ""))
        return cls(data["form"], data["role"], dt.datetime.fromisoformat(data["when"]), data["title"], data["facility"],
                   data["patient"], data["encounter"], data["signer"], resource_json.loads(data["bundle"].encode()),
                   base64.b64decode(data["pdf"]), check, bool(data["recheck"]))


def prepare_document(repo: Repository, actor: Actor, encounter_id: str, form: str, key: SigningKey,
                     trust: TrustList, *, offline_policy: str = "refuse", base_url: str = "",
                     now: dt.datetime | None = None, facility_name: str | None = None,
                     role: str = "author", amends=None) -> Draft:  # noqa: ANN001 - amendment.Amends
    """Steps 1–3 up to the signatures: the certificate checked (before anything is signed or sent to a
    remote service), the holder matched to the signer, the document built and made PDF/A."""
    if document_type(form) is None:
        raise errors.InvalidOperationParameter(f"no signable form {form!r}; one of {', '.join(DOCUMENT_TYPES)}")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone(dt.timedelta(hours=7)))
    check = certcheck.check(key.cert, key.chain, trust, when)
    pending = refuse_unless_allowed(check, offline_policy)
    if role == "author":
        if actor.access is not None and not roles.may_act(actor.roles, roles.SIGN_DOCUMENT):
            raise errors.Forbidden("vai trò của bạn không ký số tài liệu bệnh án | your role does not sign the "
                                   "record's documents")
        check_holder(key, staff_cccd(repo, actor))
    ctx = forms.gather(repo, encounter_id, when.date(), facility_name)
    if form in forms.FORMS:
        printout = forms.build(ctx, form, actor, when, base_url or "")
    else:       # drawn only by the layout engine: its printed values are the document's section
        printout = form_printing.print_form(repo, ctx, form, actor, when, base_url or "",
                                            repo.store.config.values).as_printout()
    if amends is not None:           # a correction says, on paper and in the Composition, what it replaces and why
        amends.mark(printout)
    signer_name = key.cert.subject.native.get("common_name", "")
    bundle = document_bundle(printout, ctx, author={"display": signer_name}, when=when)
    if amends is not None:           # the replaced version's identity and hashes are signed with it
        amends.link(bundle)
    _mark(printout, key, when, check, role)
    if form_printing.handles(form):
        # A form the layout engine draws: the paper's layout, the signing mark in the signer's own block;
        # a correction's section (what it replaces and why) printed after the form's own items.
        mark = [f"{r.label}: {r.value}" for r in printout.blocks[-1].rows]
        correction = next((b for b in printout.blocks if b.heading == amends.heading), None) if amends else None
        body = form_printing.print_form(repo, ctx, form, actor, when, base_url or "", repo.store.config.values,
                                        signed={role: mark},
                                        appended=[(r.label, r.value) for r in correction.rows] if correction else (),
                                        appended_title=correction.heading if correction else "").pdf
    else:
        body = pdf.render(printout)
    archival = pdfa.to_pdfa(body, title=printout.title, author=signer_name,
                            subject=f"{printout.patient_name} — {printout.form_code}")
    return Draft(form, role, when, printout.title, printout.facility, ctx.patient["id"], ctx.encounter["id"],
                 signer_name, bundle, archival, check, pending)


def jws_arguments(draft: Draft) -> dict:
    """What the detached JWS over the draft's Bundle is made from (the same for a key and a remote service)."""
    return {"signed_at": draft.when, "digests": entry_digests(draft.bundle),
            "revocation": draft.check.ocsp + draft.check.crls}


def sign_encounter_document(repo: Repository, actor: Actor, encounter_id: str, form: str, key: SigningKey,
                            trust: TrustList, *, offline_policy: str = "refuse", base_url: str = "",
                            now: dt.datetime | None = None, facility_name: str | None = None,
                            role: str = "author", amends=None, tsa=None) -> SignedDocument:  # noqa: ANN001
    """Sign the `form` of encounter `encounter_id` with `key`, as its author (or the facility's seal);
    with the facility's `tsa` (signing.timestamps.Tsa) the PDF is timestamped (PAdES-B-LTA)."""
    draft = prepare_document(repo, actor, encounter_id, form, key, trust, offline_policy=offline_policy,
                             base_url=base_url, now=now, facility_name=facility_name, role=role, amends=amends)
    from benhan.documents import timestamping     # pyHanko loads only when something is signed
    signed_pdf, no_stamp = timestamping.sign_pdf(draft.pdf, key, draft.check, trust, tsa, field_name=field_name(draft),
                                                 reason=draft.title, location=draft.facility, name=draft.signer_name)
    signature = jws.sign_detached(canonical(draft.bundle), key, **jws_arguments(draft))
    return record_signed(repo, draft, key.cert, signed_pdf, signature, timestamp_note=no_stamp)


def field_name(draft: Draft) -> str:
    return f"{draft.role}-{uuid.uuid4().hex[:8]}"


def record_signed(repo: Repository, draft: Draft, cert: asn1_x509.Certificate, signed_pdf: bytes,
                  signature: str, timestamp_note: str | None = None) -> SignedDocument:
    """Step 4: one transaction stores the DocumentReference (signed PDF + signed Bundle) and the Provenance."""
    when, role, author, check, pending = draft.when, draft.role, draft.author, draft.check, draft.pending_recheck
    bundle = draft.bundle
    sig_type = SIGNATURE_TYPES[role]
    bundle["signature"] = {"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": sig_type[0],
                                     "display": sig_type[1]}],
                           "when": when.isoformat(timespec="seconds"), "who": author,
                           "sigFormat": "application/jose", "data": base64.b64encode(signature.encode()).decode()}
    code, display = document_type(draft.form) or DOCUMENT_TYPES[draft.form]
    doc_ref_id, prov_id = str(uuid.uuid4()), str(uuid.uuid4())
    bundle_json = resource_json.dumps(bundle)
    document_reference = {
        "resourceType": "DocumentReference", "meta": {"tag": [SIGNED_TAG]}, "status": "current",
        "docStatus": "final", "type": {"coding": [{"system": LOINC, "code": code, "display": display}],
                                       "text": draft.title},
        "subject": {"reference": f"Patient/{draft.patient_id}"}, "date": when.isoformat(timespec="seconds"),
        "author": [author], "description": f"{draft.title} — đã ký số bởi {draft.signer_name}",
        "content": [attachment(signed_pdf, "application/pdf", f"{draft.title}.pdf", when),
                    attachment(bundle_json, "application/fhir+json", f"{draft.title}.json", when)],
        "context": {"encounter": [{"reference": f"Encounter/{draft.encounter_id}"}]},
    }
    # A sheet of one item or day: its full key, so a correction redraws that sheet; a form whose LOINC type
    # an earlier form has too (the specialty records 02 … 10/BV1 are "Medical records" like 01/BV1): its key.
    if ":" in draft.form or next(k for k, (c, _) in DOCUMENT_TYPES.items() if c == code) != draft.form:
        document_reference["category"] = [{"coding": [{"system": FORM_KEY_SYSTEM, "code": draft.form}]}]
    from benhan.documents import amendment      # a correction names the signed version it replaces
    document_reference.update(amendment.reference_links(bundle))
    from benhan.documents import timestamping   # what the PDF's timestamps say (or why there is none)
    stamps = timestamping.extensions(signed_pdf, timestamp_note)
    targets = [{"reference": f"DocumentReference/{doc_ref_id}/_history/1"}]
    targets += [{"reference": e["fullUrl"]} for e in bundle["entry"][1:] if "/_history/" in e["fullUrl"]]
    provenance = {
        "resourceType": "Provenance", "target": targets, "recorded": when.isoformat(timespec="seconds"),
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "AUT" if role == "author" else "LA",
                                 "display": "author" if role == "author" else "legal authenticator"}]},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "author" if role == "author" else "legal"}]},
                   "who": author}],
        "signature": [{**bundle["signature"], "targetFormat": "application/fhir+json"}],
        "extension": [certificate_check_extension(check, cert, pending), *stamps],
        **amendment.provenance_links(bundle),
    }
    if pending:
        provenance["meta"] = {"tag": [RECHECK_PENDING_TAG]}
    repo.commit([repo.prepare("POST", "DocumentReference", doc_ref_id, document_reference, create_only=True),
                 repo.prepare("POST", "Provenance", prov_id, provenance, create_only=True)], "transaction")
    return SignedDocument(bundle["id"], doc_ref_id, prov_id, signed_pdf, check, pending, timestamping.missing(stamps))


def signed_documents(repo: Repository, encounter_id: str) -> list[dict]:
    """The signed documents of an encounter (DocumentReferences with the signed tag), newest first."""
    found = repo.search_all("DocumentReference", [("encounter", f"Encounter/{encounter_id}"),
                                                  ("_tag", f"{SIGNED_TAG['system']}|{SIGNED_TAG['code']}"),
                                                  ("_sort", "-date")])
    return [m.json() for m in found]


def certificate_check_extension(check: certcheck.CertCheck, cert, pending: bool) -> dict:  # noqa: ANN001
    """What the law asks to keep of the check made at signing (TT 15/2025): the certificate, the
    OCSP/CRL answers, the result and its time, and whether it must be checked again."""
    return {"url": PROVENANCE_CHECK, "extension": [
        {"url": "status", "valueCode": check.status},
        {"url": "checkedAt", "valueDateTime": check.checked_at.isoformat(timespec="seconds")},
        {"url": "certificate", "valueBase64Binary": base64.b64encode(cert.dump()).decode()},
        *({"url": "ocsp", "valueBase64Binary": base64.b64encode(o).decode()} for o in check.ocsp),
        *({"url": "crl", "valueBase64Binary": base64.b64encode(c).decode()} for c in check.crls),
        {"url": "recheck", "valueBoolean": pending}]}


def attachment(data: bytes, content_type: str, title: str, when: dt.datetime) -> dict:
    return {"attachment": {"contentType": content_type, "language": "vi", "data": base64.b64encode(data).decode(),
                           # FHIR's Attachment.hash is SHA-1 (R4); the signatures protect the content.
                           "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324
                           "size": len(data), "title": title, "creation": when.isoformat(timespec="seconds")}}


def _content(document_reference: dict, content_type: str) -> bytes | None:
    for content in document_reference.get("content") or []:
        attachment = content.get("attachment") or {}
        if attachment.get("contentType") == content_type and attachment.get("data"):
            return base64.b64decode(attachment["data"])
    return None


def pdf_of(document_reference: dict) -> bytes:
    return _content(document_reference, "application/pdf") or b""


def bundle_of(document_reference: dict) -> dict | None:
    """The signed document Bundle kept with the PDF (exactly the bytes stored)."""
    raw = _content(document_reference, "application/fhir+json")
    return resource_json.loads(raw) if raw else None


def raw_bundle_of(document_reference: dict) -> bytes:
    """The signed document Bundle's stored bytes (what a confirmation's evidence hashes)."""
    return _content(document_reference, "application/fhir+json") or b""
