"""Registered OAuth clients: backend systems (client credentials, private_key_jwt) and apps
(authorization code + PKCE; public, or confidential with keys or a secret).

Registration is by an administrator (`benhan client add`), not dynamic: a facility knows the few
systems and apps that talk to it, and each one's scopes are an explicit decision."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from benhan.auth import scopes as smart
from benhan.auth.tokens import now_us
from benhan.store import oauth_tables
from benhan.store.store import Store

SYSTEM, APP = "system", "app"
PRIVATE_KEY_JWT, PUBLIC, SECRET_BASIC = "private_key_jwt", "none", "client_secret_basic"


class ClientSetupError(ValueError):
    """A registration that cannot be accepted (the CLI prints it on one line)."""


@dataclass(frozen=True)
class OAuthClient(ClientMixin):
    client_id: str
    name: str
    kind: str
    auth_method: str
    jwks: str | None
    jwks_url: str | None
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    scopes: str
    created: int
    disabled_at: int | None

    @classmethod
    def from_row(cls, row) -> "OAuthClient":  # noqa: ANN001
        return cls(row.client_id, row.name, row.kind, row.auth_method, row.jwks, row.jwks_url,
                   row.secret_hash, tuple(row.redirect_uris.split()), row.scopes, row.created, row.disabled_at)

    # --- Authlib's ClientMixin -------------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The part of the requested scope this client may have; None (→ invalid_scope) when that
        leaves no resource access at all."""
        if not scope:
            return None
        contexts = ("system",) if self.kind == SYSTEM else ("patient", "user")
        granted = " ".join(w for w in smart.narrow(scope, self.scopes, contexts=contexts).split()
                           if w in smart.GRANTED_OTHER or smart.parse_resource_scope(w))
        return granted if smart.resource_contexts(granted) else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match (RFC 9700 §4.1.3): no prefix or pattern matching.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.secret_hash) and hmac.compare_digest(self.secret_hash, secret_hash(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return self.kind == APP and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if self.kind == SYSTEM:
            return grant_type == "client_credentials"
        return grant_type in ("authorization_code", "refresh_token")

    @property
    def confidential(self) -> bool:
        return self.auth_method != PUBLIC


def secret_hash(secret: str) -> str:
    # A generated secret has 256 random bits: a plain SHA-256 cannot be brute-forced, and it keeps a
    # token request fast (argon2 is for passwords people choose).
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def get_client(store: Store, client_id: str | None, *, live: bool = True) -> OAuthClient | None:
    if not client_id or len(client_id) > 64:
        return None
    with store.db.read() as conn:
        row = oauth_tables.client_row(conn, client_id)
    if row is None or (live and row.disabled_at is not None):
        return None
    return OAuthClient.from_row(row)


def list_clients(store: Store) -> list[OAuthClient]:
    with store.db.read() as conn:
        return [OAuthClient.from_row(r) for r in oauth_tables.client_rows(conn)]


def disable_client(store: Store, client_id: str) -> int:
    """Disable a client and revoke its tokens; the number of tokens revoked."""
    now = now_us()
    with store.db.write() as conn:
        if not oauth_tables.update_client(conn, client_id, disabled_at=now):
            raise LookupError(f"no OAuth client {client_id!r}")
        return oauth_tables.revoke_client_tokens(conn, client_id, now)


def public_key_set(jwks_text: str) -> KeySet:
    """The JWKS as a joserfc KeySet; refuses private keys (a client must never hand them over)."""
    try:
        data = json.loads(jwks_text)
    except ValueError:
        raise ClientSetupError("the JWKS is not JSON") from None
    if isinstance(data, dict) and "keys" not in data and "kty" in data:
        data = {"keys": [data]}          # a single JWK is accepted as a set of one
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise ClientSetupError("the JWKS must be a JSON object with a non-empty 'keys' list")
    if any(isinstance(k, dict) and any(p in k for p in ("d", "p", "q", "k")) for k in data["keys"]):
        raise ClientSetupError("the JWKS holds private key material: register the public keys only")
    try:
        return KeySet.import_key_set(data)
    except (JoseError, ValueError, TypeError) as exc:
        raise ClientSetupError(f"the JWKS cannot be read: {exc}") from None


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if parts.fragment or not parts.scheme:
        raise ClientSetupError(f"redirect URI {uri!r}: absolute, without a #fragment")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ClientSetupError(f"redirect URI {uri!r}: https (http only for localhost)")
    if parts.scheme in ("javascript", "data", "file"):
        raise ClientSetupError(f"redirect URI {uri!r}: scheme not allowed")


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def register_client(store: Store, name: str, kind: str, *, scope: str, jwks: str | None = None,
                    jwks_url: str | None = None, public: bool = False,
                    redirect_uris: list[str] | None = None) -> tuple[OAuthClient, str | None]:
    """Register a client; returns it and, for a confidential app without keys, its generated
    secret (shown once, stored only as a hash)."""
    redirect_uris = redirect_uris or []
    if not name.strip():
        raise ClientSetupError("the client needs a name")
    if kind not in (SYSTEM, APP):
        raise ClientSetupError("kind is 'system' (a backend service) or 'app'")
    try:
        words = smart.check(scope)
    except smart.InvalidScope as exc:
        raise ClientSetupError(str(exc)) from None
    contexts = smart.resource_contexts(" ".join(words))
    if not contexts:
        raise ClientSetupError("give at least one resource scope, e.g. system/*.rs or patient/*.rs")
    if jwks and jwks_url:
        raise ClientSetupError("give --jwks or --jwks-url, not both")
    if jwks:
        public_key_set(jwks)
    if jwks_url and urlsplit(jwks_url).scheme != "https" and not _loopback(urlsplit(jwks_url).hostname):
        raise ClientSetupError("the JWKS URL must be https")
    secret = None
    if kind == SYSTEM:
        if contexts != {"system"}:
            raise ClientSetupError("a backend system gets system/ scopes only")
        if not (jwks or jwks_url) or public:
            raise ClientSetupError("a backend system authenticates with a signed JWT: give --jwks or --jwks-url")
        if redirect_uris:
            raise ClientSetupError("a backend system has no redirect URIs")
        method = PRIVATE_KEY_JWT
    else:
        if "system" in contexts:
            raise ClientSetupError("an app gets patient/ or user/ scopes, not system/")
        if not redirect_uris:
            raise ClientSetupError("an app needs at least one --redirect-uri")
        for uri in redirect_uris:
            _check_redirect_uri(uri)
        if public and (jwks or jwks_url):
            raise ClientSetupError("a public app has no keys")
        if public:
            method = PUBLIC
        elif jwks or jwks_url:
            method = PRIVATE_KEY_JWT
        else:
            method, secret = SECRET_BASIC, secrets.token_urlsafe(32)
    values = {"client_id": uuid.uuid4().hex, "name": name.strip()[:200], "kind": kind, "auth_method": method,
              "jwks": jwks, "jwks_url": jwks_url, "secret_hash": secret_hash(secret) if secret else None,
              "redirect_uris": " ".join(redirect_uris), "scopes": " ".join(words), "created": now_us(),
              "disabled_at": None}
    with store.db.write() as conn:
        oauth_tables.insert_client(conn, values)
        row = oauth_tables.client_row(conn, values["client_id"])
    return OAuthClient.from_row(row), secret
