"""A detached JWS (RFC 7515, appendix F) over the canonical bytes of a document Bundle: the signature
a FHIR document carries in `Bundle.signature` and its Provenance, made with the same key as the PDF.

The protected header holds what a verifier needs without benhan: the algorithm, the signer's
certificate chain (`x5c`), the signing time (`sigT`, as in JAdES), the status answers fetched at
signing (`rvi`: base64 DER OCSP responses and CRLs) and a digest per Bundle entry (`dig`), so that a
verification that fails can name the entry that changed. The payload is not in the JWS; the verifier
computes it again from the Bundle.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass

import orjson
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from benhan.signing import aio
from benhan import errors
from benhan.signing.keys import SigningKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _alg(cert: asn1_x509.Certificate) -> str:
    return "ES256" if cert.public_key.algorithm == "ec" else "RS256"


def sign_detached(payload: bytes, key: SigningKey, *, signed_at: dt.datetime, digests: dict[str, str],
                  revocation: list[bytes]) -> str:
    """`header..signature` (the empty middle part is the detached payload)."""
    header = {"alg": _alg(key.cert), "typ": "JOSE", "x5c": [base64.b64encode(c.dump()).decode()
                                                            for c in [key.cert, *key.chain]],
              "sigT": signed_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "dig": digests, "rvi": [base64.b64encode(r).decode() for r in revocation]}
    protected = b64url(orjson.dumps(header, option=orjson.OPT_SORT_KEYS))
    signing_input = f"{protected}.{b64url(payload)}".encode()
    raw = aio.run(key.signer.async_sign_raw(signing_input, "sha256"))
    if header["alg"] == "ES256":      # the CMS signer gives DER; JWS wants r || s
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        r, s = decode_dss_signature(raw)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{protected}..{b64url(raw)}"


@dataclass
class Verified:
    header: dict
    certificate: x509.Certificate
    chain: list[bytes]
    signed_at: str
    valid: bool                   # the signature matches the payload and the certificate's key


def read_header(jws: str) -> dict:
    try:
        protected, middle, _ = jws.split(".")
        if middle:
            raise ValueError("not a detached JWS")
        return orjson.loads(unb64url(protected))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise errors.SignatureInvalid(f"the signature is not a detached JWS benhan can read: {exc}") from None


def verify_detached(jws: str, payload: bytes) -> Verified:
    header = read_header(jws)
    protected, _, sig = jws.split(".")
    try:
        chain = [base64.b64decode(c) for c in header["x5c"]]
        cert = x509.load_der_x509_certificate(chain[0])
    except (KeyError, IndexError, ValueError) as exc:
        raise errors.SignatureInvalid(f"the signature carries no readable certificate: {exc}") from None
    signing_input = f"{protected}.{b64url(payload)}".encode()
    raw = unb64url(sig)
    public = cert.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey) and header.get("alg") == "RS256":
            public.verify(raw, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey) and header.get("alg") == "ES256":
            from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
            public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                          signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            raise InvalidSignature()
        valid = True
    except InvalidSignature:
        valid = False
    return Verified(header, cert, chain, str(header.get("sigT", "")), valid)


def digest(data: bytes) -> str:
    return b64url(hashlib.sha256(data).digest())
