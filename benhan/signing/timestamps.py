"""RFC 3161 timestamps from the facility's time-stamping authority (a licensed TSA: a public CA's or
the VGCA's, vietnam-signing.md §2.3 and §4.3), when one is configured (`signing_tsa_url`).

A signature timestamp proves the signature existed at the TSA's time, not only at the time the
signer's computer claims (PAdES-B-T); with the OCSP/CRL answers in the document security store it is
B-LT, and a document timestamp over the whole file with the validation data makes it PAdES-B-LTA, the
level that keeps a record verifiable for the 10–30 years it is kept (re-timestamped later when the
algorithms age). pyHanko's HTTP timestamper does the protocol; this module holds the settings and
reads what a token says (its time and its TSA) for the record and the verifier.
"""
from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

from asn1crypto import cms

with warnings.catch_warnings():      # pyHanko imports cryptography's deprecated DSA names at import
    warnings.simplefilter("ignore")
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

NO_TIMESTAMP = "không có dấu thời gian (chưa cấu hình máy chủ cấp dấu thời gian) | no timestamp (no TSA configured)"
UNAVAILABLE = ("không có dấu thời gian: máy chủ cấp dấu thời gian không trả lời khi ký | no timestamp: the TSA did "
               "not answer at signing")

TSA_UNTRUSTED = ("không có dấu thời gian: chứng thư của máy chủ cấp dấu thời gian không kiểm tra được (không thuộc "
                 "danh sách tin cậy hoặc không rõ trạng thái) | no timestamp: the TSA's certificate could not be "
                 "validated (not on the trust list, or its status unknown)")

__all__ = ["Tsa", "TimestampRequestError", "token_time", "token_tsa", "NO_TIMESTAMP", "UNAVAILABLE", "TSA_UNTRUSTED"]


@dataclass(frozen=True)
class Tsa:
    """Where and how to ask for timestamps. A TSA that requires an account gets HTTP basic credentials."""
    url: str
    username: str = ""
    password: str = ""
    timeout: float = 10.0

    def timestamper(self) -> RequestsHTTPTimeStamper:
        auth = (self.username, self.password) if self.username else None
        return _Timestamper(self.url, timeout=self.timeout, auth=auth)


class _Timestamper(RequestsHTTPTimeStamper):
    """pyHanko's HTTP timestamper, with a refusal (a TimeStampResp without a token, which asn1crypto
    cannot parse lazily) reported as a TimestampRequestError like any other TSA failure."""

    async def async_request_tsa_response(self, req):  # noqa: ANN001, ANN201
        response = await super().async_request_tsa_response(req)
        try:
            status = response["status"]
            status.native
        except ValueError:
            from asn1crypto import core, tsp
            try:
                info = tsp.PKIStatusInfo.load(core.Sequence.load(response.dump()).contents)
                text = f"{info['status'].native}: {'; '.join(info['status_string'].native or [])}"
            except ValueError:
                text = "an answer that is not a TimeStampResp"
            raise TimestampRequestError(f"the TSA refused the request ({text})") from None
        return response


def from_settings(url: str, username: str = "", password: str = "") -> Tsa | None:
    """The configured TSA, or None when `signing_tsa_url` is empty (signatures then carry no timestamp)."""
    url = (url or "").strip()
    return Tsa(url, username or "", password or "") if url else None


def _tst_info(token: cms.ContentInfo):  # noqa: ANN202
    return token["content"]["encap_content_info"]["content"].parsed


def token_time(token: cms.ContentInfo) -> dt.datetime:
    """The TSA's time (genTime) of a timestamp token."""
    return _tst_info(token)["gen_time"].native


def token_tsa(token: cms.ContentInfo) -> str:
    """Who made the token: the TSA's certificate common name (else the name the token gives itself)."""
    signed = token["content"]
    sid = signed["signer_infos"][0]["sid"].chosen
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        if isinstance(sid, cms.IssuerAndSerialNumber) and cert.serial_number == sid["serial_number"].native \
                and cert.issuer == sid["issuer"]:
            return cert.subject.native.get("common_name", "") or cert.subject.human_friendly
    name = _tst_info(token)["tsa"]
    return name.chosen.human_friendly if name.native is not None else ""
