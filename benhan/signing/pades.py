"""PAdES signatures on the record's PDFs (ETSI EN 319 142, the format TT 15/2025 names for PDF), made
and checked with pyHanko.

A signature is added as an incremental update, so the first signer's signature stays valid when the
patient's confirmation or the facility's seal is added after it. Each carries the certificate chain
and, when the status could be checked, the OCSP responses / CRLs of that check in the document
security store: PAdES-B-LT, verifiable years later without reaching the CA. The visible mark
("Đã ký số bởi …") is drawn by the form's renderer before signing, in the form's own font; the
signature field itself is invisible.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import warnings
from dataclasses import dataclass, field

from asn1crypto import x509 as asn1_x509

from benhan.signing import aio
from benhan import errors
from benhan.signing.certcheck import GOOD, CertCheck, holder_uid
from benhan.signing.keys import SigningKey
from benhan.signing.timestamps import TimestampRequestError, Tsa, token_time, token_tsa
from benhan.signing.trust import TrustList

with warnings.catch_warnings():      # pyHanko imports cryptography's deprecated DSA names at import
    warnings.simplefilter("ignore")
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator import errors as cv_errors


# pyHanko warns that revocation data is embedded with fetching off: that is the design here (the data
# come from the check made just before), not a problem to print on the operator's console.
logging.getLogger("pyhanko.sign.signers.pdf_signer").setLevel(logging.ERROR)


def sign_pdf(pdf: bytes, key: SigningKey, check: CertCheck, trust: TrustList, *,
             field_name: str, reason: str, location: str = "", name: str = "", tsa: Tsa | None = None) -> bytes:
    """Sign `pdf` with `key` after `check` (made just before). With a good check the revocation data
    fetched by it is embedded (B-LT); with an offline check allowed by the facility, none is (B-B),
    and the signature is checked again once the link is back.

    With a `tsa` the signature gets a signature timestamp (B-T), and with a good check also a document
    timestamp after the validation data (B-LTA); the TSA's own certificate status is fetched for that
    (the TSA answered, so the link is up). A TSA that cannot be reached raises TimestampUnavailable:
    the caller decides what to do (documents.signing signs again without, and records it)."""
    stamped_lta = tsa is not None and check.status == GOOD
    if check.status == GOOD:
        context = ValidationContext(trust_roots=trust.anchors, other_certs=key.chain + trust.intermediates,
                                    allow_fetching=stamped_lta, ocsps=check.ocsp, crls=check.crls,
                                    revocation_mode="hard-fail")
    else:
        context = ValidationContext(trust_roots=trust.anchors, other_certs=key.chain + trust.intermediates,
                                    allow_fetching=False, ocsps=[], crls=[], revocation_mode="soft-fail")
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=check.status == GOOD, validation_context=context, use_pades_lta=stamped_lta,
        reason=reason, location=location or None, name=name or None)

    async def run() -> io.BytesIO:
        try:
            return await signers.async_sign_pdf(
                writer, meta, signer=key.signer, timestamper=tsa.timestamper() if tsa is not None else None,
                new_field_spec=fields.SigFieldSpec(field_name, on_page=-1))
        finally:
            await context.aclose()

    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = aio.run(run())
    except PdfReadError as exc:
        raise errors.SignatureInvalid(f"the file is not a PDF benhan can sign: {exc}") from None
    except TimestampRequestError as exc:
        raise errors.TimestampUnavailable(
            f"máy chủ cấp dấu thời gian {tsa.url if tsa else ''} không trả lời | the time-stamping authority "
            f"did not answer: {exc}") from None
    except (cv_errors.PathError, cv_errors.ValidationError) as exc:
        if not stamped_lta:
            raise
        # The signer's certificate was checked just before: what fails here is the TSA's own (B-LTA
        # validates it to embed its status), e.g. a TSA whose CA is not on the trust list.
        refused = errors.TimestampUnavailable(
            f"chứng thư của máy chủ cấp dấu thời gian không kiểm tra được | the TSA's certificate could not be "
            f"validated: {exc}")
        refused.tsa_untrusted = True
        raise refused from None
    return out.getvalue()


def timestamps_in(pdf: bytes) -> list[tuple[str, str, str]]:
    """(kind, ISO time, TSA) of each timestamp token in `pdf`, read without validating: "signature" for
    a signature's own timestamp (unsigned attribute), "document" for a document timestamp."""
    from asn1crypto import cms
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except (PdfReadError, ValueError, KeyError):
        return []
    out = []
    for sig in signatures:
        if sig.sig_object_type == "/DocTimeStamp":
            tokens, kind = [sig.signed_data], "document"
        else:
            tokens, kind = list(extract_tst_data_iter(sig.signer_info, signed=False)), "signature"
        for signed_data in tokens:
            token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
            out.append((kind, token_time(token).isoformat(), token_tsa(token)))
    return out


@dataclass
class Timestamp:
    """An RFC 3161 timestamp found in the file: the TSA's time, who made it, whether it holds."""
    time: dt.datetime
    tsa: str
    valid: bool                     # intact, cryptographically sound, and the TSA's certificate trusted
    problem: str = ""


