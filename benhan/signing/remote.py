"""A client for a remote-signing service: the signer's key stays in the service's HSM (VNPT SmartCA,
Viettel MySign, … — "ký số từ xa", NĐ 23/2025 Đ37), benhan sends SHA-256 digests, the signer approves
on her phone, benhan polls, the service answers raw signature values and the certificate chain;
benhan builds the CMS/PAdES and the JWS itself (benhan/signing/twostep.py).

**The JSON contract below is benhan's own, generic adapter shape**, not any provider's API. The real
providers each have their own endpoints, field names, authentication (client id/secret, OAuth tokens,
per-user credential ids) and status codes; they are reached through an adapter that speaks this
contract. What the shared notes (../shared/vietnam-signing.md §4) say of the providers' flows — hash
signing, approval in a phone app, polling, a raw signature plus the certificate in the answer — is
from public integration guides and **not verified** against a live service; nothing here was tested
against one.

Every request carries `Authorization: Bearer <remote_signing_key>`; bodies are JSON (UTF-8).

- `GET  {url}/users/{user_id}/certificates`
  → 200 `{"certificates": ["<base64 DER>", …]}` the signer's certificate first, then its chain;
  404 `{"error": …}` an unknown user id.
- `POST {url}/sign` with `{"request_id": "<uuid, never reused>", "user_id": "…", "description": "…",
  "hash_algorithm": "SHA-256", "digests": ["<base64 of 32 bytes>", …]}` (1–10 digests, signed
  together under one approval: benhan sends the PDF's signed attributes and the Bundle's JWS input)
  → 200 `{"transaction_id": "…", "expires_at": "<ISO 8601>"}`; 400 a malformed digest or body;
  404 an unknown user; 409 a request id already used.
- `GET  {url}/transactions/{transaction_id}`
  → 200 `{"status": "pending" | "approved" | "refused" | "expired"}`; when `approved` also
  `"signatures": ["<base64 raw signature value>", …]` (one per digest, in order: RSASSA-PKCS1-v1_5
  over the DigestInfo of the SHA-256 digest, or a DER ECDSA signature) and `"certificates"` as above;
  404 an unknown transaction.

A `pending` transaction turns `expired` at the service's own deadline; benhan also stops waiting after
its own timeout. Both are refusals (BENHAN-7010), as is the signer's `refused`; a service that cannot be
reached or answers outside the contract is BENHAN-7011.
"""
from __future__ import annotations

import base64
import time
import uuid
from urllib.parse import quote
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from benhan import errors

PENDING, APPROVED, REFUSED, EXPIRED = "pending", "approved", "refused", "expired"
STATUSES = (PENDING, APPROVED, REFUSED, EXPIRED)
MAX_DIGESTS = 10

Unavailable = errors.RemoteSigningUnavailable
Refused = errors.RemoteSignatureRefused


@dataclass
class Transaction:
    status: str
    signatures: list[bytes] = field(default_factory=list)
    certificates: list[bytes] = field(default_factory=list)


def _b64_list(value: object, what: str) -> list[bytes]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unavailable(f"dịch vụ ký số từ xa trả lời sai định dạng ({what}) | the remote-signing service's "
                          f"answer is malformed ({what})")
    try:
        return [base64.b64decode(v, validate=True) for v in value]
    except ValueError:
        raise Unavailable(f"dịch vụ ký số từ xa trả lời sai định dạng ({what}) | the remote-signing service's "
                          f"answer is malformed ({what})") from None


