"""Signing in two steps, for a key benhan never holds (a remote-signing service's HSM): first everything
up to the value to be signed — the PDF with its signature placeholder and the PAdES signed attributes,
the JWS signing input — and the SHA-256 digests the service must sign; later, given the raw signature
values, the finished PAdES-B-LT PDF and detached JWS.

Between the two steps only plain bytes are kept (`PreparedPdf.to_json`), so a pending signature
survives a server restart: the document waits in the database while the doctor approves on her phone.
pyHanko's interrupted signing (`PdfSigner.async_digest_doc_for_signing`, `ExternalSigner`,
`PdfTBSDocument.resume_signing`) does the PDF part; the revocation data of the check made before the
request are written to the document security store afterwards (B-LT), as `pades.sign_pdf` does.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import warnings
from dataclasses import dataclass

from asn1crypto import cms, crl as asn1_crl, ocsp as asn1_ocsp, x509 as asn1_x509

from benhan.signing import aio, jws
from benhan.signing.certcheck import GOOD, CertCheck
from benhan.signing.keys import SigningKey
from benhan.signing.trust import TrustList

with warnings.catch_warnings():      # pyHanko imports cryptography's deprecated DSA names at import
    warnings.simplefilter("ignore")
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _signature_size(cert: asn1_x509.Certificate) -> int:
    """A placeholder as long as the real value, so the space reserved in the PDF fits it."""
    return cert.public_key.bit_size // 8 if cert.public_key.algorithm == "rsa" else 72


def external_key(cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate],
                 signature: bytes | None = None) -> SigningKey:
    """A SigningKey whose signature value comes from elsewhere (the remote service)."""
    signer = signers.ExternalSigner(cert, SimpleCertificateStore.from_certs([cert, *chain]),
                                    signature if signature is not None else _signature_size(cert))
    return SigningKey(signer, cert, chain, "remote")


@dataclass
class PreparedPdf:
    """A PDF with its signature placeholder, waiting for the value that fills it."""
    tbs: bytes                   # the whole file, placeholder included
    document_digest: bytes       # SHA-256 over the /ByteRange
    region_start: int
    region_end: int
    signed_attrs: bytes          # DER of the CMS signed attributes; their SHA-256 is what is signed

    @property
    def to_be_signed(self) -> bytes:
        return hashlib.sha256(self.signed_attrs).digest()

    def to_json(self) -> dict:
        return {"tbs": _b64(self.tbs), "digest": _b64(self.document_digest), "start": self.region_start,
                "end": self.region_end, "attrs": _b64(self.signed_attrs)}

    @classmethod
    def from_json(cls, data: dict) -> "PreparedPdf":
        return cls(base64.b64decode(data["tbs"]), base64.b64decode(data["digest"]), int(data["start"]),
                   int(data["end"]), base64.b64decode(data["attrs"]))


def _context(key: SigningKey, check: CertCheck, trust: TrustList) -> ValidationContext:
    if check.status == GOOD:
        return ValidationContext(trust_roots=trust.anchors, other_certs=key.chain + trust.intermediates,
                                 allow_fetching=False, ocsps=check.ocsp, crls=check.crls, revocation_mode="hard-fail")
    return ValidationContext(trust_roots=trust.anchors, other_certs=key.chain + trust.intermediates,
                             allow_fetching=False, ocsps=[], crls=[], revocation_mode="soft-fail")


def prepare_pdf(pdf: bytes, key: SigningKey, check: CertCheck, trust: TrustList, *, field_name: str,
                reason: str, location: str = "", name: str = "") -> PreparedPdf:
    """Step one: the placeholder is reserved, the byte range digested, the signed attributes built."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=False, validation_context=_context(key, check, trust),
        reason=reason, location=location or None, name=name or None)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    pdf_signer = signers.PdfSigner(meta, signer=key.signer,
                                   new_field_spec=fields.SigFieldSpec(field_name, on_page=-1))

    async def run() -> tuple[PreparedByteRangeDigest, bytes, cms.CMSAttributes]:
        prepared, _tbs, output = await pdf_signer.async_digest_doc_for_signing(writer)
        attrs = await key.signer.signed_attrs(prepared.document_digest, "sha256", use_pades=True)
        return prepared, output.getvalue(), attrs

    prepared, tbs, attrs = aio.run(run())
    return PreparedPdf(tbs, prepared.document_digest, prepared.reserved_region_start,
                       prepared.reserved_region_end, attrs.dump())


def finish_pdf(prepared: PreparedPdf, signature: bytes, cert: asn1_x509.Certificate,
               chain: list[asn1_x509.Certificate], check: CertCheck) -> bytes:
    """Step two: the CMS around the service's signature value fills the placeholder; with a good check
    the certificates and the status answers go into the document security store (PAdES-B-LT)."""
    key = external_key(cert, chain, signature)
    digest = PreparedByteRangeDigest(prepared.document_digest, prepared.region_start, prepared.region_end)

    async def run() -> bytes:
        signed_attrs = cms.CMSAttributes.load(prepared.signed_attrs)
        container = await key.signer.async_sign_prescribed_attributes("sha256", signed_attrs)
        output = io.BytesIO(prepared.tbs)
        done = PdfTBSDocument.resume_signing(output, digest, container)
        if check.status == GOOD:
            DocumentSecurityStore.add_dss(
                output, done.sig_contents, certs=[cert, *chain],
                ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in check.ocsp],
                crls=[asn1_crl.CertificateList.load(c) for c in check.crls], strict=False)
        return output.getvalue()

    return aio.run(run())


class _Capture(signers.ExternalSigner):
    """Records what a signer is asked to sign (the JWS signing input) instead of signing it."""
    seen: bytes = b""

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        self.seen = data
        return await super().async_sign_raw(data, digest_algorithm, dry_run)


def jws_signing_input(payload: bytes, cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], *,
                      signed_at: dt.datetime, digests: dict[str, str], revocation: list[bytes]) -> bytes:
    """The bytes a detached JWS over `payload` signs (its header is a pure function of the arguments,
    so step two rebuilds the same header and checks it against this)."""
    capture = _Capture(cert, SimpleCertificateStore.from_certs([cert, *chain]), _signature_size(cert))
    jws.sign_detached(payload, SigningKey(capture, cert, chain, "remote"), signed_at=signed_at, digests=digests,
                      revocation=revocation)
    return capture.seen


def finish_jws(payload: bytes, signature: bytes, cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate],
               *, signed_at: dt.datetime, digests: dict[str, str], revocation: list[bytes]) -> str:
    """The detached JWS with the service's signature value over the signing input of step one."""
    return jws.sign_detached(payload, external_key(cert, chain, signature), signed_at=signed_at, digests=digests,
                             revocation=revocation)
