"""A local certificate authority with its OCSP responder and CRL: the demo facility's stand-in for
the Vietnamese PKI (a root like NEAC's, a licensed CA under it, certificates for staff and for the
facility), and the tests' real counterpart of a CA they cannot reach.

It behaves like a licensed CA where benhan looks: every certificate it issues names its OCSP
responder (AIA) and its CRL (CRL distribution point); the responder answers good / revoked /
unknown from the CA's own register, signed by the CA; the CRL lists what is revoked. A staff
certificate carries the holder's 12-digit personal ID in the subject's UID attribute
(0.9.2342.19200300.100.1.1), the way Vietnamese CAs put "CCCD:…" there (vietnam-signing.md §2),
so benhan can map a certificate to a staff account.

Nothing here is used when a facility signs with real certificates; the trust list is configuration.
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

UID = x509.ObjectIdentifier("0.9.2342.19200300.100.1.1")


def _utc(moment: dt.datetime | None) -> dt.datetime:
    return (moment or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)


def _name(common_name: str, organization: str | None = None, uid: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if uid:
        parts.append(x509.NameAttribute(UID, uid))
    return x509.Name(parts)


@dataclass
class Issued:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    chain: list[x509.Certificate]       # the issuing CA upward, root last

    def pkcs12(self, password: str, friendly_name: str = "benhan") -> bytes:
        return pkcs12.serialize_key_and_certificates(
            friendly_name.encode(), self.key, self.cert, self.chain,
            serialization.BestAvailableEncryption(password.encode()))

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class LocalCA:
    """A root and one issuing CA; `base_url` is where its responder answers (OCSP at /ocsp, CRL at /crl)."""
    base_url: str
    name: str = "benhan Demo"
    key_size: int = 2048
    root: Issued | None = None
    issuer: Issued | None = None
    revoked: dict[int, dt.datetime] = field(default_factory=dict)
    known: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        now = _utc(None)
        root_key = rsa.generate_private_key(65537, self.key_size)
        root_name = _name(f"{self.name} Root CA", f"{self.name} (thử nghiệm)")
        root_cert = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
                     .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
                     .sign(root_key, hashes.SHA256()))
        self.root = Issued(root_key, root_cert, [])
        ca_key = rsa.generate_private_key(65537, self.key_size)
        ca_cert = (x509.CertificateBuilder().subject_name(_name(f"{self.name} Signing CA", f"{self.name} (thử nghiệm)"))
                   .issuer_name(root_name).public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1825))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
                   .sign(root_key, hashes.SHA256()))
        self.issuer = Issued(ca_key, ca_cert, [root_cert])

    # --- issuing --------------------------------------------------------------------------------

    def issue(self, common_name: str, *, uid: str | None = None, organization: str | None = None,
              not_before: dt.datetime | None = None, days: int = 365, key: rsa.RSAPrivateKey | None = None,
              public_key=None) -> Issued:  # noqa: ANN001
        """A signing certificate (digitalSignature + nonRepudiation) for a person (uid = "CCCD:…")
        or the facility (organization, no uid). `public_key` signs a key generated elsewhere (a token)."""
        assert self.issuer is not None
        start = _utc(not_before) if not_before else _utc(None) - dt.timedelta(minutes=5)
        key = key if key is not None or public_key is not None else rsa.generate_private_key(65537, self.key_size)
        pub = public_key if public_key is not None else key.public_key()
        serial = x509.random_serial_number()
        cert = (x509.CertificateBuilder().subject_name(_name(common_name, organization, uid))
                .issuer_name(self.issuer.cert.subject).public_key(pub).serial_number(serial)
                .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuer.key.public_key()),
                               critical=False)
                .add_extension(x509.AuthorityInformationAccess([
                    x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                           x509.UniformResourceIdentifier(f"{self.base_url}/ocsp")),
                    x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                           x509.UniformResourceIdentifier(f"{self.base_url}/ca.crt"))]), critical=False)
                .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                    [x509.UniformResourceIdentifier(f"{self.base_url}/crl")], None, None, None)]), critical=False)
                .sign(self.issuer.key, hashes.SHA256()))
        self.known.add(serial)
        return Issued(key, cert, [self.issuer.cert, self.root.cert])   # type: ignore[union-attr]

    def issue_timestamping(self, common_name: str, days: int = 1825) -> Issued:
        """A time-stamping authority's certificate: RFC 3161 §2.3 wants the timeStamping extended key
        usage, critical and alone; it names the responder like the others, so its status can be checked."""
        assert self.issuer is not None and self.root is not None
        start = _utc(None) - dt.timedelta(minutes=5)
        key = rsa.generate_private_key(65537, self.key_size)
        serial = x509.random_serial_number()
        cert = (x509.CertificateBuilder().subject_name(_name(common_name, f"{self.name} (thử nghiệm)"))
                .issuer_name(self.issuer.cert.subject).public_key(key.public_key()).serial_number(serial)
                .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuer.key.public_key()),
                               critical=False)
                .add_extension(x509.AuthorityInformationAccess([
                    x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                           x509.UniformResourceIdentifier(f"{self.base_url}/ocsp"))]), critical=False)
                .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                    [x509.UniformResourceIdentifier(f"{self.base_url}/crl")], None, None, None)]), critical=False)
                .sign(self.issuer.key, hashes.SHA256()))
        self.known.add(serial)
        return Issued(key, cert, [self.issuer.cert, self.root.cert])

    def revoke(self, cert: x509.Certificate, when: dt.datetime | None = None) -> None:
        self.revoked[cert.serial_number] = _utc(when) - dt.timedelta(seconds=1)

    # --- status -------------------------------------------------------------------------------

    def ocsp_response(self, der_request: bytes) -> bytes:
        assert self.issuer is not None
        try:
            request = ocsp.load_der_ocsp_request(der_request)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
                serialization.Encoding.DER)
        serial = request.serial_number
        now = _utc(None)
        if serial in self.revoked:
            status, revoked_at, reason = ocsp.OCSPCertStatus.REVOKED, self.revoked[serial], x509.ReasonFlags.key_compromise
        elif serial in self.known:
            status, revoked_at, reason = ocsp.OCSPCertStatus.GOOD, None, None
        else:
            status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        # The response names the certificate as the request did (same hash algorithm and ids).
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            request.issuer_name_hash, request.issuer_key_hash, serial, request.hash_algorithm, status,
            now - dt.timedelta(minutes=1), now + dt.timedelta(hours=12), revoked_at, reason)
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.issuer.cert)
        for ext in request.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        return builder.sign(self.issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def crl(self) -> bytes:
        assert self.issuer is not None
        now = _utc(None)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.issuer.cert.subject)
                   .last_update(now - dt.timedelta(minutes=1)).next_update(now + dt.timedelta(days=1))
                   .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuer.key.public_key()),
                                  critical=False))
        for serial, when in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
        return builder.sign(self.issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def trust_pem(self) -> bytes:
        """The root and the issuing CA, as a facility would put them in its trust list folder."""
        assert self.root is not None and self.issuer is not None
        return (self.root.cert.public_bytes(serialization.Encoding.PEM)
                + self.issuer.cert.public_bytes(serialization.Encoding.PEM))


class Responder:
    """The CA's OCSP responder and CRL/certificate server on a local port, in a thread.

    `answering` can be switched off to play an unreachable responder (an offline node): requests then
    get no HTTP answer at all (the connection is closed), as when the link is down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.ca: LocalCA | None = None
        self.answering = True
        self.requests = 0
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002 - quiet in tests and the demo
                pass

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _refuse(self) -> bool:
                responder.requests += 1
                if responder.answering and responder.ca is not None:
                    return False
                self.close_connection = True
                self.connection.close()
                return True

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self._refuse():
                    return
                self._send(responder.ca.ocsp_response(body), "application/ocsp-response")  # type: ignore[union-attr]

            def do_GET(self) -> None:  # noqa: N802
                if self._refuse():
                    return
                ca = responder.ca
                assert ca is not None and ca.issuer is not None
                if self.path.startswith("/crl"):
                    self._send(ca.crl(), "application/pkix-crl")
                elif self.path.startswith("/ca.crt"):
                    self._send(ca.issuer.cert.public_bytes(serialization.Encoding.DER), "application/pkix-cert")
                else:
                    self.send_error(404)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="local-ca", daemon=True)

    def __enter__(self) -> "Responder":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
