"""A stand-in national e-prescription system on a local port: checks the linking code and password
(HTTP basic), the code's format and the facility it names, refuses a code it already holds, and keeps
what it received so a test can read it."""
from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benhan.documents import prescription_code


class NationalPrescriptionStandIn:
    def __init__(self, linking_code: str = "LT-45123", password: str = "mat-khau-lien-thong"):
        self.linking_code, self.password = linking_code, password
        self.received: dict[str, dict] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                expected = base64.b64encode(f"{stand_in.linking_code}:{stand_in.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self._answer(401, {"message": "Sai mã liên thông hoặc mật khẩu"})
                if self.path != "/api/v1/gui-don-thuoc":
                    return self._answer(404, {"message": "không có"})
                code = body.get("ma_don_thuoc", "")
                if not prescription_code.valid(code) or not code.startswith(body.get("ma_co_so_kham_chua_benh", "?")):
                    return self._answer(422, {"message": f"Mã đơn thuốc không hợp lệ: {code}"})
                if code in stand_in.received:
                    return self._answer(409, {"message": f"Mã đơn thuốc đã tồn tại: {code}"})
                if not body.get("thong_tin_don_thuoc"):
                    return self._answer(422, {"message": "Đơn thuốc không có thuốc"})
                stand_in.received[code] = body
                return self._answer(200, {"ma_tham_chieu": f"DTQG-{len(stand_in.received):06d}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="dtqg-standin", daemon=True)

    def __enter__(self) -> "NationalPrescriptionStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
