"""A correction after signing (TT 13/2025; TT 32/2023 Đ52): the signed version is never changed; a
new version of the document is built from the record as it is now (its data corrected through
the ordinary corrections flow), names the version it replaces and why, and is signed through the
same path as any document (documents/signing.py). The versions form a chain that verifies.

Where the link lives, and why there:

- **In the signed content.** The new Composition's `relatesTo` (code `replaces`, the replaced
  document's identifier) carries an extension with the replaced DocumentReference, the SHA-256 of
  its signed Bundle and of its signed PDF, and the reason. The new signature covers them, so a
  changed link breaks the new signature, and a changed old version no longer matches the hashes
  the new one signed. The printout gets a section saying what it replaces and why (the PDF and the
  Bundle say the same).
- **In the store.** The new DocumentReference has `relatesTo` `replaces` → the old one, and its
  Provenance an `entity` (role `revision`) naming the old version and a `reason`.
- **"Superseded" is derived, not written.** FHIR's way to retire a document is to set the old
  DocumentReference's `status` to `superseded`, a new version of it — which the store refuses for a
  signed version (409 BENHAN-7003), on purpose: whatever is signed stays as signed. So the old
  DocumentReference keeps `status: current`, and a version is superseded when another
  DocumentReference `replaces` it (`DocumentReference?relatesto=DocumentReference/<id>`): the lists,
  the pages and the verification derive it from there.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms
from benhan.documents import signing, verify
from benhan.documents.composition import DOCUMENT_TYPES, LOINC
from benhan.fhir import resource_json
from benhan.signing.keys import SigningKey
from benhan.signing.trust import TrustList
from benhan.store.repository import Repository
from benhan.store.signed_versions import is_signed

REPLACED = "https://benhan.vn/fhir/StructureDefinition/replaced-document"
REPLACES = "replaces"
MAX_CHAIN = 100             # a longer chain is a loop or a fault, never a record


@dataclass
class Amends:
    """The signed version a correction replaces, and why: put in the new document before it is signed."""
    document_reference_id: str
    identifier: str             # the replaced document Bundle's identifier (urn:uuid:…)
    bundle_sha256: str
    pdf_sha256: str
    reason: str
    title: str
    signed_at: str
    signer: str
    heading: ClassVar[str] = "Bản sửa đổi sau khi ký"   # the correction's section on paper and in the Composition

    def mark(self, printout: forms.Printout) -> None:
        """The section the paper and the Composition carry: what this version replaces and why."""
        printout.blocks.append(forms.Block(self.heading, [
            forms.Row("Thay thế bản đã ký", f"{self.title}, ký ngày {self.signed_at} bởi {self.signer}"),
            forms.Row("Mã tra cứu bản được thay thế", f"DocumentReference/{self.document_reference_id}"),
            forms.Row("Lý do sửa đổi", self.reason)]))

    def link(self, bundle: dict) -> None:
        composition = bundle["entry"][0]["resource"]
        composition["relatesTo"] = [{
            "extension": [{"url": REPLACED, "extension": [
                {"url": "documentReference",
                 "valueReference": {"reference": f"DocumentReference/{self.document_reference_id}"}},
                {"url": "bundleSha256", "valueString": self.bundle_sha256},
                {"url": "pdfSha256", "valueString": self.pdf_sha256},
                {"url": "reason", "valueString": self.reason}]}],
            "code": REPLACES,
            "targetIdentifier": {"system": "urn:ietf:rfc:3986", "value": self.identifier}}]


@dataclass
class Link:
    """The link a signed Bundle carries to the version it replaces."""
    document_reference_id: str
    bundle_sha256: str
    pdf_sha256: str
    reason: str


def link_in(bundle: dict | None) -> Link | None:
    """The signed link to the replaced version, if this document is a correction."""
    entries = (bundle or {}).get("entry") or []
    composition = (entries[0].get("resource") or {}) if entries else {}
    for relation in composition.get("relatesTo") or []:
        if relation.get("code") != REPLACES:
            continue
        for ext in relation.get("extension") or []:
            if ext.get("url") != REPLACED:
                continue
            values = {e.get("url"): e for e in ext.get("extension") or []}
            ref = ((values.get("documentReference") or {}).get("valueReference") or {}).get("reference", "")
            return Link(ref.removeprefix("DocumentReference/"),
                        (values.get("bundleSha256") or {}).get("valueString", ""),
                        (values.get("pdfSha256") or {}).get("valueString", ""),
                        (values.get("reason") or {}).get("valueString", ""))
    return None


def reference_links(bundle: dict) -> dict:
    """What the new DocumentReference says of the version it replaces (for record_signed)."""
    link = link_in(bundle)
    if link is None:
        return {}
    return {"relatesTo": [{"code": REPLACES, "target": {"reference": f"DocumentReference/{link.document_reference_id}"}}]}


def provenance_links(bundle: dict) -> dict:
    """What the new signature's Provenance says of the replaced version (for record_signed)."""
    link = link_in(bundle)
    if link is None:
        return {}
    return {"entity": [{"role": "revision",
                        "what": {"reference": f"DocumentReference/{link.document_reference_id}/_history/1"}}],
            "reason": [{"text": link.reason}]}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def form_of(document_reference: dict) -> str | None:
    for category in document_reference.get("category") or []:       # a sheet of one day or item: its full key
        for c in category.get("coding", []):
            if c.get("system") == signing.FORM_KEY_SYSTEM and c.get("code"):
                return c["code"]
    codes = {c.get("code") for c in (document_reference.get("type") or {}).get("coding", []) if c.get("system") == LOINC}
    return next((form for form, (code, _) in DOCUMENT_TYPES.items() if code in codes), None)


