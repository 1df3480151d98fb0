"""The national prescription code (mã đơn thuốc, TT 26/2025/TT-BYT PL I footnote 1; TT 55/2025 for
decoctions): 14 characters `xxxxxyyyyyyy-z` —

- `xxxxx`   the facility's 5-character code (QĐ 384/QĐ-BYT);
- `yyyyyyy` 7 random characters, digits or lower-case letters, unique within the facility;
- `-`;
- `z`       the kind: N narcotic, H psychotropic or precursor, C any other, T a decoction (TT 55).

Made once when the prescription is issued and never changed: an "edit" of a sent prescription is a
new prescription with a new code (TT 26 Đ6 k9). Randomness from `secrets`, so codes are not guessable
from one another (a pharmacy looks a prescription up by its code).
"""
from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable

NATIONAL_CODE_SYSTEM = "https://benhan.vn/sid/ma-don-thuoc-quoc-gia"
KINDS = {"N": "gây nghiện", "H": "hướng thần, tiền chất", "C": "thông thường", "T": "thuốc thang"}
ALPHABET = string.digits + string.ascii_lowercase
PATTERN = re.compile(r"^[0-9A-Za-z]{5}[0-9a-z]{7}-[NHCT]$")


class CodeError(ValueError):
    """A facility code or kind the national format cannot carry."""


def generate(facility_code: str, kind: str = "C", taken: Callable[[str], bool] = lambda _: False,
             choice: Callable[[str], str] = secrets.choice) -> str:
    """A new code for the facility; `taken` says whether a code is already used there (tried again)."""
    if not re.fullmatch(r"[0-9A-Za-z]{5}", facility_code or ""):
        raise CodeError(f"mã cơ sở phải có đúng 5 ký tự chữ/số: {facility_code!r} | the facility code must be "
                        "5 letters or digits")
    if kind not in KINDS:
        raise CodeError(f"loại đơn {kind!r} không có; một trong {', '.join(KINDS)} | unknown prescription kind")
    for _ in range(100):
        code = f"{facility_code}{''.join(choice(ALPHABET) for _ in range(7))}-{kind}"
        if not taken(code):
            return code
    raise CodeError("không tạo được mã đơn thuốc chưa dùng | no unused prescription code found")


def valid(code: str) -> bool:
    return bool(PATTERN.fullmatch(code or ""))


def kind_of(code: str) -> str:
    return code[-1] if valid(code) else ""
