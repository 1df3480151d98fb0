"""The BHXH gateway (egw.baohiemxahoi.gov.vn, shared/vietnam-billing.md §4): the token, the
check-in (XML0), the claim (GIAMDINHHS) and the card check (tra cứu thông tuyến), over the outbox's
HTTP transport. The real gateway and benhan's stand-in (claims/standin.py) answer the same way.

benhan adds a header ``X-Idempotency-Key`` to every send: the stand-in uses it to recognise a
repeat after a crash and answer with the first receipt; the real gateway ignores it (a resend of
the same MA_LK replaces the file there) ⚠ docs/claims.md.
"""
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from benhan import errors
from benhan.outbox import http
from benhan.outbox.queue import Delivery
from benhan.outbox.http import Unreachable

TOKEN_PATH = "api/token/take"
CHECKIN_PATH = "api/qd130/checkInKcbQd3176"
CLAIM_PATH = "api/qd130/guiHoSoXmlQD3176"
CARD_PATH = "api/egw/KQNhanLichSuKCB2024"
# The VNeID electronic health book push (QĐ 2733/2024, QĐ 31/2026; claims/health_book.py). ⚠ Our
# sources name no endpoint or loaiHoSo for it: these two are benhan's placeholders, answered by the
# stand-in, to be replaced by the ones in BHXH's connection guide (docs/claims.md "VNeID health book").
HEALTH_BOOK_PATH = "api/qd130/guiHoSoSoSucKhoeDienTu"
HEALTH_BOOK_KIND = "2733"
TOKEN_LIFETIME = timedelta(minutes=50)     # clients re-take it after ~50 min or on 401 (§4.1)

# The card check's answer codes (§4.3), as the registrar reads them.
CARD_CODES = {
    "000": "Thẻ đúng, còn giá trị sử dụng.",
    "001": "Thẻ do BHXH Bộ Quốc phòng quản lý: kiểm tra thẻ và giấy tờ tùy thân.",
    "002": "Thẻ do BHXH Bộ Công an quản lý: kiểm tra thẻ và giấy tờ tùy thân.",
    "003": "Thẻ cũ hết giá trị, đã được cấp thẻ mới.",
    "004": "Thẻ cũ còn giá trị, đã được cấp thẻ mới.",
    "010": "Thẻ hết giá trị sử dụng.",
    "050": "Không có thông tin thẻ.",
    "051": "Mã thẻ sai.",
    "052": "Mã tỉnh cấp thẻ (ký tự 4–5) sai.",
    "053": "Mã quyền lợi (ký tự 3) sai.",
    "054": "Cán bộ tra cứu không có trong danh sách người dùng của cơ sở.",
    "055": "Tên cán bộ tra cứu không khớp số CCCD.",
    "060": "Họ tên sai.",
    "061": "Họ tên sai (đúng ký tự đầu).",
    "070": "Ngày sinh sai.",
    "100": "Lỗi khi lấy dữ liệu thẻ.",
    "101": "Lỗi máy chủ.",
    "110": "Thẻ đã bị thu hồi.",
    "120": "Thẻ đã báo giảm.",
    "130": "Trẻ em không xuất trình thẻ.",
    "205": "Sai định dạng tham số.",
    "401": "Lỗi xác thực tài khoản.",
    "500": "Lỗi máy chủ cổng BHXH.",
}


def password_hash(password: str) -> str:
    """The gateway takes the password as its MD5 hex, upper-case (the 3176 guide)."""
    return hashlib.md5(password.encode("utf-8")).hexdigest().upper()   # noqa: S324 - the gateway's own scheme


@dataclass(frozen=True)
class Receipt:
    code: str              # maKetQua
    transaction: str       # maGiaoDich
    received: str          # thoiGianTiepNhan yyyyMMddHHmmss
    message: str           # thongDiep
    errors: list = field(default_factory=list)   # dsLoi: [{loaiHoSo, truong, moTa}]

    @classmethod
    def of(cls, body: dict) -> "Receipt":
        return cls(str(body.get("maKetQua", "")), str(body.get("maGiaoDich", "") or ""),
                   str(body.get("thoiGianTiepNhan", "") or ""), str(body.get("thongDiep", "") or ""),
                   list(body.get("dsLoi") or []))


@dataclass(frozen=True)
class CardAnswer:
    code: str
    note: str
    body: dict

    @property
    def ok(self) -> bool:
        return self.code in ("000", "004")

    @property
    def meaning(self) -> str:
        return CARD_CODES.get(self.code, f"Mã trả lời {self.code}.")


