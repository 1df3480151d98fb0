"""The facility's trust list: the root CAs it accepts (for Vietnam, the NEAC national roots and, for
official-duty certificates, the Government Cipher Committee's) and the licensed CAs under them.

It is configuration, not code: a folder (`signing_trust_dir`) of certificate files (.crt, .cer, .pem,
.der; PEM files may hold several). A self-signed certificate there is a trust anchor; any other is an
intermediate offered for path building. Roots are only ever added, never taken out while old
signatures may still need them (vietnam-signing.md §0.6).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from benhan import errors

SUFFIXES = (".crt", ".cer", ".pem", ".der")


@dataclass
class TrustList:
    anchors: list[asn1_x509.Certificate] = field(default_factory=list)
    intermediates: list[asn1_x509.Certificate] = field(default_factory=list)

    def add(self, cert: asn1_x509.Certificate) -> None:
        target = self.anchors if cert.self_signed in ("maybe", "yes") else self.intermediates
        if all(c.sha256 != cert.sha256 for c in target):
            target.append(cert)

    @property
    def empty(self) -> bool:
        return not self.anchors


def certificates_in(data: bytes) -> list[asn1_x509.Certificate]:
    if pem.detect(data):
        return [asn1_x509.Certificate.load(der) for kind, _, der in pem.unarmor(data, multiple=True)
                if kind == "CERTIFICATE"]
    return [asn1_x509.Certificate.load(data)]


def load(directory: Path) -> TrustList:
    """Every certificate file in `directory` (missing folder: an empty list, so signing is refused
    with a message that says what to configure)."""
    trust = TrustList()
    if not directory or str(directory) in ("", ".") or not directory.is_dir():
        return trust
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in SUFFIXES:
            continue
        try:
            for cert in certificates_in(path.read_bytes()):
                trust.add(cert)
        except (ValueError, TypeError, OSError) as exc:
            raise errors.ConfigError(f"signing trust list: {path.name} is not a certificate file ({exc})") from None
    return trust
