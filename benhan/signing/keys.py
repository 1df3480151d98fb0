"""Where a signer's key lives: a PKCS#11 USB token (how Vietnamese clinicians hold their certificates;
SoftHSM2 stands in for one in tests), or a PKCS#12 file (a facility's seal kept on its server, or a
certificate exported from a token). Both give a pyHanko signer, which signs PDFs (PAdES) and raw
bytes (the JWS over a document Bundle) with the same key.

The PIN is used for one signing and dropped; nothing here stores it.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Iterator

from asn1crypto import x509 as asn1_x509

from benhan import errors

with warnings.catch_warnings():      # pyHanko imports cryptography's deprecated DSA names at import
    warnings.simplefilter("ignore")
    from pyhanko.sign import signers
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    from pyhanko.config.pkcs11 import TokenCriteria


KeyUnavailable = errors.SigningKeyUnavailable   # the token, file or PIN gave no signing key


@dataclass
class SigningKey:
    signer: signers.Signer
    cert: asn1_x509.Certificate
    chain: list[asn1_x509.Certificate]      # intermediates (and root) that came with the key
    source: str                             # "pkcs11" | "pkcs12"

    @property
    def holder_uid(self) -> str | None:
        """The subject's UID attribute: "CCCD:001090123456" on Vietnamese staff certificates."""
        for rdn in self.cert.subject.chosen:
            for attr in rdn:
                if attr["type"].dotted == "0.9.2342.19200300.100.1.1":
                    return str(attr["value"].native)
        return None


def from_pkcs12(data: bytes, password: str) -> SigningKey:
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=password.encode())
    except (ValueError, TypeError) as exc:
        raise KeyUnavailable(f"the PKCS#12 file could not be opened (wrong password?): {exc}") from None
    if signer is None or signer.signing_cert is None:
        raise KeyUnavailable("the PKCS#12 file holds no certificate and key")
    chain = [c for c in signer.cert_registry if c.dump() != signer.signing_cert.dump()]
    return SigningKey(signer, signer.signing_cert, chain, "pkcs12")


@contextmanager
def from_token(module: str, token_label: str, pin: str, key_label: str | None = None) -> Iterator[SigningKey]:
    """A signing key on a PKCS#11 token, open for the duration of the `with` block."""
    import pkcs11
    try:
        session = open_pkcs11_session(module, token_criteria=TokenCriteria(label=token_label), user_pin=pin)
    except pkcs11.exceptions.PinIncorrect:
        raise KeyUnavailable("wrong token PIN") from None
    except pkcs11.exceptions.PinLocked:
        raise KeyUnavailable("the token's PIN is locked") from None
    except (pkcs11.exceptions.PKCS11Error, OSError, Exception) as exc:   # no token, no module…
        if isinstance(exc, errors.BenhanError):
            raise
        raise KeyUnavailable(f"the token {token_label!r} could not be opened: {type(exc).__name__}") from None
    try:
        try:
            signer = PKCS11Signer(session, cert_label=key_label, key_label=key_label)
            cert = signer.signing_cert
        except Exception as exc:   # noqa: BLE001 - any token error is one clear message
            raise KeyUnavailable(f"no signing key and certificate labelled {key_label!r} on the token: "
                                 f"{type(exc).__name__}") from None
        chain = [c for c in signer.cert_registry if c.dump() != cert.dump()]
        yield SigningKey(signer, cert, chain, "pkcs11")
    finally:
        session.close()