@dataclass
class Gateway:
    base_url: str
    username: str
    password: str
    facility: str = ""        # maCSKCB when a file does not name it
    province: str = ""        # maTinh
    timeout: float = 30.0
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    _token: tuple[str, str, datetime] | None = None

    def _url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path

    def token(self) -> tuple[str, str]:
        """(access_token, id_token), taken again after TOKEN_LIFETIME. Unreachable or refused →
        errors.ClaimGatewayUnavailable / errors.ClaimGatewayRefused."""
        now = self.clock()
        if self._token and self._token[2] > now:
            return self._token[0], self._token[1]
        try:
            answer = http.post(self._url(TOKEN_PATH), form={"username": self.username,
                                                            "password": password_hash(self.password)},
                               timeout=self.timeout)
        except Unreachable as exc:
            raise errors.ClaimGatewayUnavailable(f"cổng BHXH không trả lời | the BHXH gateway did not answer: {exc}") from None
        if str(answer.body.get("maKetQua")) != "200" or not isinstance(answer.body.get("APIKey"), dict):
            code = answer.body.get("maKetQua", answer.status)
            if answer.status >= 500 or str(code) == "500":
                raise errors.ClaimGatewayUnavailable(f"cổng BHXH lỗi máy chủ ({code}) | the BHXH gateway failed ({code})")
            raise errors.ClaimGatewayRefused(f"cổng BHXH từ chối tài khoản ({code}) | the BHXH gateway refused the "
                                             f"account {self.username} ({code})")
        key = answer.body["APIKey"]
        self._token = (str(key.get("access_token", "")), str(key.get("id_token", "")), now + TOKEN_LIFETIME)
        return self._token[0], self._token[1]

    def _send(self, path: str, kind: str, envelope: bytes, idem_key: str) -> tuple[int, Receipt]:
        # maCSKCB is the facility the file was made by (its MACSKCB), else this account's.
        found = re.search(rb"<MACSKCB>([^<]*)</MACSKCB>", envelope[:2000])
        facility = found.group(1).decode() if found else self.facility
        access, id_token = self.token()
        headers = {"accessToken": access, "tokenId": id_token, "passwordHash": password_hash(self.password),
                   "X-Idempotency-Key": idem_key}
        form = {"username": self.username, "loaiHoSo": kind, "maTinh": self.province, "maCSKCB": facility,
                "fileHSBase64": base64.b64encode(envelope).decode()}
        answer = http.post(self._url(path), form=form, headers=headers, timeout=self.timeout)
        receipt = Receipt.of(answer.body)
        if answer.status == 401 or receipt.code == "401":
            self._token = None      # expired or revoked: the next attempt takes a new one
        return answer.status, receipt

    def check_in(self, envelope: bytes, idem_key: str) -> tuple[int, Receipt]:
        return self._send(CHECKIN_PATH, "0", envelope, idem_key)

    def send_claim(self, envelope: bytes, idem_key: str) -> tuple[int, Receipt]:
        return self._send(CLAIM_PATH, "130", envelope, idem_key)

    def send_health_book(self, envelope: bytes, idem_key: str) -> tuple[int, Receipt]:
        """The health-book tables of a closed episode (XML1 + XML8, or the claim's tables)."""
        return self._send(HEALTH_BOOK_PATH, HEALTH_BOOK_KIND, envelope, idem_key)

    def card_check(self, card: str, name: str, birth: date | str, staff_name: str, staff_cccd: str) -> CardAnswer:
        """The thông tuyến check at registration: validity, the 5-year date, the last visits."""
        access, id_token = self.token()
        born = birth.strftime("%d/%m/%Y") if isinstance(birth, date) else birth
        try:
            answer = http.post(self._url(CARD_PATH), json={"maThe": card, "hoTen": name, "ngaySinh": born,
                                                           "hoTenCb": staff_name, "cccdCb": staff_cccd},
                               params={"token": access, "id_token": id_token, "username": self.username,
                                       "password": password_hash(self.password)}, timeout=self.timeout)
        except Unreachable as exc:
            raise errors.ClaimGatewayUnavailable(f"cổng BHXH không trả lời | the BHXH gateway did not answer: {exc}") from None
        if answer.status == 401:
            self._token = None
        code = str(answer.body.get("maKetQua", answer.status))
        return CardAnswer(code, str(answer.body.get("ghiChu", "") or ""), answer.body)


# --- the outbox's senders --------------------------------------------------------------------------

def delivery(send: Callable[[], tuple[int, Receipt]]) -> Delivery:
    """One send's outcome as the outbox reads it: accepted → sent (receipt kept); no answer, a
    server error, an expired token → retry; the content or the account refused → rejected."""
    try:
        status, receipt = send()
    except Unreachable as exc:
        return Delivery.retry(f"cổng BHXH không trả lời: {exc}")
    except errors.ClaimGatewayUnavailable as exc:
        return Delivery.retry(exc.message)
    except errors.ClaimGatewayRefused as exc:
        return Delivery.retry(exc.message)     # an account problem is fixed by a person; keep trying slowly
    body = {"maKetQua": receipt.code, "maGiaoDich": receipt.transaction, "thoiGianTiepNhan": receipt.received,
            "thongDiep": receipt.message, "dsLoi": receipt.errors, "httpStatus": status}
    if receipt.code == "200":
        return Delivery.sent(body)
    if status >= 500 or receipt.code in ("401", "500", "") or status == 401:
        return Delivery.retry(f"cổng BHXH: {receipt.code or status} {receipt.message}".strip(), body)
    return Delivery.rejected(f"cổng BHXH từ chối ({receipt.code}): {receipt.message}", body)