def _encounter_of(document_reference: dict) -> str:
    return next((x.get("reference", "").split("/", 1)[1] for x in
                 (document_reference.get("context") or {}).get("encounter", []) if "/" in x.get("reference", "")), "")


def superseded_by(repo: Repository, document_reference_id: str) -> list[dict]:
    """The DocumentReferences that replace this one (normally none or one)."""
    found = repo.search_type("DocumentReference", [("relatesto", f"DocumentReference/{document_reference_id}"),
                                                   ("_sort", "date"), ("_count", "20")])
    return [m.json() for m in found.matches
            if any(r.get("code") == REPLACES and r.get("target", {}).get("reference")
                   == f"DocumentReference/{document_reference_id}" for r in m.json().get("relatesTo") or [])]


def amendment_of(repo: Repository, document_reference_id: str, reason: str) -> tuple[Amends, str, str]:
    """(what is replaced, the form, the encounter) for correcting a signed document; refused with the
    reason in Vietnamese and English when the reason is missing or the version cannot be amended."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise errors.AmendmentRefused("sửa tài liệu đã ký phải ghi lý do sửa đổi | a correction after signing needs "
                                      "its reason")
    old = repo.read("DocumentReference", document_reference_id).json()
    form, encounter_id = form_of(old), _encounter_of(old)
    raw = signing.raw_bundle_of(old)
    if not is_signed(old) or not raw or form is None or not encounter_id:
        raise errors.AmendmentRefused(
            f"DocumentReference/{document_reference_id} không phải tài liệu bệnh án đã ký số nên không có bản sửa đổi "
            f"| DocumentReference/{document_reference_id} is not a signed record document that benhan amends")
    later = superseded_by(repo, document_reference_id)
    if later:
        raise errors.AmendmentRefused(
            f"bản này đã được thay thế bởi DocumentReference/{later[-1]['id']}; hãy sửa bản mới nhất | this version "
            f"was already replaced by DocumentReference/{later[-1]['id']}; amend the latest one")
    bundle = resource_json.loads(raw)
    signer = (old.get("author") or [{}])[0].get("display", "")
    return (Amends(document_reference_id, (bundle.get("identifier") or {}).get("value", ""), _sha256(raw),
                   _sha256(signing.pdf_of(old)), reason, (old.get("type") or {}).get("text", form),
                   _day(old.get("date", "")), signer), form, encounter_id)


def _day(instant: str) -> str:
    """A FHIR dateTime as the paper writes it (HH:MM dd/mm/yyyy)."""
    import datetime as dt
    try:
        return dt.datetime.fromisoformat(instant).strftime("%H:%M %d/%m/%Y")
    except ValueError:
        return instant


def amend_document(repo: Repository, actor: Actor, document_reference_id: str, key: SigningKey, trust: TrustList,
                   *, reason: str, **signing_options) -> signing.SignedDocument:  # noqa: ANN003
    """Build the corrected version of a signed document from the record as it is now, linked to the
    signed one, and sign it (the same checks and the same record as any signature)."""
    amends, form, encounter_id = amendment_of(repo, document_reference_id, reason)
    return signing.sign_encounter_document(repo, actor, encounter_id, form, key, trust, amends=amends,
                                           **signing_options)


# --- the chain, verified ------------------------------------------------------------------------------

@dataclass
class Version:
    """One signed version in a document's chain, as the verification shows it."""
    document_reference_id: str
    title: str
    signer: str
    signed_at: str
    reason: str                         # why it replaced the previous version ("" for the first)
    checks: list[tuple[str, verify.SignatureCheck]] = field(default_factory=list)   # ("PDF"|"FHIR", check)
    problems: list[str] = field(default_factory=list)    # the link to the previous version
    superseded_by: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for _, c in self.checks) and not self.problems

    def lines(self, position: int) -> list[str]:
        state = "HỢP LỆ | VALID" if self.ok else "KHÔNG HỢP LỆ | NOT VALID"
        head = (f"{position}. {state}: DocumentReference/{self.document_reference_id} — {self.title}, "
                f"ký bởi | signed by {self.signer}, lúc | at {self.signed_at}")
        out = [head]
        if self.reason:
            out.append(f"   lý do sửa đổi | reason for the correction: {self.reason}")
        out.append("   " + (f"đã được thay thế bởi | superseded by DocumentReference/{self.superseded_by}"
                            if self.superseded_by else "bản hiện hành | the current version"))
        for kind, c in self.checks:
            if not c.ok:       # a failed signature says what changed, in its own words
                out += [f"   [{kind}] " + line.strip() for line in c.lines()]
        out += [f"   liên kết | link: {p}" for p in self.problems]
        return out


