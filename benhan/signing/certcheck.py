"""The certificate check made before every signature (NĐ 23/2025 Đ15–16; TT 15/2025/TT-BKHCN Appendix II):
the path to a trusted root of the facility's trust list, the validity period at the signing time,
the key usage (a signing key: non-repudiation or digital signature), and the status — OCSP from
the certificate's AIA, the CRL from its distribution point as the fallback.

The answer keeps what the law asks to keep: the OCSP responses and CRLs fetched, the result, and
the time; they are embedded in the PDF (PAdES-B-LT) and stored in the Provenance.

When neither OCSP nor CRL can be reached (an offline node) the result is `offline`: the caller
decides, by the facility's `signing_offline` setting, whether to refuse or to sign and check again
once the link is back (TT 15 Appendix II: the signer must be warned either way).
"""
from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field

from asn1crypto import x509 as asn1_x509

from benhan.signing import aio
from benhan.signing.trust import TrustList

with warnings.catch_warnings():      # pyHanko imports cryptography's deprecated DSA names at import
    warnings.simplefilter("ignore")
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator import errors as cv_errors

GOOD, REVOKED, EXPIRED, NOT_YET_VALID, UNTRUSTED, OFFLINE, WRONG_USAGE, WEAK = (
    "good", "revoked", "expired", "not-yet-valid", "untrusted", "offline", "wrong-usage", "weak-key")

# What the signer reads, in Vietnamese first (TT 15: results are reported in Vietnamese).
MESSAGES = {
    GOOD: ("Chứng thư số hợp lệ (đã kiểm tra trạng thái trực tuyến).", "The certificate is valid (status checked online)."),
    REVOKED: ("Chứng thư số đã bị thu hồi: không được ký.", "The certificate has been revoked: signing refused."),
    EXPIRED: ("Chứng thư số đã hết hạn: không được ký.", "The certificate has expired: signing refused."),
    NOT_YET_VALID: ("Chứng thư số chưa có hiệu lực: không được ký.", "The certificate is not valid yet: signing refused."),
    UNTRUSTED: ("Chứng thư số không do tổ chức chứng thực trong danh sách tin cậy cấp: không được ký.",
                "The certificate was not issued by a CA on the trust list: signing refused."),
    OFFLINE: ("Không kết nối được OCSP và CRL để kiểm tra trạng thái chứng thư số.",
              "Neither OCSP nor the CRL could be reached to check the certificate's status."),
    WRONG_USAGE: ("Chứng thư số không dùng để ký (thiếu mục đích ký số): không được ký.",
                  "The certificate is not for signing (no signing key usage): signing refused."),
    WEAK: ("Khóa của chứng thư số yếu hơn mức tối thiểu (RSA 2048, ECDSA 256): không được ký.",
           "The certificate's key is below the minimum (RSA 2048, ECDSA 256): signing refused."),
}


@dataclass
class CertCheck:
    status: str
    checked_at: dt.datetime
    ocsp: list[bytes] = field(default_factory=list)     # DER OCSP responses fetched
    crls: list[bytes] = field(default_factory=list)     # DER CRLs fetched
    detail: str = ""                                    # the validator's own words (English), for the log
    context: ValidationContext | None = None            # carries the revocation data into the PDF

    @property
    def ok(self) -> bool:
        return self.status == GOOD

    def message(self, lang: str = "vi") -> str:
        vi, en = MESSAGES[self.status]
        return vi if lang == "vi" else en


def as_asn1(der: bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(der)


def holder_uid(cert: asn1_x509.Certificate) -> str | None:
    """The subject's UID attribute (0.9.2342.19200300.100.1.1): "CCCD:001090123456" on Vietnamese
    staff certificates, how benhan maps a certificate to a staff account."""
    for rdn in cert.subject.chosen:
        for attr in rdn:
            if attr["type"].dotted == "0.9.2342.19200300.100.1.1":
                return str(attr["value"].native)
    return None


def key_strong_enough(cert: asn1_x509.Certificate) -> bool:
    """TT 15/2025 Appendix I: RSA ≥ 2048 bits, ECDSA ≥ 256 bits."""
    algo = cert.public_key.algorithm
    bits = cert.public_key.bit_size
    return (algo == "rsa" and bits >= 2048) or (algo == "ec" and bits >= 256)


def validation_context(anchors: list[asn1_x509.Certificate], intermediates: list[asn1_x509.Certificate],
                       moment: dt.datetime | None = None, fetch: bool = True) -> ValidationContext:
    return ValidationContext(trust_roots=anchors, other_certs=intermediates, allow_fetching=fetch,
                             revocation_mode="hard-fail", moment=moment)


def check(cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], trust: TrustList,
          moment: dt.datetime | None = None) -> CertCheck:
    """Check `cert` (with the intermediates that came with it in `chain`) against the trust list at
    `moment` (now)."""
    when = (moment or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    if not key_strong_enough(cert):
        return CertCheck(WEAK, when)
    if trust.empty:
        return CertCheck(UNTRUSTED, when, detail="the trust list is empty (signing_trust_dir)")
    context = validation_context(trust.anchors, chain + trust.intermediates, moment)
    status, detail = aio.run(_validate(cert, context))
    return CertCheck(status, when, [r.dump() for r in context.ocsps], [c.dump() for c in context.crls], detail,
                     context)


async def _validate(cert: asn1_x509.Certificate, context: ValidationContext) -> tuple[str, str]:
    validator = CertificateValidator(cert, validation_context=context)
    try:
        try:
            await validator.async_validate_usage({"non_repudiation"})
        except cv_errors.InvalidCertificateError:
            await validator.async_validate_usage({"digital_signature"})
        return GOOD, ""
    except cv_errors.RevokedError as exc:
        return REVOKED, str(exc)
    except cv_errors.ExpiredError as exc:
        return EXPIRED, str(exc)
    except cv_errors.NotYetValidError as exc:
        return NOT_YET_VALID, str(exc)
    except cv_errors.InsufficientRevinfoError as exc:
        return OFFLINE, str(exc)
    except cv_errors.PathBuildingError as exc:
        return UNTRUSTED, str(exc)
    except cv_errors.InvalidCertificateError as exc:
        return WRONG_USAGE, str(exc)
    except cv_errors.PathValidationError as exc:
        text = str(exc)
        return (OFFLINE if "revocation" in text.lower() else UNTRUSTED), text
    finally:
        await context.aclose()


def check_recorded(cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], trust: TrustList,
                   moment: dt.datetime, ocsp: list[bytes], crls: list[bytes]) -> CertCheck:
    """The check a verifier makes later (NĐ 23 Đ16: the status *at signing*): the path to the trust
    list at the signing time, judged only by the OCSP/CRL answers recorded then — nothing fetched."""
    if trust.empty:
        return CertCheck(UNTRUSTED, moment, detail="the trust list is empty (signing_trust_dir)")
    context = ValidationContext(trust_roots=trust.anchors, other_certs=chain + trust.intermediates,
                                allow_fetching=False, ocsps=ocsp, crls=crls, revocation_mode="hard-fail",
                                moment=moment)
    status, detail = aio.run(_validate(cert, context))
    return CertCheck(status, moment, ocsp, crls, detail)
