"""CORS for the FHIR API, configured by ``cors_origins``; nothing at all when it is empty.

Only the machine-facing paths take part: /fhir, /.well-known (SMART configuration) and the OAuth
token and revocation endpoints a browser app calls. The clinician UI stays same-origin only.
No credentials: API clients send bearer tokens, never the UI's session cookie, so a page on an
allowed origin still cannot ride a logged-in clinician's session.

Starlette's CORSMiddleware does the protocol (preflight, Vary, origin echo); this module only
decides which paths it sees.
"""
from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from benhan.errors import ConfigError

# Path prefixes that answer cross-origin calls. The OAuth endpoints are named here so that the
# token request of a SMART app running in a browser (public client + PKCE) is allowed too.
CORS_PATHS = ("/fhir", "/.well-known/", "/auth/token", "/auth/revoke")
ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ALLOW_HEADERS = ("Authorization", "Content-Type", "If-Match", "If-None-Exist", "If-None-Match",
                 "If-Modified-Since", "Prefer")
# WWW-Authenticate: an app reads error="invalid_token" from a 401 to know it must get a new token.
EXPOSE_HEADERS = ("ETag", "Location", "Last-Modified", "Content-Location", "WWW-Authenticate")
_ORIGIN = re.compile(r"https?://[^/\s?#]+")


def parse_origins(setting: str) -> list[str]:
    """``cors_origins`` as a list; ConfigError for an entry that is not an origin."""
    origins = []
    for raw in setting.split(","):
        origin = raw.strip().rstrip("/")   # a browser's Origin header never ends in "/"
        if not origin:
            continue
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigError(f"cors_origins: {raw.strip()!r} is not an origin such as https://app.example.vn")
        origins.append(origin)
    return origins


def in_scope(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in CORS_PATHS)


class FhirCors:
    """CORSMiddleware for the paths of CORS_PATHS; every other request passes untouched."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=ALLOW_METHODS,
                                   allow_headers=ALLOW_HEADERS, expose_headers=EXPOSE_HEADERS,
                                   allow_credentials=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and in_scope(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def add_cors(app: Starlette, cors_origins: str) -> None:
    """Add the CORS middleware when origins are configured (else leave the app alone)."""
    origins = parse_origins(cors_origins)
    if origins:
        app.add_middleware(FhirCors, origins=origins)
