"""Checking a signed document, as `benhan verify` and the "Kiểm tra chữ ký" button do: who signed
what and when, the certificate and its status at signing, and whether anything changed since —
naming the entry (or the Composition's section) that changed. Messages in Vietnamese, English beside.

A PDF is checked signature by signature (PAdES, with only what the file embeds); a document Bundle
by its JWS (Bundle.signature) over its canonical bytes, the certificate chain it carries and the
OCSP/CRL answers recorded at signing.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field

import orjson

from benhan import errors
from benhan.documents.composition import canonical, what_changed
from benhan.fhir import resource_json
from benhan.signing import certcheck, jws
from benhan.signing.certcheck import holder_uid
from benhan.signing.trust import TrustList


@dataclass
class SignatureCheck:
    signer: str
    holder_uid: str | None
    issuer: str
    signed_at: str
    intact: bool
    certificate_status: str          # certcheck status at signing (good, revoked, …), as far as recorded
    long_term: bool
    changed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sig_field: str = ""              # a PDF signature's field ("author-…", "seal-…": whose it is)
    # RFC 3161 timestamps (a PDF's): "time — TSA" of the signature's own and of each document timestamp;
    # None where a format carries none (the Bundle's JWS: its signed PDF carries them).
    timestamp: str | None = None
    archive_timestamps: list[str] = field(default_factory=list)
    timestamps_valid: bool = True

    @property
    def ok(self) -> bool:
        return self.intact and self.certificate_status == certcheck.GOOD and not self.changed and self.timestamps_valid

    def lines(self) -> list[str]:
        state = "HỢP LỆ | VALID" if self.ok else "KHÔNG HỢP LỆ | NOT VALID"
        out = [f"{state}: ký bởi | signed by {self.signer}"
               + (f" ({self.holder_uid})" if self.holder_uid else "") + f", lúc | at {self.signed_at}",
               f"  chứng thư do | certificate by {self.issuer}; trạng thái khi ký | status at signing: "
               f"{certcheck.MESSAGES.get(self.certificate_status, (self.certificate_status,) * 2)[0]}",
               "  nội dung | content: " + ("không thay đổi từ khi ký | unchanged since signing" if self.intact
                                           else "ĐÃ THAY ĐỔI sau khi ký | CHANGED after signing")]
        if self.timestamp is not None:
            out.append(f"  dấu thời gian | timestamp: {self.timestamp}" if self.timestamp
                       else "  không có dấu thời gian | no timestamp")
        out += [f"  dấu thời gian lưu trữ | document timestamp: {a}" for a in self.archive_timestamps]
        out += [f"  đã thay đổi | changed: {c}" for c in self.changed]
        out += [f"  vấn đề | problem: {p}" for p in self.problems]
        return out


def _stamp(t) -> str:  # noqa: ANN001 - pades.Timestamp
    """"08:30:00 06/12/2026 (giờ Việt Nam), cấp bởi TSA X: hợp lệ" — the TSA's time and who vouches for it."""
    when = t.time.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%H:%M:%S %d/%m/%Y")
    state = "hợp lệ | valid" if t.valid else "KHÔNG HỢP LỆ | NOT VALID"
    return f"{when}, cấp bởi | by {t.tsa or '?'}: {state}"


def verify_pdf(data: bytes, trust: TrustList) -> list[SignatureCheck]:
    from benhan.signing import pades
    reports = pades.verify_pdf(data, trust)
    if not reports:
        raise errors.SignatureInvalid("the PDF carries no signature | tệp PDF không có chữ ký số")
    out = []
    for r in reports:
        status = certcheck.GOOD if r.trusted else (certcheck.REVOKED if any("revoked" in p for p in r.problems)
                                                   else certcheck.UNTRUSTED)
        when = r.signing_time.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%H:%M:%S %d/%m/%Y") \
            if r.signing_time else "?"
        out.append(SignatureCheck(r.signer, r.holder_uid, r.issuer, when, r.intact and r.valid, status,
                                  r.long_term, [] if r.intact else ["nội dung PDF (các trang đã ký) | the signed PDF content"],
                                  r.problems, r.field, _stamp(r.timestamp) if r.timestamp else "",
                                  [_stamp(a) for a in r.archive_timestamps],
                                  all(t.valid for t in [r.timestamp, *r.archive_timestamps] if t is not None)))
    return out


def verify_bundle(bundle: dict, trust: TrustList) -> SignatureCheck:
    signature = bundle.get("signature") or {}
    if signature.get("sigFormat") != "application/jose" or not signature.get("data"):
        raise errors.SignatureInvalid("the Bundle carries no JWS signature | Bundle không có chữ ký JWS")
    token = base64.b64decode(signature["data"]).decode()
    checked = jws.verify_detached(token, canonical(bundle))
    header = checked.header
    chain = [certcheck.as_asn1(c) for c in checked.chain]
    cert = chain[0]
    revinfo = [base64.b64decode(x) for x in header.get("rvi", [])]
    ocsp = [r for r in revinfo if _is_ocsp(r)]
    crls = [r for r in revinfo if not _is_ocsp(r)]
    try:
        moment = dt.datetime.strptime(checked.signed_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise errors.SignatureInvalid("the signature has no readable signing time") from None
    status = certcheck.check_recorded(cert, chain[1:], trust, moment, ocsp, crls)
    changed = [] if checked.valid else what_changed(bundle, header.get("dig", {}))
    if not checked.valid and not changed:
        changed = ["phần đầu của Bundle (ngoài các mục) | the Bundle's own elements"]
    return SignatureCheck(cert.subject.native.get("common_name", ""), holder_uid(cert),
                          cert.issuer.native.get("common_name", ""),
                          moment.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%H:%M:%S %d/%m/%Y"),
                          checked.valid, status.status, bool(revinfo), changed,
                          [status.detail] if status.detail and status.status != certcheck.GOOD else [])


def _is_ocsp(der: bytes) -> bool:
    from asn1crypto import ocsp
    try:
        ocsp.OCSPResponse.load(der).native
        return True
    except (ValueError, TypeError, KeyError):
        return False


def verify_file(data: bytes, trust: TrustList) -> list[SignatureCheck]:
    """A PDF or a document Bundle (JSON), told apart by its first bytes."""
    if data.lstrip()[:5] == b"%PDF-":
        return verify_pdf(data, trust)
    try:
        body = resource_json.loads(data)
    except (ValueError, orjson.JSONDecodeError):
        raise errors.SignatureInvalid("the file is neither a PDF nor a FHIR Bundle (JSON)") from None
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise errors.SignatureInvalid("the JSON file is not a FHIR Bundle")
    return [verify_bundle(body, trust)]