@dataclass
class Chain:
    versions: list[Version]

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.versions)

    def lines(self) -> list[str]:
        out = [f"Chuỗi bản sửa đổi | amendment chain: {len(self.versions)} bản | versions — "
               + ("HỢP LỆ | VALID" if self.ok else "KHÔNG HỢP LỆ | NOT VALID")]
        for i, v in enumerate(self.versions, 1):
            out += v.lines(i)
        return out


def chain(repo: Repository, document_reference_id: str, trust: TrustList) -> Chain:
    """Every version of the document `document_reference_id` belongs to, oldest first, each verified
    (its PDF and its Bundle) and each link checked: the replaced version must be, byte for byte, the
    one whose hashes the correction signed, and the store's relatesTo must say what the signed one says."""
    documents = {document_reference_id: repo.read("DocumentReference", document_reference_id).json()}
    order = [document_reference_id]
    while len(order) < MAX_CHAIN:              # back along the signed links …
        link = link_in(signing.bundle_of(documents[order[0]]))
        if link is None or not link.document_reference_id or link.document_reference_id in documents:
            break
        try:
            documents[link.document_reference_id] = repo.read("DocumentReference", link.document_reference_id).json()
        except (errors.NotFound, errors.Gone):
            break
        order.insert(0, link.document_reference_id)
    while len(order) < MAX_CHAIN:              # … then forward from the one asked about, along the stored links
        later = [d for d in superseded_by(repo, order[-1]) if d["id"] not in documents]
        if not later:
            break
        documents[later[0]["id"]] = later[0]
        order.append(later[0]["id"])
    out = []
    for i, doc_id in enumerate(order):
        out.append(_version(documents[doc_id], documents.get(order[i - 1]) if i else None,
                            order[i + 1] if i + 1 < len(order) else None, trust))
    return Chain(out)


def _version(document: dict, previous: dict | None, successor: str | None, trust: TrustList) -> Version:
    bundle = signing.bundle_of(document)
    link = link_in(bundle)
    v = Version(document["id"], (document.get("type") or {}).get("text", ""),
                (document.get("author") or [{}])[0].get("display", ""), _day(document.get("date", "")),
                link.reason if link else "", superseded_by=successor)
    pdf = signing.pdf_of(document)
    for kind, data, check in (("PDF", pdf, verify.verify_pdf), ("FHIR", bundle, verify.verify_bundle)):
        if not data:
            if kind == "PDF":       # a scanned paper has no document Bundle: its sealed PDF is what is signed
                v.problems.append("thiếu tệp PDF đã ký | the signed PDF is missing")
            continue
        try:
            found = check(data, trust)
        except errors.SignatureInvalid as exc:
            v.problems.append(exc.message)
            continue
        v.checks += [(kind, c) for c in (found if isinstance(found, list) else [found])]
    stored = [r.get("target", {}).get("reference", "") for r in document.get("relatesTo") or [] if r.get("code") == REPLACES]
    if link is None:
        if stored:
            v.problems.append(f"hồ sơ ghi thay thế {stored[0]} nhưng nội dung đã ký không nói vậy | the store says it "
                              f"replaces {stored[0]} but the signed content does not")
        return v
    if stored != [f"DocumentReference/{link.document_reference_id}"]:
        v.problems.append(f"liên kết trong hồ sơ ({', '.join(stored) or 'không có'}) khác liên kết đã ký "
                          f"(DocumentReference/{link.document_reference_id}) | the stored link differs from the signed one")
    if previous is None or previous["id"] != link.document_reference_id:
        v.problems.append(f"không tìm thấy bản được thay thế DocumentReference/{link.document_reference_id} | the "
                          "replaced version is missing")
        return v
    if _sha256(signing.raw_bundle_of(previous)) != link.bundle_sha256:
        v.problems.append(f"Bundle của bản được thay thế DocumentReference/{previous['id']} khác với bản đã được "
                          "tham chiếu khi ký (mã băm SHA-256) | the replaced version's Bundle is not the one this "
                          "correction signed (SHA-256)")
    if _sha256(signing.pdf_of(previous)) != link.pdf_sha256:
        v.problems.append(f"PDF của bản được thay thế DocumentReference/{previous['id']} khác với bản đã được tham "
                          "chiếu khi ký (mã băm SHA-256) | the replaced version's PDF is not the one this correction "
                          "signed (SHA-256)")
    return v
