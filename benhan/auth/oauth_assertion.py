"""private_key_jwt client authentication as SMART Backend Services asks for it
(http://hl7.org/fhir/smart-app-launch/backend-services.html#authenticating-to-the-token-endpoint):
a JWT signed with RS384 or ES384 by a key in the client's registered JWKS, iss = sub = client_id,
aud = the token endpoint, exp at most five minutes ahead, a jti never used before.

Authlib's RFC 7523 JWTBearerClientAssertion does the signature, iss/sub/aud/exp checks; this adds
the algorithm allow-list, the five-minute rule, the jti table and the JWKS (stored or by URL)."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from benhan.auth.oauth_clients import ClientSetupError, OAuthClient, public_key_set
from benhan.auth.tokens import now_us
from benhan.store import oauth_tables
from benhan.store.store import Store

ALGORITHMS = ["RS384", "ES384"]
MAX_LIFETIME_S = 300
LEEWAY_S = 60
JWKS_TTL_S = 300
JWKS_MAX_BYTES = 64 * 1024
JWKS_TIMEOUT_S = 5


class PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, store: Store, audiences: list[str]):
        super().__init__(validate_jti=True, leeway=LEEWAY_S)
        self.store = store
        self.audiences = audiences

    def get_audiences(self) -> list[str]:
        return self.audiences

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        try:
            if client.jwks:
                return public_key_set(client.jwks)
            if client.jwks_url:
                return _JWKS_CACHE.get(client.jwks_url)
        except (ClientSetupError, OSError, ValueError) as exc:
            raise InvalidClientError(description=_ascii(f"the client's keys cannot be used: {exc}")) from None
        raise InvalidClientError(description="the client has no registered keys")

    def process_assertion_claims(self, assertion: str, resolve_key):  # noqa: ANN001, ANN201
        # As Authlib's, with the algorithms SMART names (never "none", never an HMAC over a public key).
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=_ascii(f"client assertion refused: {exc.error}")) from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: jwt.Claims) -> None:
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp - time.time() > MAX_LIFETIME_S + LEEWAY_S:
            raise InvalidClientError(description="client assertion: exp is more than 5 minutes ahead")
        if not isinstance(claims.get("jti"), str) or not 0 < len(claims["jti"]) <= 255:
            raise InvalidClientError(description="client assertion: jti (a string) is required")
        super().verify_claims(claims)

    def validate_jti(self, claims: jwt.Claims, jti: str) -> bool:
        with self.store.db.write() as conn:
            return oauth_tables.remember_assertion(conn, claims["sub"], jti,
                                                   int(claims["exp"] + LEEWAY_S) * 1_000_000, now_us())


def _ascii(text: str) -> str:
    # RFC 6749 §5.2: error_description is restricted to printable ASCII without " and \.
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)


class _JwksCache:
    """Keys fetched from clients' JWKS URLs, kept a few minutes: a backend asks for a token every
    few minutes, and a key rotation at the client shows up within JWKS_TTL_S."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[float, KeySet]] = {}

    def get(self, url: str) -> KeySet:
        with self._lock:
            hit = self._keys.get(url)
        if hit and time.monotonic() - hit[0] < JWKS_TTL_S:
            return hit[1]
        keys = public_key_set(_fetch(url))
        with self._lock:
            self._keys[url] = (time.monotonic(), keys)
        return keys

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


def _fetch(url: str) -> str:
    # urllib rather than the project's HTTP client: one small GET, and httpx lives in sync/ only.
    if urlsplit(url).scheme not in ("https", "http"):
        raise ValueError("JWKS URL must be http(s)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=JWKS_TIMEOUT_S) as response:  # noqa: S310 (scheme checked)
        body = response.read(JWKS_MAX_BYTES + 1)
    if len(body) > JWKS_MAX_BYTES:
        raise ValueError("JWKS too large")
    json.loads(body)
    return body.decode()


_JWKS_CACHE = _JwksCache()
