"""What the OAuth tests share: a backend system's key pair and its signed client assertions, the
PKCE pair, and a logged-in browser."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
import uuid

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PASSWORD = "một mật khẩu đủ dài cho bác sĩ"


class BackendKey:
    """A backend system's private key; `jwks` is what it registers (public part only)."""

    def __init__(self, alg: str = "ES384"):
        self.alg = alg
        self.kid = uuid.uuid4().hex[:8]
        self.key = ECKey.generate_key("P-384") if alg == "ES384" else RSAKey.generate_key(2048)

    @property
    def jwks(self) -> str:
        public = {**self.key.as_dict(private=False), "kid": self.kid, "alg": self.alg, "use": "sig"}
        return json.dumps({"keys": [public]})

    def assertion(self, client_id: str, aud: str, *, exp_in: int = 240, jti: str | None = None,
                  iss: str | None = None, kid: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": iss or client_id, "sub": client_id, "aud": aud, "exp": now + exp_in, "iat": now,
                  "jti": jti if jti is not None else uuid.uuid4().hex}
        header = {"alg": self.alg, "typ": "JWT", "kid": kid or self.kid}
        return jwt.encode(header, claims, self.key, algorithms=[self.alg])


def client_credentials(http: httpx.Client, token_url: str, assertion: str, scope: str) -> httpx.Response:
    return http.post(token_url, data={"grant_type": "client_credentials", "scope": scope,
                                      "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden(html: str, name: str) -> str:
    m = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert m, f"no hidden field {name} in the page"
    import html as html_mod
    return html_mod.unescape(m.group(1))


def log_in(browser: httpx.Client, username: str, password: str = PASSWORD) -> None:
    page = browser.get("/login")
    r = browser.post("/login", data={"username": username, "password": password, "csrf": hidden(page.text, "csrf"),
                                     "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
