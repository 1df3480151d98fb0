"""Two-step login with TOTP (RFC 6238): any authenticator app (Google/Microsoft Authenticator,
FreeOTP …) works offline on the phone, and the server needs no SMS gateway or Internet."""
from __future__ import annotations

import pyotp

ISSUER = "benhan"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, facility: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=facility)


def verify(secret: str | None, code: str, at: float | None = None) -> bool:
    if not secret:
        return False
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    # One step of clock drift either way: old PCs' clocks wander.
    return pyotp.TOTP(secret).verify(code, for_time=at, valid_window=1)


def current_code(secret: str, at: float | None = None) -> str:
    """For tests and the enrolment page's self-check."""
    totp = pyotp.TOTP(secret)
    return totp.at(at) if at is not None else totp.now()
