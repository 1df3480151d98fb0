"""A stand-in for the BHXH gateway: a small local HTTP service (standard library only) that answers
the token, check-in, claim, health-book (claims/health_book.py) and card-check calls like the real one (shared/vietnam-billing.md §4)
and checks what it receives as strictly as the published rules: the account and the token, the
facility code, base64, the GIAMDINHHS structure, the facility's signature (present, valid, and by
the registered certificate when one is given), every table rule of claims/validation.py (field
list, code lists, ICD-10, dates, line arithmetic, XML1 sums).

It counts what it receives per idempotency key, so tests can prove a claim was never received
twice; a repeat of a known key gets the first receipt back. Faults (5xx, slow answers) can be
injected to test the outbox: POST /_standin/faults {"status": 503, "count": 2} or
{"delay": 5, "count": 1}; GET /_standin/stats.

Run it for the demo with ``benhan claims standin --port 8790``.
"""
from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from benhan import errors
from benhan.claims import envelope, validation
from benhan.claims.gateway import (CARD_PATH, CHECKIN_PATH, CLAIM_PATH, HEALTH_BOOK_KIND, HEALTH_BOOK_PATH, TOKEN_PATH,
                                   password_hash)
from benhan.signing import xmldsig

VN = timezone(timedelta(hours=7))


@dataclass
class Card:
    """A card the stand-in knows (its answer to the card check)."""
    number: str
    name: str
    birth: str                 # dd/MM/yyyy
    valid_from: str            # dd/MM/yyyy
    valid_to: str
    place: str                 # maDKBD
    five_years: str = ""       # ngayDu5Nam dd/MM/yyyy
    area: str = ""
    sex: str = ""
    address: str = ""
    withdrawn: bool = False
    history: list = field(default_factory=list)


@dataclass
class State:
    username: str
    password: str
    facility: str
    cert_pem: bytes | None = None                     # the certificate the facility registered
    cards: dict[str, Card] = field(default_factory=dict)
    staff: dict[str, str] = field(default_factory=dict)   # CCCD → name of users allowed to look cards up
    tokens: dict[str, float] = field(default_factory=dict)
    token_seconds: float = 3000.0
    receipts: dict[str, dict] = field(default_factory=dict)     # idempotency key → first receipt
    received: dict[str, int] = field(default_factory=dict)      # idempotency key → times received
    issued: dict[str, int] = field(default_factory=dict)        # idempotency key → receipts issued
    accepted: list[str] = field(default_factory=list)           # MA_LK of accepted claims, in order
    health_book: list[dict] = field(default_factory=list)       # accepted health books: MA_LK, tables, card, codes
    rejected: list[dict] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stats(self) -> dict:
        with self.lock:
            return {"received": dict(self.received), "issued": dict(self.issued), "accepted": list(self.accepted),
                    "rejected": len(self.rejected), "health_book": [dict(b) for b in self.health_book]}


def _now_text() -> str:
    return datetime.now(VN).strftime("%Y%m%d%H%M%S")


def _errors_of(report: validation.Report) -> list[dict]:
    return [{"loaiHoSo": p.table, "dong": p.row, "truong": p.field, "moTa": p.message} for p in report.problems]