@dataclass
class PdfSignatureReport:
    field: str
    signer: str                     # the certificate's common name
    holder_uid: str | None          # "CCCD:…" when the certificate carries it
    issuer: str
    signing_time: dt.datetime | None
    intact: bool                    # the signed bytes are unchanged
    valid: bool                     # the cryptographic signature holds
    trusted: bool                   # the certificate chains to the trust list and was not revoked
    long_term: bool                 # revocation data embedded: verifiable without the CA (B-LT)
    covers_whole_file: bool         # nothing was added after this signature
    changes_after: str              # what was added after signing (pyHanko's modification level)
    problems: list[str] = field(default_factory=list)
    timestamp: Timestamp | None = None                  # the signature timestamp (B-T), if any
    archive_timestamps: list[Timestamp] = field(default_factory=list)   # document timestamps after it (B-LTA)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted


def _name(cert: asn1_x509.Certificate) -> str:
    return cert.subject.native.get("common_name", "") if cert is not None else ""


def verify_pdf(pdf: bytes, trust: TrustList) -> list[PdfSignatureReport]:
    """Every signature of `pdf`, checked against the trust list with only what the file embeds
    (no fetching: a signature is judged by the status recorded at signing, as NĐ 23 Đ16 asks)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError) as exc:
        raise errors.SignatureInvalid(f"the file is not a readable PDF: {exc}") from None
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:   # noqa: BLE001 - no DSS: the signatures are not long-term
        dss = None
    regular = [s for s in signatures if s.sig_object_type != "/DocTimeStamp"]
    archives = [aio.run(_document_timestamp(s, trust, dss)) for s in signatures
                if s.sig_object_type == "/DocTimeStamp"]
    reports = [aio.run(_report(sig, trust, dss)) for sig in regular]
    for report in reports:
        report.archive_timestamps = list(archives)
    return reports


def _context(trust: TrustList, dss) -> ValidationContext:  # noqa: ANN001
    kwargs = {"trust_roots": trust.anchors, "other_certs": trust.intermediates, "allow_fetching": False,
              "revocation_mode": "hard-fail"}
    return dss.as_validation_context(kwargs) if dss is not None else ValidationContext(**kwargs, crls=[], ocsps=[])


def _tsa_name(status=None, signed_data=None) -> str:  # noqa: ANN001
    """The TSA's name: its certificate's common name as the validator found it, else the token's own."""
    cert = getattr(status, "signing_cert", None)
    if cert is not None:
        return _name(cert)
    from asn1crypto import cms
    try:
        return token_tsa(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}))
    except (KeyError, ValueError, IndexError, TypeError, AttributeError):
        return ""


async def _document_timestamp(sig, trust: TrustList, dss) -> Timestamp:  # noqa: ANN001
    """A document timestamp (B-LTA): checked with what the file embeds, like the signatures."""
    context = _context(trust, dss)
    try:
        status = await async_validate_pdf_timestamp(sig, validation_context=context)
    except Exception as exc:   # noqa: BLE001 - reported, not raised
        return Timestamp(sig.self_reported_timestamp or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
                         _tsa_name(signed_data=sig.signed_data), False, f"{type(exc).__name__}: {exc}")
    ok = status.intact and status.valid and status.trusted
    return Timestamp(status.timestamp, _tsa_name(status, sig.signed_data), ok,
                     "" if ok else "the document timestamp does not hold or its TSA is not trusted")


async def _report(sig, trust: TrustList, dss) -> PdfSignatureReport:  # noqa: ANN001
    long_term = dss is not None
    context = _context(trust, dss)
    problems: list[str] = []
    try:
        status = await async_validate_pdf_signature(sig, context, ts_validation_context=_context(trust, dss))
    except Exception as exc:   # noqa: BLE001 - a signature we cannot parse is reported, not raised
        cert = sig.signer_cert
        return PdfSignatureReport(sig.field_name, _name(cert), holder_uid(cert) if cert else None, "", None,
                                  False, False, False, False, False, "", [f"{type(exc).__name__}: {exc}"])
    if not status.intact:
        problems.append("the signed bytes changed after signing")
    if not status.valid:
        problems.append("the signature value does not match the certificate's key")
    if not status.trusted:
        problems.append("the certificate does not chain to the trust list, was revoked, "
                        "or its status at signing is not embedded")
    if status.revoked:
        problems.append("the certificate was revoked")
    level = status.modification_level.name if status.modification_level is not None else ""
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    cert = status.signing_cert
    stamp = None
    if status.timestamp_validity is not None:
        tv = status.timestamp_validity
        ok = tv.intact and tv.valid and tv.trusted
        stamp = Timestamp(tv.timestamp, _tsa_name(tv), ok,
                          "" if ok else "the signature timestamp does not hold or its TSA is not trusted")
        if not ok:
            problems.append(stamp.problem)
    return PdfSignatureReport(
        sig.field_name, _name(cert), holder_uid(cert), cert.issuer.native.get("common_name", ""),
        status.signer_reported_dt, status.intact, status.valid, status.trusted, long_term and status.trusted,
        whole, level, problems, stamp)

