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
from benhan.signing import certcheck

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
        return certcheck.holder_uid(self.cert)


def from_pkcs12(data: bytes, password: str) -> SigningKey:
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=password.encode())
    except (ValueError, TypeError) as exc:
        raise KeyUnavailable(f"không mở được tệp PKCS#12 (sai mật khẩu?) | the PKCS#12 file could not be opened (wrong password?): {exc}") from None
    if signer is None or signer.signing_cert is None:
        raise KeyUnavailable("tệp PKCS#12 không có chứng thư và khóa | the PKCS#12 file holds no certificate and key")
    chain = [c for c in signer.cert_registry if c.dump() != signer.signing_cert.dump()]
    return SigningKey(signer, signer.signing_cert, chain, "pkcs12")


@contextmanager
def from_token(module: str, token_label: str, pin: str, key_label: str | None = None) -> Iterator[SigningKey]:
    """A signing key on a PKCS#11 token, open for the duration of the `with` block."""
    import pkcs11
    try:
        session = open_pkcs11_session(module, token_criteria=TokenCriteria(label=token_label), user_pin=pin)
    except pkcs11.exceptions.PinIncorrect:
        raise KeyUnavailable("sai mã PIN của token | wrong token PIN") from None
    except pkcs11.exceptions.PinLocked:
        raise KeyUnavailable("mã PIN của token đã bị khóa | the token's PIN is locked") from None
    except (pkcs11.exceptions.PKCS11Error, OSError, Exception) as exc:   # no token, no module…
        if isinstance(exc, errors.BenhanError):
            raise
        raise KeyUnavailable(f"không mở được token {token_label!r} | the token {token_label!r} could not be opened: {type(exc).__name__}") from None
    try:
        try:
            signer = PKCS11Signer(session, cert_label=key_label, key_label=key_label)
            cert = signer.signing_cert
        except Exception as exc:   # noqa: BLE001 - any token error is one clear message
            raise KeyUnavailable(f"token không có khóa và chứng thư để ký | no signing key and certificate labelled {key_label!r} on the token: "
                                 f"{type(exc).__name__}") from None
        chain = [c for c in signer.cert_registry if c.dump() != cert.dump()]
        yield SigningKey(signer, cert, chain, "pkcs11")
    finally:
        session.close()


def find_token(module: str, holder_uid: str) -> str:
    """The label of the plugged-in token whose certificate belongs to `holder_uid` ("CCCD:…"):
    certificates on a token are public objects, read without the PIN."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    try:
        lib = pkcs11.lib(module)
        lib.reinitialize()                       # a token plugged in since the last look
        tokens = list(lib.get_tokens())
    except (pkcs11.exceptions.PKCS11Error, OSError, RuntimeError) as exc:
        raise KeyUnavailable(f"không nạp được thư viện token {module} | the token library {module} could not be loaded: {type(exc).__name__}") from None
    for token in tokens:
        try:
            with token.open() as session:
                for cert in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
                    parsed = asn1_x509.Certificate.load(cert[Attribute.VALUE])
                    if certcheck.holder_uid(parsed) == holder_uid:
                        return token.label
        except pkcs11.exceptions.PKCS11Error:
            continue
    raise KeyUnavailable("không thấy token chứa chứng thư số của bạn | no token with your certificate is plugged in")
