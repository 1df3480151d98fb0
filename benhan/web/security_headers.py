"""Security headers on every response (a pure ASGI middleware: it touches only the header list,
so streamed bodies stay streamed). The application adds them in its outermost layer,
web/crash_guard.py, with `added` and `secured`; SecurityHeaders is the same as a middleware alone.

The pages are rendered on the server and load nothing from elsewhere, so the policy can be
strict: scripts, styles and images from this origin only, no framing (clickjacking on a chart
page), no referrer (URLs carry patient ids), no sniffing of FHIR JSON as HTML, no camera,
microphone or location (the CCCD QR comes from a keyboard-wedge scanner, not the camera).
Patient data must not stay in the browser's or a proxy's cache on a shared front-desk PC, so
everything except /static is ``no-store``.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# One year. No includeSubDomains: a facility's domain may host other services still on HTTP.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"

ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
)
UNCACHED_EXCEPT = "/static/"


ALWAYS_HTTPS = (*ALWAYS, (b"strict-transport-security", STRICT_TRANSPORT_SECURITY.encode()))
_ALWAYS_NAMES = frozenset(name for name, _ in ALWAYS_HTTPS)


def added(scope: Scope) -> tuple[tuple[tuple[bytes, bytes], ...], bool]:
    """The headers every response to this request carries, and whether it must be no-store."""
    # HSTS only over TLS: a browser ignores it received over plain HTTP anyway, and sending it
    # from a plain-HTTP LAN server would promise something the server cannot keep.
    return (ALWAYS_HTTPS if scope.get("scheme") == "https" else ALWAYS,
            not scope["path"].startswith(UNCACHED_EXCEPT))


def secured(headers: list[tuple[bytes, bytes]], add: tuple[tuple[bytes, bytes], ...],
            no_store: bool) -> list[tuple[bytes, bytes]]:
    """A response's headers with the security headers: a handler's own value wins (e.g. a page
    that must relax the policy), except Cache-Control: no handler may let patient data be cached."""
    out = []
    present = set()
    for name, value in headers:
        low = name.lower()
        if low in _ALWAYS_NAMES:
            present.add(low)
        if not (no_store and low == b"cache-control"):
            out.append((name, value))
    out += [(name, value) for name, value in add if name not in present] if present else add
    if no_store:
        out.append((b"cache-control", b"no-store"))
    return out


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        add, no_store = added(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": secured(message.get("headers", []), add, no_store)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
