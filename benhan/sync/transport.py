"""The node's HTTP client to the hub (the only home of httpx in benhan): its key pair, access tokens
by SMART Backend Services (a JWT assertion signed with the node's key), and the four requests.

Counts the bytes it sends and receives (compressed bodies) for the node's status.
"""
from __future__ import annotations

import os
import ssl
import threading
import time
import uuid
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from benhan.sync import wire

KEY_FILE = "sync-node-key.pem"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CONNECT_TIMEOUT_S = 15
READ_TIMEOUT_S = 120


class SyncFailed(Exception):
    """The hub could not be reached, or refused; the round is retried later."""


def generate_key(path: Path) -> dict:
    """A new P-384 key pair; the private key written 0600 to `path`; the public JWK returned."""
    key = ECKey.generate_key("P-384", private=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.as_pem(private=True))
    os.chmod(path, 0o600)
    return public_jwk(key)


def load_key(path: Path) -> ECKey:
    return ECKey.import_key(path.read_bytes())


def public_jwk(key: ECKey) -> dict:
    jwk = key.as_dict(private=False)
    jwk.update({"kid": key.thumbprint(), "alg": "ES384", "use": "sig"})
    return jwk


def trust(ca_file: Path | None) -> ssl.SSLContext | bool:
    """What the node trusts for the hub's HTTPS: the given PEM (a hub's self-signed certificate, or
    the province's own CA) or, without one, the system's certificate authorities."""
    if ca_file is None or str(ca_file) in ("", "."):
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise SyncFailed(f"hub_ca_file {ca_file}: cannot be read as PEM certificates ({exc})") from None


class HubClient:
    def __init__(self, hub_url: str, *, client_id: str | None = None, key: ECKey | None = None,
                 http: httpx.Client | None = None, ca_file: Path | None = None):
        self.hub_url = hub_url.rstrip("/")
        self.client_id = client_id
        self.key = key
        self.http = http or httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
                                         verify=trust(ca_file))
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self.bytes_sent = 0
        self.bytes_received = 0
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    # --- authentication ------------------------------------------------------------------------
    def _assertion(self) -> str:
        assert self.key is not None and self.client_id
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": f"{self.hub_url}/auth/token",
                  "exp": now + 240, "iat": now, "jti": uuid.uuid4().hex}
        return jwt.encode({"alg": "ES384", "kid": self.key.thumbprint()}, claims, self.key, algorithms=["ES384"])

    def token(self, *, renew: bool = False) -> str:
        with self._lock:
            if self._token and not renew and self._token[1] > time.monotonic() + 30:
                return self._token[0]
            response = self._send("POST", "/auth/token", data={
                "grant_type": "client_credentials", "scope": "system/CapabilityStatement.r",
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": self._assertion()})
            if response.status_code != 200:
                raise SyncFailed(f"the hub refused a token: {response.status_code} {response.text[:200]}")
            body = response.json()
            self._token = (body["access_token"], time.monotonic() + int(body.get("expires_in", 300)))
            return self._token[0]

    # --- requests --------------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kw) -> httpx.Response:  # noqa: ANN003
        try:
            response = self.http.request(method, self.hub_url + path, **kw)
        except httpx.HTTPError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise SyncFailed(f"the hub's HTTPS certificate is not trusted ({self.hub_url}): put the hub's "
                                 "certificate (or its CA's) in a file and set hub_ca_file to it") from None
            raise SyncFailed(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        self.requests += 1
        content = kw.get("content") or b""
        self.bytes_sent += len(content) if isinstance(content, bytes) else 0
        self.bytes_received += len(response.content)
        return response

    def _authorised(self, method: str, path: str, **kw) -> httpx.Response:  # noqa: ANN003
        for attempt in (0, 1):
            headers = dict(kw.pop("headers", None) or {})
            headers["Authorization"] = f"Bearer {self.token(renew=attempt == 1)}"
            response = self._send(method, path, headers=headers, **kw)
            if response.status_code != 401:
                break
        if response.status_code >= 400:
            raise SyncFailed(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def push(self, message: wire.Message) -> dict:
        body = wire.encode(message)
        response = self._authorised("POST", "/sync/push", content=body,
                                    headers={"Content-Type": wire.MEDIA_TYPE})
        return response.json()

    def pull(self, since: int, limit: int, *, own: bool = False) -> wire.Message:
        params = {"since": since, "limit": limit}
        if own:
            params["own"] = 1       # recovering after a restore: this node's own changes too
        response = self._authorised("GET", "/sync/pull", params=params)
        return wire.decode(_raw(response))

    def fetch(self, cccd: str, user: str) -> wire.Message:
        response = self._authorised("POST", "/sync/fetch", json={"cccd": cccd, "user": user})
        return wire.decode(_raw(response))

    def post_assessment(self, report: dict) -> dict:
        """The facility's EMR self-assessment (`benhan assess --post`) for the provincial dashboard."""
        return self._authorised("POST", "/sync/assessment", json=report).json()

    def enroll(self, invite_token: str, node_id: str, jwk: dict) -> dict:
        response = self._send("POST", "/sync/enroll", json={"node_id": node_id, "jwks": {"keys": [jwk]}},
                              headers={"Authorization": f"Bearer {invite_token}"})
        if response.status_code != 200:
            raise SyncFailed(f"the hub refused the enrolment: {response.status_code} {response.text[:300]}")
        return response.json()


def _raw(response: httpx.Response) -> bytes:
    # Bodies are application/zstd (not a Content-Encoding), so that no client or proxy layer
    # decompresses them on the way: what arrives is what is decoded and counted.
    return response.content