class RemoteSigningService:
    def __init__(self, url: str, key: str, *, timeout: float = 15.0, transport: httpx.BaseTransport | None = None):
        if not url:
            raise Unavailable("chưa cấu hình dịch vụ ký số từ xa (remote_signing_url) | no remote-signing service "
                              "is configured (remote_signing_url)")
        self.url = url.rstrip("/")
        self._client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "RemoteSigningService":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: object) -> tuple[int, dict]:
        try:
            response = self._client.request(method, f"{self.url}{path}", **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise Unavailable(f"không kết nối được dịch vụ ký số từ xa | the remote-signing service could not be "
                              f"reached: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Unavailable(f"dịch vụ ký số từ xa trả lời không phải JSON (HTTP {response.status_code}) | the "
                              f"remote-signing service did not answer JSON (HTTP {response.status_code})")
        if response.status_code in (401, 403):
            raise Unavailable("dịch vụ ký số từ xa từ chối khóa truy cập (remote_signing_key) | the remote-signing "
                              "service refused benhan's key (remote_signing_key)")
        return response.status_code, body

    def certificates(self, user_id: str) -> list[bytes]:
        """(a) The user's certificate, then its chain (DER)."""
        status, body = self._call("GET", f"/users/{_quote(user_id)}/certificates")
        if status == 404:
            raise Unavailable(f"dịch vụ ký số từ xa không biết tài khoản {user_id!r} | the remote-signing service "
                              f"does not know the user {user_id!r}")
        if status != 200:
            raise Unavailable(f"dịch vụ ký số từ xa báo lỗi HTTP {status} | the remote-signing service answered HTTP {status}")
        certs = _b64_list(body.get("certificates"), "certificates")
        if not certs:
            raise Unavailable("dịch vụ ký số từ xa không trả chứng thư số | the remote-signing service sent no certificate")
        return certs

    def submit(self, user_id: str, digests: list[bytes], description: str, request_id: str | None = None) -> str:
        """(b) Ask for one approval over `digests` (SHA-256 values); the transaction id."""
        if not 1 <= len(digests) <= MAX_DIGESTS or any(len(d) != 32 for d in digests):
            raise errors.InvalidOperationParameter(f"1–{MAX_DIGESTS} SHA-256 digests (32 bytes each) are signed remotely")
        status, body = self._call("POST", "/sign", json={
            "request_id": request_id or str(uuid.uuid4()), "user_id": user_id, "description": description,
            "hash_algorithm": "SHA-256", "digests": [base64.b64encode(d).decode() for d in digests]})
        transaction = body.get("transaction_id")
        if status != 200 or not isinstance(transaction, str) or not transaction:
            raise Unavailable(f"dịch vụ ký số từ xa không nhận yêu cầu ký (HTTP {status}: {body.get('error', '')}) | "
                              f"the remote-signing service did not accept the request (HTTP {status}: "
                              f"{body.get('error', '')})")
        return transaction

    def transaction(self, transaction_id: str) -> Transaction:
        """(c) Where the request stands; (d) with the raw signature values once approved."""
        status, body = self._call("GET", f"/transactions/{_quote(transaction_id)}")
        if status == 404:
            raise Refused("dịch vụ ký số từ xa không còn giữ yêu cầu ký này | the remote-signing service no longer "
                          "holds this signing request")
        state = body.get("status")
        if status != 200 or state not in STATUSES:
            raise Unavailable(f"dịch vụ ký số từ xa trả lời sai (HTTP {status}) | the remote-signing service "
                              f"answered outside the contract (HTTP {status})")
        if state != APPROVED:
            return Transaction(state)
        return Transaction(state, _b64_list(body.get("signatures"), "signatures"),
                           _b64_list(body.get("certificates", []), "certificates"))

    def wait(self, transaction_id: str, expected: int, *, interval: float = 2.0, timeout: float = 300.0,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
             on_pending: Callable[[], None] | None = None) -> Transaction:
        """Poll until the request is settled: approved (with `expected` signature values), refused or
        expired; still `pending` when benhan's own `timeout` (seconds) ran out first."""
        deadline = clock() + timeout
        while True:
            answer = self.transaction(transaction_id)
            if answer.status == APPROVED and len(answer.signatures) != expected:
                raise Unavailable(f"dịch vụ ký số từ xa trả {len(answer.signatures)} chữ ký thay vì {expected} | "
                                  f"the remote-signing service sent {len(answer.signatures)} signatures, not {expected}")
            if answer.status != PENDING or clock() >= deadline:
                return answer
            if on_pending is not None:
                on_pending()
            sleep(interval)


def refusal(status: str) -> errors.BenhanError:
    """The signer's answer, in her words: why nothing was signed."""
    if status == REFUSED:
        return Refused("người ký đã từ chối trên điện thoại: tài liệu không được ký | the signer refused on the "
                       "phone: the document is not signed")
    if status == EXPIRED:
        return Refused("yêu cầu ký đã hết hạn trên dịch vụ ký số từ xa: tài liệu không được ký, hãy ký lại | the "
                       "signing request expired at the remote-signing service: the document is not signed; sign again")
    return Refused("chưa có xác nhận trên điện thoại trong thời gian chờ: tài liệu chưa được ký | no approval on "
                   "the phone within the waiting time: the document is not signed yet")


def _quote(part: str) -> str:
    return quote(part, safe="")