def check_file(state: State, kind: str, facility: str, data_b64: str) -> tuple[str, str, list[dict]]:
    """(maKetQua, thongDiep, dsLoi) for one received file, before any receipt is issued."""
    if facility != state.facility:
        return "403", f"Mã CSKCB {facility} không thuộc tài khoản {state.username}.", []
    try:
        raw = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        return "400", "fileHSBase64 không phải base64.", []
    try:
        made_by, tables = envelope.read(raw)
    except ValueError as exc:
        return "400", f"Sai cấu trúc hồ sơ: {exc}", []
    if made_by != facility:
        return "400", f"MACSKCB {made_by} khác mã CSKCB gửi {facility}.", []
    if b"CHUKYDONVI" not in raw or b"SignatureValue" not in raw:
        return "400", "Hồ sơ chưa có chữ ký số của đơn vị (CHUKYDONVI).", [
            {"loaiHoSo": "GIAMDINHHS", "dong": 0, "truong": "CHUKYDONVI", "moTa": "thiếu chữ ký số"}]
    try:
        xmldsig.verify(raw, state.cert_pem)
    except errors.SignatureInvalid as exc:
        return "400", f"Chữ ký số không hợp lệ: {exc.message}", [
            {"loaiHoSo": "GIAMDINHHS", "dong": 0, "truong": "CHUKYDONVI", "moTa": "chữ ký không hợp lệ"}]
    names = [t.name for t in tables]
    if kind == HEALTH_BOOK_KIND:
        from benhan.claims import health_book
        report = health_book.check(tables)
        if not report.ok:
            return "400", f"Hồ sơ có {len(report.problems)} lỗi dữ liệu.", _errors_of(report)
        head = tables[0].rows[0] if tables and tables[0].name == "XML1" and tables[0].rows else {}
        return "200", json.dumps({"ma_lk": head.get("MA_LK", ""), "tables": names,
                                  "card": head.get("MA_THE_BHYT", ""),
                                  "codes": [c for c in [head.get("MA_BENH_CHINH", ""),
                                                        *head.get("MA_BENH_KT", "").split(";")] if c]}), []
    if kind == "0":
        if names != ["XML0"]:
            return "400", "Hồ sơ check-in chỉ gồm bảng XML0.", []
        report = validation.validate_checkin(tables[0])
    else:
        if "XML1" not in names or "XML0" in names:
            return "400", "Hồ sơ giám định phải có XML1 và không gồm XML0.", []
        report = validation.validate(tables)
    if not report.ok:
        return "400", f"Hồ sơ có {len(report.problems)} lỗi dữ liệu.", _errors_of(report)
    ma_lk = tables[0].rows[0].get("MA_LK", "") if tables and tables[0].rows else ""
    return "200", ma_lk, []


