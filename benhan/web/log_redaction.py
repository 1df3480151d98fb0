"""Secrets never reach the server's logs.

A logging filter, installed on the server's handlers, that rewrites any record carrying a
password, an OAuth secret or token, a session cookie or an Authorization header value into one
with ``[redacted]`` in its place: the message, its arguments and the formatted traceback. Logs
are copied to USB sticks and pasted into support chats; a bearer token there is a key to every
patient's record.

The common case (nothing secret in the record) costs one regular-expression search over the
formatted message.
"""
from __future__ import annotations

import copy
import logging
import re
from typing import Any

REDACTED = "[redacted]"

# Parameter names whose value is a secret wherever they appear (query string, form body, JSON).
SECRET_KEYS = (
    "password", "passwd", "new_password", "old_password", "current_password", "password_confirm",
    "client_secret", "client_assertion", "access_token", "refresh_token", "id_token", "token",
    "code_verifier", "otp", "totp", "mfa_code", "csrf", "csrf_token", "session", "secret", "api_key",
)
_KEYS = "|".join(SECRET_KEYS)
# `code` is an OAuth authorization code only next to the other OAuth parameters; alone it is
# the FHIR search parameter (Observation?code=…), which debug logs must keep readable.
_OAUTH_CONTEXT = re.compile(r"(?i)(?<![\w-])(grant_type|redirect_uri|code_verifier|client_id|state)=")

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # key=value in a query string or form body: password=…&  → password=[redacted]&
    (re.compile(rf"(?i)(?<![\w-])({_KEYS})=[^&\s'\",;)]*"), rf"\1={REDACTED}"),
    # JSON or a Python repr: "password": "…" / 'client_secret': b'…'
    (re.compile(rf"(?i)([\"'])({_KEYS})\1(\s*[:=]\s*b?)([\"'])(?:\\.|(?!\4).)*\4"), rf"\1\2\1\3\4{REDACTED}\4"),
    # Header values, as text or as the (name, value) pairs of an ASGI scope:
    # "Authorization: Bearer …", "(b'cookie', b'session=…')"
    (re.compile(r"(?i)(?<![\w-])((?:proxy-)?authorization|cookie|set-cookie|x-api-key)(['\"]?\s*[:=,]\s*b?['\"]?)"
                r"[^'\"\r\n]+"), rf"\1\2{REDACTED}"),
    # The credential itself wherever it turns up on its own.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {REDACTED}"),
    # Any JWT (access tokens, client assertions, id tokens): header.payload.signature
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # The password in a database URL: postgresql://user:secret@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s/]+@"), rf"\1:{REDACTED}@"),
)
_CODE = re.compile(r"(?i)(?<![\w-])code=[^&\s'\",;)]*")
_TRIGGER = re.compile(rf"(?i)({_KEYS}|authorization|cookie|x-api-key|bearer|basic|eyJ|://[^\s/@]+:[^\s/@]+@"
                      r"|(?<![\w-])code=)")


def redact(text: str) -> str:
    """text with every secret the rules know replaced by [redacted]."""
    if not _TRIGGER.search(text):
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    if _OAUTH_CONTEXT.search(text):
        text = _CODE.sub(f"code={REDACTED}", text)
    return text


def _redact_arg(arg: Any) -> Any:
    if isinstance(arg, str):
        return redact(arg)
    if isinstance(arg, (bytes, bytearray)):
        text = bytes(arg).decode("latin-1")
        clean = redact(text)
        return arg if clean == text else clean.encode("latin-1")
    if arg is None or isinstance(arg, (int, float, bool)):
        return arg
    text = str(arg)
    clean = redact(text)
    return arg if clean == text else clean


class RedactSecrets(logging.Filter):
    """Rewrites records carrying secrets; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            # Formatted here, once, so that the handler prints the redacted text (Formatter
            # reuses exc_text when it is set).
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record: logging reports it without our help
            return True
        clean = redact(text)
        if clean == text:
            return True
        # Keep the record's shape where possible: uvicorn's access formatter unpacks record.args
        # (client, method, path, version, status), so redact argument by argument first.
        if isinstance(record.args, tuple) and isinstance(record.msg, str):
            args = tuple(_redact_arg(a) for a in record.args)
            msg = redact(record.msg) if "%" not in record.msg else record.msg
            try:
                formatted = msg % args
            except (TypeError, ValueError, KeyError):
                formatted = None
            if formatted is not None and redact(formatted) == formatted:
                record.msg, record.args = msg, args
                return True
        # Otherwise give up the arguments and keep the redacted text.
        record.msg, record.args = clean, None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of logger (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the filter on its handlers (the access log included).

    Given to uvicorn.run as log_config: uvicorn sets up its loggers inside run(), after our
    logging setup, and in each worker process of a multi-worker server.
    """
    from uvicorn.config import LOGGING_CONFIG
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
