"""HTTPS for a facility LAN: a self-signed certificate, and the check of the configured pair.

A commune station has no domain name and no public CA will certify 192.168.1.10, so the server
makes its own certificate (``benhan tls self-signed``) and staff trust it once per browser,
comparing the SHA-256 fingerprint the command prints with the one the browser shows.
``check_pair`` runs before the server starts so that a wrong path or a key of another
certificate is one clear line, not a traceback from deep inside uvicorn.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from benhan.errors import ConfigError

CERT_NAME = "benhan-cert.pem"
KEY_NAME = "benhan-key.pem"
# Apple's platforms refuse TLS server certificates valid for longer than 825 days, even
# self-signed ones a user trusted; staying under it keeps iPads at the front desk working.
DEFAULT_DAYS = 825
ALWAYS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    names: tuple[str, ...]
    not_after: dt.datetime
    fingerprint: str            # SHA-256, colon-separated hex, as browsers show it


def fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def default_hosts() -> list[str]:
    """This machine's name and its LAN address: what other PCs on the LAN will type."""
    hosts = [socket.gethostname()]
    try:
        # Connecting a UDP socket sends nothing; it only makes the OS pick the outgoing address.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            hosts.append(s.getsockname()[0])
    except OSError:
        pass
    return hosts


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_name = host.encode("idna").decode("ascii")   # a Vietnamese host name as its A-label
    except UnicodeError:
        raise ConfigError(f"{host!r} is not a host name or IP address") from None
    labels = ascii_name.rstrip(".").split(".")
    if not ascii_name or not all(label and len(label) <= 63 and label.replace("-", "").isalnum()
                                 for label in labels):
        raise ConfigError(f"{host!r} is not a host name or IP address")
    return x509.DNSName(ascii_name.lower())


def self_signed(directory: Path, hosts: list[str], days: int = DEFAULT_DAYS,
                overwrite: bool = False) -> Certificate:
    """Write <directory>/benhan-cert.pem and benhan-key.pem (ECDSA P-256, key mode 0600)."""
    if days < 1:
        raise ConfigError(f"--days must be at least 1, got {days}")
    cert_file, key_file = directory / CERT_NAME, directory / KEY_NAME
    if not overwrite and (cert_file.exists() or key_file.exists()):
        raise ConfigError(f"{cert_file} already exists; pass --force to replace it "
                          "(every browser that trusted the old certificate must then trust the new one)")
    names: list[str] = []
    for h in [*hosts, *ALWAYS]:
        if h and h not in names:
            names.append(h)
    alt_names = []
    for n in names:
        g = _general_name(n)
        if g not in alt_names:
            alt_names.append(g)

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(alt_names[0].value)),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "benhan (self-signed)")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # A day of slack: the clocks of old PCs on a LAN without NTP are often behind.
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write(key_file, key_pem, 0o600)
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return Certificate(cert_file.resolve(), key_file.resolve(), tuple(names),
                       cert.not_valid_after_utc, fingerprint(cert))


def _write(path: Path, data: bytes, mode: int) -> None:
    # Written beside the target and renamed over it: a crash never leaves half a key, and the
    # key is never readable by others, not even for the moment between create and chmod.
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if hasattr(os, "fchmod"):          # the umask may have taken bits away; not on Windows
            os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def check_pair(cert_file: Path, key_file: Path) -> Certificate:
    """Read the configured certificate and key as the server will; ConfigError naming what is wrong."""
    cert_pem = _read("tls_cert_file", cert_file)
    key_pem = _read("tls_key_file", key_file)
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise ConfigError(f"tls_cert_file {cert_file}: not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise ConfigError(f"tls_key_file {key_file}: the key is encrypted with a password; "
                          "store it unencrypted, readable by the server's user only") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"tls_key_file {key_file}: not a PEM private key") from None
    leaf = chain[0]
    if _spki(leaf.public_key()) != _spki(key.public_key()):
        raise ConfigError(f"tls_key_file {key_file} is not the key of the certificate in {cert_file}")
    try:
        # What uvicorn itself will do; catches what the checks above cannot (e.g. a key type
        # this OpenSSL refuses).
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(cert_file), str(key_file))
    except ssl.SSLError as exc:
        raise ConfigError(f"tls_cert_file/tls_key_file: OpenSSL refuses them ({exc.reason or exc})") from None
    try:
        names = tuple(str(n.value) for n in
                      leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        names = ()
    return Certificate(cert_file, key_file, names, leaf.not_valid_after_utc, fingerprint(leaf))


def _spki(public_key) -> bytes:  # noqa: ANN001 - any of cryptography's public key types
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _read(setting: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{setting} {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{setting} {path}: is a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{setting} {path}: cannot read it ({exc.strerror})") from None


def expiry_warning(cert: Certificate, now: dt.datetime | None = None) -> str | None:
    """A line to print when the certificate has expired or soon will (browsers then refuse the site)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    left = cert.not_after - now
    if left.total_seconds() <= 0:
        return f"warning: the TLS certificate {cert.cert_file} expired on {cert.not_after:%Y-%m-%d}"
    if left < dt.timedelta(days=30):
        return (f"warning: the TLS certificate {cert.cert_file} expires on {cert.not_after:%Y-%m-%d} "
                f"({left.days} days); make a new one (benhan tls self-signed --force) before then")
    return None
