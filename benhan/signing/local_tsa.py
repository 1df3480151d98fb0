"""A local RFC 3161 time-stamping authority: the tests' and the demo's stand-in for a licensed TSA
(a public CA's or the VGCA's timestamp service, vietnam-signing.md §2.3), reached over HTTP exactly
as benhan reaches a real one (POST application/timestamp-query, answer application/timestamp-reply).

Its certificate is issued by the local CA with the critical timeStamping extended key usage that
RFC 3161 §2.3 requires of a TSA, and names the CA's OCSP responder like any other certificate, so a
timestamp it makes can be validated — and its status embedded — the way a real one is.

The clock is injected (`now`) so a test can play a TSA whose time it knows; `answering` switched off
plays a TSA that cannot be reached (the connection is closed without an answer), `refusing` one that
answers every request with a rejection.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import algos, cms, core, tsp, x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from benhan.signing.local_ca import Issued, LocalCA

# An OID of our own (2.25 = a UUID turned into an integer, no registration needed) naming the policy
# under which the stand-in makes its timestamps.
POLICY = "2.25.203405125458393011432215634416370412633"
HASHES = {"sha256", "sha384", "sha512"}


def _sequence(content: bytes) -> bytes:
    """A DER SEQUENCE around `content`."""
    n = len(content)
    length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x30" + length + content


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LocalTSA:
    """Makes RFC 3161 timestamp responses with a certificate of `ca`."""

    def __init__(self, ca: LocalCA, name: str = "benhan Demo TSA", now: Callable[[], dt.datetime] | None = None):
        self.ca = ca
        self.issued: Issued = ca.issue_timestamping(name)
        self.now = now or _utc_now
        self._serials = itertools.count(int(_utc_now().timestamp()) * 1000)
        self.cert = asn1_x509.Certificate.load(self.issued.cert.public_bytes(serialization.Encoding.DER))
        self.chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in self.issued.chain]

    def _rejection(self, failure: str, text: str) -> bytes:
        # A TimeStampResp with its status only (asn1crypto's class insists on a token, so it is wrapped here).
        status = tsp.PKIStatusInfo({"status": "rejection", "status_string": [text],
                                    "fail_info": tsp.PKIFailureInfo({failure})}).dump()
        return _sequence(status)

    def respond(self, der_request: bytes) -> bytes:
        """The DER TimeStampResp for a DER TimeStampReq."""
        try:
            request = tsp.TimeStampReq.load(der_request)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
        except (ValueError, TypeError, KeyError):
            return self._rejection("bad_data_format", "not a TimeStampReq")
        if algorithm not in HASHES:
            return self._rejection("bad_alg", f"hash {algorithm} not accepted")
        if len(digest) != hashlib.new(algorithm).digest_size:
            return self._rejection("bad_data_format", "the imprint's length does not match its hash")
        when = self.now().astimezone(dt.timezone.utc).replace(microsecond=0)
        info = {"version": "v1", "policy": POLICY, "message_imprint": imprint, "serial_number": next(self._serials),
                "gen_time": when, "accuracy": {"seconds": 1},
                "tsa": asn1_x509.GeneralName({"directory_name": self.cert.subject})}
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"].native
        tst_info = tsp.TSTInfo(info)
        content = tst_info.dump()
        cert_der = self.cert.dump()
        attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
            # RFC 5816: the TSA names its certificate by hash, so a token cannot be re-attributed.
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2({
                "certs": [tsp.ESSCertIDv2({"hash_algorithm": {"algorithm": "sha256"},
                                           "cert_hash": hashlib.sha256(cert_der).digest()})]})]}),
        ])
        signature = self.issued.key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": self.cert.issuer, "serial_number": self.cert.serial_number})}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
            "signature": signature})
        signed = cms.SignedData({
            "version": "v3", "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "certificates": [self.cert, *self.chain] if request["cert_req"].native else [],
            "signer_infos": [signer]})
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


class TsaServer:
    """The TSA on a local port, in a thread (POST / with a timestamp query)."""

    def __init__(self, tsa: LocalTSA, host: str = "127.0.0.1", port: int = 0):
        self.tsa = tsa
        self.answering = True
        self.refusing = False           # answer every request with a rejection (a TSA out of service)
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002 - quiet in tests and the demo
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                if not server.answering:
                    self.close_connection = True
                    self.connection.close()
                    return
                answer = (server.tsa._rejection("system_failure", "out of service") if server.refusing  # noqa: SLF001
                          else server.tsa.respond(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, name="local-tsa", daemon=True)

    def __enter__(self) -> "TsaServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
