"""The HTTP transport the outbox's senders use (httpx lives in outbox/, sync/ and signing/ only):
a POST that returns the status and the JSON answer, or Unreachable when no answer came (refused
connection, timeout, a body that is not JSON) — the cases a sender retries."""
from __future__ import annotations

from dataclasses import dataclass

import httpx


class Unreachable(Exception):
    """No usable answer: retry later."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


def post(url: str, *, form: dict | None = None, json: dict | None = None, headers: dict | None = None,
         params: dict | None = None, timeout: float = 30.0) -> Answer:
    try:
        response = httpx.post(url, data=form, json=json, headers=headers, params=params, timeout=timeout)
    except httpx.HTTPError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if response.status_code >= 500:
            return Answer(response.status_code, {})
        raise Unreachable(f"HTTP {response.status_code}: the answer is not a JSON object")
    return Answer(response.status_code, body)
