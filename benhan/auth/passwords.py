"""Passwords: argon2id hashes and the password rules of TCVN 14423:2026 (≥ 14 characters for an
account without MFA, ≥ 8 with MFA), plus the checks every guide asks for: not the user name, not a
well-known or breached password, not a repeated, sequential or keyboard pattern (issue 11 item 17:
a short list of short words never fired once the minimum was 14). Length is counted in characters,
so Vietnamese passphrases with diacritics are welcome.

"Easy to guess" is measured with zxcvbn (Dropbox's estimator, MIT): it matches the password against
its lists — 30,000 common passwords from breaches, 30,000 English words, names — and against
repeats, sequences (abcd, 1234, 9753), keyboard walks (qwerty, 1qaz2wsx), dates and l33t
substitutions, and estimates the guesses an attacker ordering guesses that way needs. We refuse
fewer than 10^10 guesses (10^8 with two-step login, where a guess also needs the code), and always
a whole repetition (abcabc…), the published demo password and the words below.
"""
from __future__ import annotations

import re
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from benhan import errors

MAX_LENGTH = 256
# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, t=3, p=4): about
# 50 ms on an old 2-core PC, fine for a login and too slow for guessing.
_hasher = PasswordHasher()
# Words zxcvbn's English lists lack but a Vietnamese guesser starts with (given as its "user
# inputs": ranked first, so a password built from them counts as a few guesses).
_LOCAL_WORDS = ["matkhau", "benhan", "benhvien", "bacsi", "yta", "admin", "quantri", "vietnam", "hanoi",
                "saigon", "hochiminh", "anhyeuem", "emyeuanh", "yeuem", "66668888", "88888888", "nguyen",
                "tran", "le", "pham", "hoang", "phan", "vu", "dang", "bui", "do", "ho", "ngo", "duong", "ly"]
DEMO_PASSWORD = "benhan-demo-2026"   # published in the README and printed by `serve --demo`
_GUESSES_LOG10 = {False: 10.0, True: 8.0}   # without / with two-step login
_ZXCVBN_MAX = 72                     # zxcvbn's own limit; beyond, the first 72 characters are judged


def normalise(password: str) -> str:
    # The same passphrase typed with a composed or a decomposed "ễ" must verify.
    return unicodedata.normalize("NFC", password)


def _rejected(reason: str, message: str, **values: object) -> errors.BenhanError:
    # The reason is a message key of the UI (web/i18n: password.<reason>); the message is for the API and CLI.
    exc = errors.PasswordRejected(message)
    exc.reason, exc.values = reason, values
    return exc


def check_rules(password: str, *, username: str, mfa: bool, min_length: int, min_length_mfa: int,
                demo: bool = False) -> None:
    """Refuse a password that breaks a rule (PasswordRejected, with the UI's reason key).
    `demo`: the demo accounts of `serve --demo`, whose password is the published one."""
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
    easy = _too_easy(folded, username=username, mfa=mfa, demo=demo)
    if easy:
        raise _rejected("too_easy", f"the password is too easy to guess ({easy})")


def _periodic(text: str) -> bool:
    """Whether the text repeats a shorter piece, the last repeat perhaps partial: abcabcab,
    1234567890123456, passwordpassword."""
    return len(text) > 1 and any(text[p:] == text[:-p] for p in range(1, len(text) // 2 + 1))


def _too_easy(folded: str, *, username: str, mfa: bool, demo: bool) -> str | None:
    """Why the (case-folded) password is easy to guess, or None."""
    bare = re.sub(r"[\W_]+", "", folded)      # separators do not make a password: b-e-n-h-a-n
    if not demo and bare == re.sub(r"[\W_]+", "", DEMO_PASSWORD):
        return "it is the published demo password"
    if len(set(folded)) < 4:
        return "too few different characters"
    if _periodic(folded) or _periodic(bare):
        return "a repetition"
    from zxcvbn import zxcvbn      # ~0.3 s to load its lists: only when a password is set
    result = zxcvbn(folded[:_ZXCVBN_MAX], user_inputs=[*_LOCAL_WORDS, username.casefold()] if username
                    else _LOCAL_WORDS, max_length=_ZXCVBN_MAX)
    if result["guesses_log10"] < _GUESSES_LOG10[mfa]:
        patterns = {m["pattern"] for m in result["sequence"]}
        return ("a well-known password or word" if "dictionary" in patterns
                else "a sequence or keyboard pattern" if patterns & {"sequence", "spatial"}
                else "a repetition" if "repeat" in patterns else "a date or short pattern")
    return None


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
