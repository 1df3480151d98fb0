"""SMS through the facility's SMS gateway (a brandname SMS provider), over HTTPS with httpx.

The contract benhan speaks (a provider's own API is put behind it by a small adapter, or the
provider offers this JSON shape): POST `sms_gateway_url` with `Authorization: Bearer <sms_gateway_key>`
and the JSON body {"to": "0912345678", "text": "…", "brandname": "…", "request_id": "<uuid>"};
the gateway answers 200 {"message_id": "…"} or an error status with {"error": "…"}. The text is
ASCII (Vietnamese without diacritics) and at most 160 characters: one GSM-7 message, which every
brandname provider accepts and charges once. The same request_id is never sent twice."""
from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass

import httpx

from benhan import errors

MAX_TEXT = 160


def ascii_text(text: str) -> str:
    """Vietnamese without its diacritics (đ → d), as SMS brandname texts are sent."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@dataclass
class SmsGateway:
    url: str
    key: str
    brandname: str = "BENHAN"
    timeout: float = 10.0

    def send(self, phone: str, text: str, request_id: str | None = None) -> str:
        """Send one SMS; the gateway's message id. SmsFailed (one line) when it does not go out.
        `request_id`: a queued message's own (outbox.reminders), so that a resend after a crash is
        recognised by the gateway as the same message; else a new one."""
        body = ascii_text(text)
        if len(body) > MAX_TEXT:
            raise ValueError(f"an SMS holds {MAX_TEXT} characters, this has {len(body)}")
        try:
            answer = httpx.post(self.url, json={"to": phone, "text": body, "brandname": self.brandname,
                                                "request_id": request_id or str(uuid.uuid4())},
                                headers={"Authorization": f"Bearer {self.key}"}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise errors.SmsFailed(f"không gửi được SMS (cổng SMS không trả lời) | the SMS gateway did not answer: "
                                   f"{type(exc).__name__}") from None
        if answer.status_code != 200:
            reason = ""
            try:
                reason = str(answer.json().get("error", ""))
            except ValueError:
                pass
            raise errors.SmsFailed(f"cổng SMS từ chối tin nhắn | the SMS gateway refused the message: "
                                   f"{answer.status_code} {reason}".strip())
        try:
            return str(answer.json()["message_id"])
        except (ValueError, KeyError, TypeError):
            raise errors.SmsFailed("cổng SMS trả lời không đúng định dạng | the SMS gateway's answer has no message_id") from None
