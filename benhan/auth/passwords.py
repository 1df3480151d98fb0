"""Passwords: argon2id hashes and the password rules of TCVN 14423:2026 (≥ 14 characters for an
account without MFA, ≥ 8 with MFA), plus the checks every guide asks for: not the user name, not a
well-known password, not one repeated character. Length is counted in characters, so Vietnamese
passphrases with diacritics are welcome."""
from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from benhan import errors

MAX_LENGTH = 256
# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, t=3, p=4): about
# 50 ms on an old 2-core PC, fine for a login and too slow for guessing.
_hasher = PasswordHasher()
_COMMON = {"password", "matkhau", "matkhau123", "123456789", "1234567890", "12345678", "qwertyuiop",
           "password123", "admin123", "iloveyou", "abc123456", "benhan", "benhan123", "1q2w3e4r",
           "11111111", "00000000", "88888888", "66668888", "abcdefgh", "qwerty123"}


def normalise(password: str) -> str:
    # The same passphrase typed with a composed or a decomposed "ễ" must verify.
    return unicodedata.normalize("NFC", password)


def _rejected(reason: str, message: str, **values: object) -> errors.BenhanError:
    # The reason is a message key of the UI (web/i18n: password.<reason>); the message is for the API and CLI.
    exc = errors.PasswordRejected(message)
    exc.reason, exc.values = reason, values
    return exc


def check_rules(password: str, *, username: str, mfa: bool, min_length: int, min_length_mfa: int) -> None:
    password = normalise(password)
    need = min_length_mfa if mfa else min_length
    if len(password) < need:
        raise _rejected("too_short", f"the password must be at least {need} characters"
                        + ("" if mfa else " (8 with two-step login)"), n=need)
    if len(password) > MAX_LENGTH:
        raise _rejected("too_long", f"the password may be at most {MAX_LENGTH} characters", n=MAX_LENGTH)
    folded = password.casefold()
    if username and username.casefold() in folded:
        raise _rejected("has_username", "the password must not contain the user name")
    if len(set(folded)) < 4 or folded.replace(" ", "") in _COMMON:
        raise _rejected("too_easy", "the password is too easy to guess")


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check, so that timing does not reveal unknown accounts.
        _hasher.hash("benhan timing equaliser")
        return False
    try:
        return _hasher.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