def card_answer(state: State, body: dict, today: date) -> dict:
    number = str(body.get("maThe", "")).strip()
    staff = str(body.get("cccdCb", "")).strip()
    if not number or not body.get("hoTen") or not body.get("ngaySinh"):
        return {"maKetQua": "205", "ghiChu": "Thiếu tham số maThe, hoTen hoặc ngaySinh."}
    if state.staff and staff not in state.staff:
        return {"maKetQua": "054", "ghiChu": "Cán bộ tra cứu không có trong danh sách người dùng."}
    if state.staff and state.staff.get(staff, "").casefold() != str(body.get("hoTenCb", "")).strip().casefold():
        return {"maKetQua": "055", "ghiChu": "Tên cán bộ không khớp số CCCD."}
    if not (len(number) in (10, 12) and number.isdigit()) and not (len(number) == 15 and number[:2].isalpha()):
        return {"maKetQua": "051", "ghiChu": "Mã thẻ sai."}
    card = state.cards.get(number)
    if card is None:
        return {"maKetQua": "050", "ghiChu": "Không có thông tin thẻ."}
    answer = {"maThe": card.number, "hoTen": card.name, "ngaySinh": card.birth, "gioiTinh": card.sex,
              "diaChi": card.address, "maDKBD": card.place, "gtTheTu": card.valid_from, "gtTheDen": card.valid_to,
              "maKV": card.area, "ngayDu5Nam": card.five_years, "maSoBHXH": card.number[-10:],
              "dsLichSuKCB2018": list(card.history), "dsLichSuKT2018": []}
    if card.withdrawn:
        return {**answer, "maKetQua": "110", "ghiChu": "Thẻ đã bị thu hồi."}
    if " ".join(str(body["hoTen"]).split()).casefold() != card.name.casefold():
        first_ok = str(body["hoTen"]).strip()[:1].casefold() == card.name[:1].casefold()
        return {**answer, "maKetQua": "061" if first_ok else "060", "ghiChu": "Họ tên không đúng."}
    born = str(body["ngaySinh"]).strip()
    if born not in (card.birth, card.birth[-4:]):
        return {**answer, "maKetQua": "070", "ghiChu": "Ngày sinh không đúng."}
    valid_to = datetime.strptime(card.valid_to, "%d/%m/%Y").date()
    if valid_to < today:
        return {**answer, "maKetQua": "010", "ghiChu": f"Thẻ hết giá trị sử dụng từ {card.valid_to}."}
    return {**answer, "maKetQua": "000", "ghiChu": "Thông tin thẻ chính xác."}


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

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self._body().decode("utf-8"), keep_blank_values=True).items()}

    def do_GET(self) -> None:   # noqa: N802
        if urlparse(self.path).path == "/_standin/stats":
            return self._reply(200, self.server.state.stats())
        self._reply(404, {"maKetQua": "404", "thongDiep": "Không có dịch vụ này."})

    def do_POST(self) -> None:   # noqa: N802
        state = self.server.state
        url = urlparse(self.path)
        path = url.path.lstrip("/")
        if path == "_standin/faults":
            with state.lock:
                state.faults.append(json.loads(self._body() or b"{}"))
            return self._reply(200, {"ok": True})
        if path == TOKEN_PATH:
            form = self._form()
            if form.get("username") != state.username or form.get("password", "").upper() != password_hash(state.password):
                return self._reply(200, {"maKetQua": "401", "thongDiep": "Sai tài khoản hoặc mật khẩu."})
            token = uuid.uuid4().hex
            with state.lock:
                state.tokens[token] = time.monotonic() + state.token_seconds
            return self._reply(200, {"maKetQua": "200", "APIKey": {
                "access_token": token, "id_token": uuid.uuid4().hex, "token_type": "bearer",
                "username": state.username, "expires_in": str(int(state.token_seconds))}})
        if path in (CHECKIN_PATH, CLAIM_PATH, HEALTH_BOOK_PATH):
            return self._claim(path)
        if path == CARD_PATH:
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if not self._token_ok(query.get("token", "")):
                return self._reply(401, {"maKetQua": "401", "ghiChu": "Lỗi xác thực."})
            try:
                body = json.loads(self._body() or b"{}")
            except ValueError:
                return self._reply(200, {"maKetQua": "205", "ghiChu": "Sai định dạng tham số."})
            return self._reply(200, card_answer(state, body, datetime.now(VN).date()))
        self._reply(404, {"maKetQua": "404", "thongDiep": "Không có dịch vụ này."})

    def _token_ok(self, token: str) -> bool:
        with self.server.state.lock:
            until = self.server.state.tokens.get(token)
        return until is not None and until > time.monotonic()

    def _claim(self, path: str) -> None:
        state = self.server.state
        form = self._form()
        key = self.headers.get("X-Idempotency-Key") or ""
        if not self._token_ok(self.headers.get("accessToken", "")) or \
                self.headers.get("passwordHash", "").upper() != password_hash(state.password):
            return self._reply(401, {"maKetQua": "401", "thongDiep": "Token không hợp lệ hoặc hết hạn."})
        fault = None
        with state.lock:
            if state.faults:
                fault = state.faults[0]
                fault["count"] = int(fault.get("count", 1)) - 1
                if fault["count"] <= 0:
                    state.faults.pop(0)
        if fault and fault.get("status"):       # a failure before the file is read: nothing received
            return self._reply(int(fault["status"]), {"maKetQua": str(fault["status"]), "thongDiep": "Lỗi máy chủ."})
        expected_kind = {CHECKIN_PATH: "0", CLAIM_PATH: "130", HEALTH_BOOK_PATH: HEALTH_BOOK_KIND}[path]
        if form.get("loaiHoSo") != expected_kind or form.get("username") != state.username:
            body = {"maKetQua": "400", "thongDiep": f"loaiHoSo phải là {expected_kind}.", "dsLoi": []}
        else:
            with state.lock:
                state.received[key] = state.received.get(key, 0) + 1
                known = state.receipts.get(key) if key else None
            if known is not None:
                body = known                        # a repeat: the first receipt, nothing new issued
            else:
                code, message, problems = check_file(state, expected_kind, form.get("maCSKCB", ""),
                                                     form.get("fileHSBase64", ""))
                body = {"maKetQua": code, "maGiaoDich": uuid.uuid4().hex[:20].upper() if code == "200" else "",
                        "thoiGianTiepNhan": _now_text(),
                        "thongDiep": "Tiếp nhận thành công." if code == "200" else message, "dsLoi": problems}
                if expected_kind == HEALTH_BOOK_KIND and not key and code == "200":   # a repeat could not be told
                    body = {"maKetQua": "400", "maGiaoDich": "", "thoiGianTiepNhan": _now_text(),
                            "thongDiep": "Thiếu khóa chống gửi trùng (X-Idempotency-Key).", "dsLoi": []}
                    code = "400"
                with state.lock:
                    if key and code == "200":
                        state.receipts[key] = body
                        state.issued[key] = state.issued.get(key, 0) + 1
                        if expected_kind == "130":
                            state.accepted.append(message)
                        elif expected_kind == HEALTH_BOOK_KIND:
                            state.health_book.append(json.loads(message))
                    elif code != "200":
                        state.rejected.append(body)
        if fault and fault.get("delay"):        # received and processed, but the answer comes late
            time.sleep(float(fault["delay"]))
        self._reply(200, body)


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State, port: int = 0, host: str = "127.0.0.1"):
        super().__init__((host, port), _Handler)
        self.state = state

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def start(self) -> "StandIn":
        threading.Thread(target=self.serve_forever, name="bhxh-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
