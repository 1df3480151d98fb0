"""A stand-in remote-signing service on a local port, speaking benhan's contract
(benhan/signing/remote.py) and checking like a real one: the bearer key, known user ids only, digests of
exactly 32 bytes in base64 (1–10 of them), a request id never reused, and a transaction that goes
pending → approved / refused / expired only when the test (the 'phone') says so. Its users' keys
are issued by the tests' LocalCA; an approved transaction answers raw PKCS#1 v1.5 signature values
over the digests and the certificate chain."""
from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from benhan.signing.local_ca import Issued


class RemoteSigningStandIn:
    def __init__(self, key: str = "remote-test-key"):
        self.key = key
        self.users: dict[str, Issued] = {}
        self.transactions: dict[str, dict] = {}
        self.requests: set[str] = set()
        self.calls: list[str] = []          # every request path, so a test can tell nothing was sent
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                stand_in.calls.append(f"{self.command} {self.path}")
                if self.headers.get("Authorization") != f"Bearer {stand_in.key}":
                    self._answer(401, {"error": "bad key"})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802
                if not self._authorised():
                    return None
                parts = [unquote(p) for p in self.path.removeprefix("/v1").strip("/").split("/")]
                if len(parts) == 3 and parts[0] == "users" and parts[2] == "certificates":
                    user = stand_in.users.get(parts[1])
                    if user is None:
                        return self._answer(404, {"error": "unknown user"})
                    return self._answer(200, {"certificates": stand_in.chain(parts[1])})
                if len(parts) == 2 and parts[0] == "transactions":
                    transaction = stand_in.transactions.get(parts[1])
                    if transaction is None:
                        return self._answer(404, {"error": "unknown transaction"})
                    body = {"status": transaction["status"]}
                    if transaction["status"] == "approved":
                        issued = stand_in.users[transaction["user_id"]]
                        body["signatures"] = [base64.b64encode(issued.key.sign(
                            d, padding.PKCS1v15(), Prehashed(hashes.SHA256()))).decode() for d in transaction["digests"]]
                        body["certificates"] = stand_in.chain(transaction["user_id"])
                    return self._answer(200, body)
                return self._answer(404, {"error": "no such endpoint"})

            def do_POST(self) -> None:  # noqa: N802
                if not self._authorised():
                    return None
                if self.path != "/v1/sign":
                    return self._answer(404, {"error": "no such endpoint"})
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                    request_id, user_id, digests = body["request_id"], body["user_id"], body["digests"]
                    if body["hash_algorithm"] != "SHA-256" or not isinstance(body["description"], str):
                        raise ValueError("hash_algorithm/description")
                    if not isinstance(digests, list) or not 1 <= len(digests) <= 10:
                        raise ValueError("digests")
                    raw = [base64.b64decode(d, validate=True) for d in digests]
                    if any(len(d) != 32 for d in raw):
                        raise ValueError("a digest is not 32 bytes")
                except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                    return self._answer(400, {"error": f"malformed: {exc}"})
                if user_id not in stand_in.users:
                    return self._answer(404, {"error": "unknown user"})
                if request_id in stand_in.requests:
                    return self._answer(409, {"error": "duplicate request_id"})
                stand_in.requests.add(request_id)
                transaction_id = str(uuid.uuid4())
                stand_in.transactions[transaction_id] = {"status": "pending", "user_id": user_id, "digests": raw,
                                                         "description": body["description"]}
                return self._answer(200, {"transaction_id": transaction_id, "expires_at": "2099-01-01T00:00:00Z"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def chain(self, user_id: str) -> list[str]:
        issued = self.users[user_id]
        return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in [issued.cert, *issued.chain]]

    # --- the signer's phone ----------------------------------------------------------------------

    def settle(self, transaction_id: str, status: str) -> None:
        """The signer approves or refuses on her phone, or the request times out at the service."""
        assert status in ("approved", "refused", "expired")
        transaction = self.transactions[transaction_id]
        assert transaction["status"] == "pending", "a settled request stays settled"
        transaction["status"] = status

    def __enter__(self) -> "RemoteSigningStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
