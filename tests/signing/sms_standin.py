"""A stand-in SMS gateway on a local port that checks what it receives as a brandname SMS provider
does: the bearer key, a Vietnamese mobile number, one GSM-7 message (ASCII, ≤ 160 characters), a
request id never seen before. It keeps what it sent, so a test reads the code off the 'phone'."""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benhan.vn.phone import phone_problems


class SmsStandIn:
    def __init__(self, key: str = "sms-test-key"):
        self.key = key
        self.sent: list[dict] = []
        self.seen: set[str] = set()
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

            def do_POST(self) -> None:  # noqa: N802
                if self.headers.get("Authorization") != f"Bearer {stand_in.key}":
                    return self._answer(401, {"error": "bad key"})
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                    to, text, request_id = body["to"], body["text"], body["request_id"]
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"error": "malformed"})
                if phone_problems(to, mobile_only=True) or not to.startswith("0"):
                    return self._answer(400, {"error": "not a Vietnamese mobile number"})
                if not text.isascii() or len(text) > 160:
                    return self._answer(400, {"error": "not one GSM-7 message"})
                if request_id in stand_in.seen:
                    return self._answer(409, {"error": "duplicate request_id"})
                stand_in.seen.add(request_id)
                message_id = str(uuid.uuid4())
                stand_in.sent.append({"to": to, "text": text, "message_id": message_id})
                return self._answer(200, {"message_id": message_id})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "SmsStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
