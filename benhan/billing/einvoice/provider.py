"""The facility's e-invoice provider (VNPT, Viettel, MISA… — a listed provider relays the invoice to
the tax authority and returns its code, mã CQT): an interface, and the one HTTP client benhan ships,
which speaks benhan's provider contract (docs/einvoice.md) through the outbox's HTTP transport.
A provider with another API is another class with the same ``issue``.

The contract: POST {url}/api/einvoice/issue, HTTP basic authentication, JSON
{"idemKey": …, "xmlBase64": the signed HDon}. Answers: 200 {"mccqt": …} issued (a repeat of a known
idemKey gets the first answer back); 422 {"dsLoi": […]} the content is refused (final); 409 an
earlier number of the series has not arrived yet (sent again later); 401 and 5xx retried."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

from benhan.outbox import http
from benhan.outbox.queue import Delivery

ISSUE_PATH = "/api/einvoice/issue"


class Provider(Protocol):
    def issue(self, signed_xml: bytes, idem_key: str) -> Delivery:
        """Send one signed invoice; sent (the receipt holds ``mccqt``), retry, or rejected."""


@dataclass
class HttpProvider:
    url: str
    username: str
    password: str
    timeout: float = 20.0

    def issue(self, signed_xml: bytes, idem_key: str) -> Delivery:
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        try:
            answer = http.post(f"{self.url.rstrip('/')}{ISSUE_PATH}", timeout=self.timeout,
                               json={"idemKey": idem_key, "xmlBase64": base64.b64encode(signed_xml).decode()},
                               headers={"Authorization": f"Basic {basic}"})
        except http.Unreachable as exc:
            return Delivery.retry(f"nhà cung cấp hóa đơn điện tử không trả lời ({exc})")
        said = str(answer.body.get("thongDiep") or f"HTTP {answer.status}")
        if answer.status == 200 and answer.body.get("mccqt"):
            return Delivery.sent(answer.body)
        if answer.status == 422:
            problems = "; ".join(f"{p.get('truong', '')}: {p.get('moTa', '')}" for p in answer.body.get("dsLoi", []))
            return Delivery.rejected(f"{said} {problems}".strip(), answer.body)
        return Delivery.retry(f"HTTP {answer.status}: {said}", answer.body or None)
