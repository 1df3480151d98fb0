"""The QR code on the chip-based CCCD (vietnam.md §4.2), as a keyboard-wedge scanner types it:

    SoCCCD|SoCMND_cu|HoTen|NgaySinh(ddMMyyyy)|GioiTinh|NoiThuongTru|NgayCap(ddMMyyyy)

What real scanners and cards do to that, and what is tolerated here:
- a prefix before the payload (a symbology identifier such as ``]Q1``, a label such as ``CCCD:``,
  stray keystrokes): the payload starts at the first 12-digit field followed by ``|``;
- an empty old-ID field (``||``) — common — or no old-ID field at all (6 fields);
- commas (never pipes) inside the address: the address is one field, kept whole;
- names in capitals (``NGUYỄN VĂN AN``): written in the usual case;
- trailing extra fields or a final newline/carriage return (newer cards may add fields: ignored);
- sex written Nam/Nữ, with or without the accent, any case.

A payload that is not a CCCD QR gives a QrProblem naming which part is wrong, so the desk sees
"the birth date 31021990 is not a date" rather than "invalid".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from benhan.fhir.text import fold

_START = re.compile(r"(\d{12})\|")
_OLD_ID = re.compile(r"^\d{9}$|^\d{12}$")
_DATE = re.compile(r"^\d{8}$")


class QrProblem(ValueError):
    """The text is not a readable CCCD QR payload; `reason` is a short English sentence and `key`
    a stable message key for the UI (vn.qr.<key>)."""

    def __init__(self, key: str, reason: str):
        super().__init__(reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class CccdCard:
    cccd: str
    old_id: str | None
    name: str
    birth_date: date
    female: bool
    address: str
    issued: date | None

    @property
    def gender(self) -> str:
        return "female" if self.female else "male"


def _date(text: str, what: str) -> date:
    if not _DATE.match(text):
        raise QrProblem(f"bad-{what}", f"the {what.replace('-', ' ')} {text!r} is not ddMMyyyy")
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        raise QrProblem(f"bad-{what}", f"the {what.replace('-', ' ')} {text} is not a date") from None


def _sex(text: str) -> bool:
    folded = fold(text).strip()
    if folded in ("nam", "male", "m"):
        return False
    if folded in ("nu", "female", "f"):
        return True
    raise QrProblem("bad-sex", f"the sex {text!r} is neither Nam nor Nữ")


def proper_case(name: str) -> str:
    """NGUYỄN VĂN AN → Nguyễn Văn An; a name already in mixed case is kept as written."""
    name = " ".join(name.split())
    return name.title() if name.isupper() else name


def parse_cccd_qr(payload: str) -> CccdCard:
    text = (payload or "").replace("\r", "").replace("\n", "").strip()
    found = _START.search(text)
    if found is None:
        raise QrProblem("not-cccd", "no 12-digit CCCD number followed by '|' was found")
    fields = [f.strip() for f in text[found.start():].split("|")]
    if len(fields) >= 6 and not _OLD_ID.match(fields[1]) and fields[1] and _DATE.match(fields[2]):
        # No old-ID field at all: the name follows the CCCD directly.
        fields.insert(1, "")
    if len(fields) < 6:
        raise QrProblem("too-few-fields", f"a CCCD QR has 7 fields separated by '|', this has {len(fields)}")
    cccd, old_id, name, birth, sex, address = fields[:6]
    issued = fields[6] if len(fields) > 6 else ""
    if old_id and not _OLD_ID.match(old_id):
        raise QrProblem("bad-old-id", f"the old ID {old_id!r} is neither 9 nor 12 digits")
    if not name:
        raise QrProblem("no-name", "the name field is empty")
    return CccdCard(cccd=cccd, old_id=old_id or None, name=proper_case(name), birth_date=_date(birth, "birth-date"),
                    female=_sex(sex), address=" ".join(address.split()),
                    issued=_date(issued, "issue-date") if issued else None)


def looks_like_qr(text: str) -> bool:
    """Whether a typed search text is a scanned payload rather than a name or number."""
    return bool(_START.search(text or ""))
