"""The OAuth 2.0 authorization server: Authlib's framework-agnostic AuthorizationServer with the
grants SMART on FHIR needs, over benhan's tables.

Authlib has no Starlette server integration, and auth/ may not import the web framework anyway, so
the adapter is in two halves: web/oauth_api.py reads the Starlette request (the body is async) into
an `HttpRequest` (plain data), and this module turns it into Authlib's OAuth2Request and Authlib's
(status, body, headers) into an `HttpResponse` (plain data) that the web layer sends. The Authlib
calls do blocking database work, so the web layer runs them on a worker thread.

Grants:
- client_credentials, private_key_jwt only (SMART Backend Services), system/ scopes;
- authorization_code with PKCE S256 required for every client (SMART App Launch 2), public or
  confidential (private_key_jwt or client_secret_basic); patient/ and user/ scopes;
- refresh_token (apps granted offline_access or online_access): rotated on every use; a rotated
  token used again revokes its whole family (RFC 9700 §4.14.2), as does a reused code.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (AuthorizationServer, InvalidGrantError, InvalidRequestError,
                                    InvalidScopeError, OAuth2Payload, OAuth2Request)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from benhan.auth import scopes as smart
from benhan.auth.oauth_assertion import PrivateKeyJwt, _ascii
from benhan.auth.oauth_clients import OAuthClient, get_client
from benhan.auth.tokens import MINUTE_US, new_token, now_us, token_hash
from benhan.auth.users import User, get_user
from benhan.store import audit_log, oauth_tables
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store

CODE_MINUTES = 5
DAY_US = 1440 * MINUTE_US
TOKEN_PATH, AUTHORIZE_PATH = "/auth/token", "/auth/authorize"
REVOKE_PATH, INTROSPECT_PATH = "/auth/revoke", "/auth/introspect"
CONFIDENTIAL_METHODS = ["private_key_jwt", "client_secret_basic"]


# --- the framework-free request and response ------------------------------------------------------

@dataclass
class HttpRequest:
    method: str
    url: str                                       # as the client addressed it (base_url when set)
    headers: Mapping[str, str]
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)
    token_url: str = ""                            # the audience of client assertions
    source: str | None = None                      # the caller's address, for the audit trail


@dataclass
class HttpResponse:
    status: int
    body: Any                                      # dict → JSON; str → as is
    headers: list[tuple[str, str]]


class _Payload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]):
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for k, v in pairs:
            self._datalist[k].append(v)
        self._data = {k: v[0] for k, v in self._datalist.items()}

    @property
    def data(self) -> dict:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist


class Request(OAuth2Request):
    def __init__(self, http: HttpRequest):
        super().__init__(http.method, http.url, headers=http.headers)
        self.http = http
        self._args = _Payload(http.query).data
        self._form = _Payload(http.form).data
        self.payload = _Payload(http.query + http.form)
        self.patient_id: str | None = None         # chosen on the consent page

    @property
    def args(self) -> dict:
        return self._args

    @property
    def form(self) -> dict:
        return self._form


# --- stored codes and tokens as Authlib sees them ---------------------------------------------------

@dataclass(frozen=True)
class AuthorizationCode:
    code_hash: str
    client_id: str
    user_pk: int
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    patient_id: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class StoredToken:
    token_hash: str
    kind: str
    client_id: str
    user_pk: int | None
    scope: str
    patient_id: str | None
    issued: int
    expires: int
    revoked: bool
    family: str | None

    @classmethod
    def from_row(cls, h: str, row: Any) -> "StoredToken":
        return cls(h, row.kind, row.client_id, row.user_pk, row.scope, row.patient_id, row.issued,
                   row.expires, row.revoked_at is not None or row.disabled_at is not None, row.family)

    def check_client(self, client: OAuthClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, (self.expires - now_us()) // 1_000_000)

    def is_expired(self) -> bool:
        return self.expires <= now_us()

    def is_revoked(self) -> bool:
        return self.revoked


def _stored_token(store: Store, raw: str | None) -> StoredToken | None:
    if not raw or len(raw) > 200:
        return None
    h = token_hash(raw)
    with store.db.read() as conn:
        row = oauth_tables.token_row(conn, h)
    return StoredToken.from_row(h, row) if row is not None else None


# --- grants ----------------------------------------------------------------------------------------

class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        granted = self.request.client.get_allowed_scope(self.request.payload.scope)
        if not granted:
            raise InvalidScopeError(description="ask for system/ scopes this client is registered for")
        self.request.scope = granted

    def create_token_response(self):  # noqa: ANN201
        # As Authlib's, but with the narrowed scope rather than the one asked for.
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS + ["none"]

    def validate_authorization_request(self) -> str:
        if not self.request.payload.redirect_uri:
            # SMART requires it; requiring it also binds the code to one exact URI.
            raise InvalidRequestError("redirect_uri is required", state=self.request.payload.state)
        return super().validate_authorization_request()

    def save_authorization_code(self, code: str, request: Request) -> None:
        now = now_us()
        data = request.payload.data
        with self.server.store.db.write() as conn:
            oauth_tables.purge_codes(conn, now - DAY_US)
            oauth_tables.insert_code(conn, {
                "code_hash": token_hash(code), "client_id": request.client.client_id, "user_pk": request.user.pk,
                "redirect_uri": request.payload.redirect_uri, "scope": request.scope,
                "code_challenge": data.get("code_challenge"), "code_challenge_method": data.get("code_challenge_method"),
                "patient_id": request.patient_id, "nonce": (data.get("nonce") or None),
                "issued": now, "expires": now + CODE_MINUTES * MINUTE_US, "used_at": None})
            audit_log.write(conn, [consent_record(request.user, request.client, request.scope, request.patient_id,
                                                  request.http.source, approved=True)])

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        # Claimed here, before PKCE and redirect_uri are checked: a code gets one attempt, so a
        # stolen code tried with a guessed verifier is burnt. A code presented again revokes the
        # tokens it produced (RFC 6749 §4.1.2); their family is the code's hash.
        h = token_hash(code)
        now = now_us()
        with self.server.store.db.write() as conn:
            row = oauth_tables.code_row(conn, h)
            if row is None:
                return None
            if not oauth_tables.claim_code(conn, h, client.client_id, now):
                if row.used_at is not None:
                    oauth_tables.revoke_family(conn, h, now)
                return None
        return AuthorizationCode(h, row.client_id, row.user_pk, row.redirect_uri, row.scope, row.code_challenge,
                                 row.code_challenge_method, row.patient_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        pass   # already marked used when it was claimed

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        return _live_user(self.server.store, authorization_code.user_pk)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS + ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True     # rotation

    def authenticate_refresh_token(self, refresh_token: str) -> StoredToken | None:
        token = _stored_token(self.server.store, refresh_token)
        if token is None or token.kind != "refresh":
            return None
        if token.is_revoked():
            # A rotated (or revoked) refresh token used again: someone else holds a copy.
            # Revoke everything descended from the same authorization.
            if token.family:
                with self.server.store.db.write() as conn:
                    oauth_tables.revoke_family(conn, token.family, now_us())
            return None
        return None if token.is_expired() else token

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # Claim the old token once all checks passed: of two concurrent uses, one wins.
        with self.server.store.db.write() as conn:
            if not oauth_tables.revoke_token(conn, self.request.refresh_token.token_hash, now_us()):
                raise InvalidGrantError("refresh token already used")

    def authenticate_user(self, refresh_token: StoredToken) -> User | None:
        return _live_user(self.server.store, refresh_token.user_pk)

    def revoke_old_credential(self, refresh_token: StoredToken) -> None:
        pass   # revoked when it was claimed


def _live_user(store: Store, pk: int | None) -> User | None:
    user = get_user(store, pk) if pk is not None else None
    return user if user is not None and user.disabled_at is None else None


class S256Required(CodeChallenge):
    """PKCE for every authorization request, S256 only (SMART App Launch 2.0)."""
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri) -> None:  # noqa: ANN001
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with code_challenge_method=S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result) -> None:  # noqa: ANN001
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


# --- revocation and introspection ------------------------------------------------------------------

class Revocation(RevocationEndpoint):
    # Public apps may revoke their own tokens too (logging out of an app).
    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS + ["none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return _stored_token(self.server.store, token_string)

    def revoke_token(self, token: StoredToken, request: Request) -> None:
        now = now_us()
        with self.server.store.db.write() as conn:
            oauth_tables.revoke_token(conn, token.token_hash, now)
            if token.kind == "refresh" and token.family:
                oauth_tables.revoke_family(conn, token.family, now)
            audit_log.write(conn, [AuditRecord(
                recorded=now, interaction="logout", subtype="oauth-revoke", agent=token.client_id,
                client_id=token.client_id, source_address=request.http.source,
                detail=json.dumps({"token": token.kind, "scope": token.scope}))])


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return _stored_token(self.server.store, token_string)

    def check_permission(self, token: StoredToken, client: OAuthClient, request: Request) -> bool:
        # A client learns about its own tokens only.
        return token.client_id == client.client_id

    def introspect_token(self, token: StoredToken) -> dict:
        out = {"active": True, "client_id": token.client_id, "scope": token.scope, "token_type": "Bearer"
               if token.kind == "access" else "refresh_token", "exp": token.expires // 1_000_000,
               "iat": token.issued // 1_000_000}
        if token.patient_id:
            out["patient"] = token.patient_id
        if token.user_pk is not None:
            user = get_user(self.server.store, token.user_pk)
            if user is not None:
                out["username"] = user.username
        return out


# --- the server ------------------------------------------------------------------------------------

class BenhanAuthorizationServer(AuthorizationServer):
    def __init__(self, store: Store):
        super().__init__()
        self.store = store
        self.register_token_generator("default", self._generate_token)
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256Required(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_client_auth_method("private_key_jwt", self._private_key_jwt)

    # Authlib's hooks into our storage
    def query_client(self, client_id: str) -> OAuthClient | None:
        return get_client(self.store, client_id)

    def _private_key_jwt(self, query_client, request: Request) -> OAuthClient | None:  # noqa: ANN001
        # A fresh checker per request: its audience is this server's token URL as the client sees it.
        audiences = list(dict.fromkeys([request.http.token_url, request.http.url]))
        return PrivateKeyJwt(self.store, audiences)(query_client, request)

    def validate_requested_scope(self, scope: str | None) -> None:
        try:
            smart.check(scope or "", strict=False)
        except smart.InvalidScope as exc:
            raise InvalidScopeError(description=_ascii(str(exc))) from None

    def _generate_token(self, grant_type: str, client: OAuthClient, user: User | None = None,
                        scope: str | None = None, expires_in: int | None = None,
                        include_refresh_token: bool = True) -> dict:
        words = [w for w in (scope or "").split() if smart.parse_resource_scope(w) or w in smart.GRANTED_OTHER]
        scope = " ".join(words)
        token = {"token_type": "Bearer", "access_token": new_token(), "scope": scope,
                 "expires_in": expires_in or self.store.config.access_token_minutes * 60}
        if include_refresh_token and ({"offline_access", "online_access"} & set(words)):
            token["refresh_token"] = new_token()
        return token

    def _refresh_lifetime(self, scope: str) -> int:
        # offline_access: refresh_token_days. online_access alone: no longer than a web session may
        # last (session_max_hours), so the app's access ends about when a login would.
        cfg = self.store.config
        days = cfg.refresh_token_days * 1440 * MINUTE_US
        if "offline_access" in scope.split():
            return days
        return min(days, cfg.session_max_hours * 60 * MINUTE_US)

    def save_token(self, token: dict, request: Request) -> None:
        now = now_us()
        code = getattr(request, "authorization_code", None)
        previous = getattr(request, "refresh_token", None)
        source = code or previous
        patient_id = source.patient_id if source is not None else None
        family = code.code_hash if code is not None else (previous.family if previous is not None else None)
        user_pk = request.user.pk if request.user is not None else None
        rows = [{"token_hash": token_hash(token["access_token"]), "kind": "access",
                 "expires": now + token["expires_in"] * 1_000_000}]
        if "refresh_token" in token:
            rows.append({"token_hash": token_hash(token["refresh_token"]), "kind": "refresh",
                         "expires": now + self._refresh_lifetime(token["scope"])})
        user = request.user
        with self.store.db.write() as conn:
            _purge(conn, now)
            for row in rows:
                oauth_tables.insert_token(conn, {**row, "client_id": request.client.client_id, "user_pk": user_pk,
                                                 "scope": token["scope"], "patient_id": patient_id,
                                                 "issued": now, "revoked_at": None, "family": family})
            # A token is a login of the client (and of the user, through the app).
            audit_log.write(conn, [AuditRecord(
                recorded=now, interaction="login", subtype="oauth-token",
                agent=user.username if user is not None else request.client.client_id,
                role=" ".join(user.roles) if user is not None else None, client_id=request.client.client_id,
                source_address=request.http.source, patients=(patient_id,) if patient_id else (),
                detail=json.dumps({"grant": request.payload.grant_type, "scope": token["scope"],
                                   "refresh": "refresh_token" in token}))])
        # SMART launch context travels in the token response.
        if patient_id:
            token["patient"] = patient_id

    def create_token_response(self, request: HttpRequest | None = None) -> HttpResponse:
        response = super().create_token_response(request)
        if response.status != 200 and isinstance(request, HttpRequest):
            self._audit_failure(request, response)
        return response

    def _audit_failure(self, request: HttpRequest, response: HttpResponse) -> None:
        # A refused token request is a failed login: which client said it was asking, and why not.
        data = dict(request.form)
        claimed = data.get("client_id") or _assertion_subject(data.get("client_assertion"))
        claimed = str(claimed or "unknown-client")[:64]
        error = response.body.get("error") if isinstance(response.body, dict) else None
        with self.store.db.write() as conn:
            audit_log.write(conn, [AuditRecord(
                recorded=now_us(), interaction="login", subtype="oauth-token", outcome="4", agent=claimed,
                source_address=request.source,
                detail=json.dumps({"grant": (data.get("grant_type") or "")[:40], "error": error}))])

    # The adapter
    def create_oauth2_request(self, request: HttpRequest | Request) -> Request:
        return request if isinstance(request, Request) else Request(request)

    def create_json_request(self, request):  # noqa: ANN001, ANN201
        # Authlib calls this only for JSON-bodied endpoints (dynamic client registration, RFC 7591),
        # which benhan deliberately does not offer: clients are registered by `benhan client add`.
        raise NotImplementedError("benhan has no JSON-bodied OAuth endpoint (no dynamic client registration)")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> HttpResponse:
        return HttpResponse(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass   # no listeners; audit of token issue is done by the web layer's outcome


def patient_exists(store: Store, patient_id: str) -> bool:
    """A launch context names a Patient that is on this server."""
    if not patient_id or len(patient_id) > 64:
        return False
    with store.db.read() as conn:
        return oauth_tables.patient_exists(conn, patient_id)


def smart_configuration(root: str) -> dict:
    """/.well-known/smart-configuration (SMART App Launch 2.x, §Conformance)."""
    contexts = ("patient", "user", "system")
    return {
        "issuer": root,
        "authorization_endpoint": root + AUTHORIZE_PATH,
        "token_endpoint": root + TOKEN_PATH,
        "revocation_endpoint": root + REVOKE_PATH,
        "introspection_endpoint": root + INTROSPECT_PATH,
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": sorted(smart.GRANTED_OTHER) + [f"{c}/*.{a}" for c in contexts
                                                           for a in ("cruds", "rs", "read", "write", "*")],
        "capabilities": ["launch-standalone", "client-public", "client-confidential-symmetric",
                         "client-confidential-asymmetric", "context-standalone-patient", "permission-offline",
                         "permission-online", "permission-patient", "permission-user", "permission-v1",
                         "permission-v2"],
    }


def consent_record(user: User, client: OAuthClient, scope: str | None, patient_id: str | None,
                   source: str | None, *, approved: bool) -> AuditRecord:
    """A user's answer on the consent page: a permission given to (or refused for) an app."""
    return AuditRecord(
        recorded=now_us(), interaction="permission", subtype="oauth-consent", agent=user.username,
        outcome="0" if approved else "4", role=" ".join(user.roles), client_id=client.client_id, source_address=source,
        patients=(patient_id,) if patient_id else (),
        detail=json.dumps({"client": client.name, "scope": scope, "approved": approved}, ensure_ascii=False))


def record_denial(store: Store, user: User, client: OAuthClient, scope: str | None, source: str | None) -> None:
    with store.db.write() as conn:
        audit_log.write(conn, [consent_record(user, client, scope, None, source, approved=False)])


def _assertion_subject(assertion: str | None) -> str | None:
    # Who a refused assertion said it came from (unverified: for the audit trail only).
    if not assertion:
        return None
    try:
        return PrivateKeyJwt(None, []).extract_assertion(assertion)[1].get("sub")  # type: ignore[arg-type]
    except OAuth2Error:
        return None


def _purge(conn, now: int) -> None:  # noqa: ANN001
    # Tokens are of no use a day after they expire (kept that long for reuse detection and
    # investigation). Deleted as new ones are issued: the table stays about a day's tokens plus
    # the live refresh tokens, and no scheduler is needed.
    oauth_tables.purge_tokens(conn, now - DAY_US)
