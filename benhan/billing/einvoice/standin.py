"""A stand-in for the facility's e-invoice provider and the tax authority behind it: a small local
HTTP service (standard library only) speaking benhan's provider contract (provider.py), for tests
and the demo (`benhan einvoice standin`). It checks what it receives as strictly as the rules:
the account, base64, every check of validation.py (fields, symbol, number, sums, amount in words),
the seller's signature over DLHDon (by the registered certificate), the seller's tax code, the
numbers of a symbol arriving without a gap and never twice, and a correction referencing an invoice
it issued (symbol, number and date). It answers with a tax-authority code (mã CQT; the stand-in's
own 34 characters) and counts what it receives per idempotency key: a repeat gets the first answer.
Faults for tests: POST /_standin/faults {"status": 503, "count": 2}; GET /_standin/stats."""
from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lxml import etree

from benhan import errors
from benhan.billing.einvoice import validation, xml
from benhan.billing.einvoice.provider import ISSUE_PATH


@dataclass
class State:
    username: str
    password: str
    seller_tax_code: str
    cert_pem: bytes | None = None
    last_number: dict[str, int] = field(default_factory=dict)           # symbol → last number issued
    invoices: dict[tuple[str, int], dict] = field(default_factory=dict)  # (symbol, number) → what was issued
    answers: dict[str, dict] = field(default_factory=dict)              # idemKey → first answer
    received: dict[str, int] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stats(self) -> dict:
        with self.lock:
            return {"received": dict(self.received), "issued": len(self.invoices), "rejected": len(self.rejected),
                    "invoices": [{"symbol": s, "number": n, **v} for (s, n), v in sorted(self.invoices.items())]}


def _refuse(problems: list[tuple[str, str]], message: str = "Hóa đơn không hợp lệ.") -> tuple[int, dict]:
    return 422, {"maKetQua": "22", "thongDiep": message, "dsLoi": [{"truong": f, "moTa": m} for f, m in problems]}


def examine(state: State, data_b64: str) -> tuple[int, dict]:
    """The answer to one invoice (state.lock held)."""
    try:
        document = base64.b64decode(data_b64, validate=True)
        root = xml.parse(document)
    except (binascii.Error, ValueError, etree.XMLSyntaxError):
        return _refuse([("xmlBase64", "không phải tệp XML mã hóa base64")])
    report = validation.validate(root)
    if not report.ok:
        return _refuse([(p.field, p.message) for p in report.problems])
    try:
        xml.verify(document, state.cert_pem)
    except errors.SignatureInvalid as exc:
        return _refuse([("DSCKS/NBan", f"chữ ký số của người bán không hợp lệ: {exc.message}")])
    g = root.find("DLHDon/TTChung")
    if root.findtext("DLHDon/NDHDon/NBan/MST") != state.seller_tax_code:
        return _refuse([("NBan/MST", f"mã số thuế người bán không phải của tài khoản này ({state.seller_tax_code})")])
    symbol, number = g.findtext("KHHDon"), int(g.findtext("SHDon"))
    last = state.last_number.get(symbol, 0)
    if number <= last:
        return _refuse([("SHDon", f"số {number} của ký hiệu {symbol} đã được cấp mã")])
    if number > last + 1:
        return 409, {"maKetQua": "09", "thongDiep": f"Số hóa đơn không liên tục: chưa nhận số {last + 1} của {symbol}."}
    related = g.find("TTHDLQuan")
    if related is not None:
        earlier = state.invoices.get((related.findtext("KHHDCLQuan"), int(related.findtext("SHDCLQuan") or 0)))
        if earlier is None or earlier["issued"] != related.findtext("NLHDCLQuan"):
            return _refuse([("TTHDLQuan", f"hóa đơn bị điều chỉnh {related.findtext('KHHDCLQuan')} số "
                                          f"{related.findtext('SHDCLQuan')} ngày {related.findtext('NLHDCLQuan')} "
                                          "chưa được cấp mã")])
    code = "00" + uuid.uuid4().hex.upper()
    state.last_number[symbol] = number
    state.invoices[(symbol, number)] = {"issued": g.findtext("NLap"), "mccqt": code,
                                        "total": root.findtext("DLHDon/NDHDon/TToan/TgTTTBSo"),
                                        "related": related.findtext("SHDCLQuan") if related is not None else None}
    return 200, {"maKetQua": "00", "thongDiep": "Đã cấp mã.", "mccqt": code, "khhDon": symbol, "shDon": number}


class _Handler(BaseHTTPRequestHandler):
    server: "StandIn"

    def log_message(self, format: str, *args: object) -> None:   # noqa: A002 - quiet in tests
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self) -> dict:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def do_GET(self) -> None:   # noqa: N802
        if self.path == "/_standin/stats":
            return self._reply(200, self.server.state.stats())
        self._reply(404, {"thongDiep": "Không có."})

    def do_POST(self) -> None:   # noqa: N802
        state = self.server.state
        body = self._json()
        if self.path == "/_standin/faults":
            with state.lock:
                state.faults.append({"status": int(body.get("status", 503)), "count": int(body.get("count", 1))})
            return self._reply(200, {"ok": True})
        if self.path != ISSUE_PATH:
            return self._reply(404, {"thongDiep": "Không có."})
        expected = "Basic " + base64.b64encode(f"{state.username}:{state.password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._reply(401, {"maKetQua": "01", "thongDiep": "Sai tài khoản hoặc mật khẩu."})
        key = str(body.get("idemKey") or "")
        with state.lock:
            if state.faults:              # the fault comes before anything is received
                fault = state.faults[0]
                fault["count"] -= 1
                if fault["count"] <= 0:
                    state.faults.pop(0)
                status, answer = fault["status"], {"maKetQua": "99", "thongDiep": "Lỗi máy chủ."}
            else:
                state.received[key] = state.received.get(key, 0) + 1
                if key and key in state.answers:
                    status, answer = 200, state.answers[key]
                else:
                    try:
                        status, answer = examine(state, str(body.get("xmlBase64") or ""))
                    except Exception as exc:  # noqa: BLE001 - a file it cannot read is refused, never a dead connection
                        status, answer = _refuse([("HDon", f"không đọc được hóa đơn: {type(exc).__name__}")])
                    if status == 200 and key:
                        state.answers[key] = answer
                    elif status == 422:
                        state.rejected.append(answer)
        self._reply(status, answer)


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State, port: int = 0, host: str = "127.0.0.1"):
        super().__init__((host, port), _Handler)
        self.state = state

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def start(self) -> "StandIn":
        threading.Thread(target=self.serve_forever, name="einvoice-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
