"""The certificate check made later, for a signature made while neither OCSP nor CRL could be reached
(signing_offline = sign-and-recheck): the status *at the signing time* (NĐ 23/2025 Đ16), judged with
OCSP/CRL answers fetched now.

An answer fetched now is newer than the signing time; it is accepted for that earlier time
(pyhanko-certvalidator's retroactive revocation info): a "good" answer now means the certificate was
not revoked then either, and a "revoked" answer carries the revocation time, which decides whether
the signature was made before or after it. Revoked after signing: the signature stands (recorded);
revoked before: the signature was made with a revoked certificate (NĐ 23/2025 Đ15: invalid).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import crl as asn1_crl, ocsp as asn1_ocsp, x509 as asn1_x509

from benhan.signing import aio, certcheck
from benhan.signing.trust import TrustList

from pyhanko_certvalidator import ValidationContext  # noqa: E402 - certcheck silenced its import warnings


@dataclass
class LaterCheck:
    check: certcheck.CertCheck          # status at the signing time; OFFLINE: still no answer
    revoked_at: dt.datetime | None      # when an answer says the certificate was revoked (before or after)

    @property
    def revoked_before_signing(self) -> bool:
        return self.check.status == certcheck.REVOKED


def revocation_time(cert: asn1_x509.Certificate, ocsps: list[bytes], crls: list[bytes]) -> dt.datetime | None:
    """The revocation time an OCSP answer or a CRL gives for `cert`, if any says it is revoked."""
    for der in ocsps:
        try:
            basic = asn1_ocsp.OCSPResponse.load(der).basic_ocsp_response
            for single in basic["tbs_response_data"]["responses"]:
                if single["cert_id"]["serial_number"].native == cert.serial_number \
                        and single["cert_status"].name == "revoked":
                    return single["cert_status"].chosen["revocation_time"].native
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    for der in crls:
        try:
            for entry in asn1_crl.CertificateList.load(der)["tbs_cert_list"]["revoked_certificates"]:
                if entry["user_certificate"].native == cert.serial_number:
                    return entry["revocation_date"].native
        except (ValueError, TypeError, KeyError):
            continue
    return None


def check_at_signing(cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], trust: TrustList,
                     signed_at: dt.datetime, now: dt.datetime | None = None) -> LaterCheck:
    """Fetch the status now (OCSP, the CRL as fallback) and judge the certificate at `signed_at`."""
    checked_at = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    if trust.empty:
        return LaterCheck(certcheck.CertCheck(certcheck.UNTRUSTED, checked_at,
                                              detail="the trust list is empty (signing_trust_dir)"), None)
    context = ValidationContext(trust_roots=trust.anchors, other_certs=chain + trust.intermediates,
                                allow_fetching=True, revocation_mode="hard-fail", moment=signed_at,
                                retroactive_revinfo=True)
    status, detail = aio.run(certcheck._validate(cert, context))   # noqa: SLF001 - the same judgement as at signing
    ocsps, crls = [r.dump() for r in context.ocsps], [c.dump() for c in context.crls]
    result = certcheck.CertCheck(status, checked_at, ocsps, crls, detail)
    return LaterCheck(result, revocation_time(cert, ocsps, crls))
