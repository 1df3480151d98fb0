"""VietQR: the NAPAS profile of the EMVCo merchant-presented QR code that any Vietnamese banking app
scans to transfer money straight into the facility's account (vietnam.md §5, vietnam-billing.md §7;
NAPAS "Technical Specifications on NAPAS QR Switching", Part IV).

The payload is a string of TLV fields (2-digit tag, 2-digit length, value):

    00 payload format "01" · 01 point of initiation "11" static / "12" dynamic (amount set)
    38 NAPAS merchant account {00 GUID A000000727 · 01 beneficiary {00 bank BIN · 01 account}
       · 02 service QRIBFTTA (to an account) / QRIBFTTC (to a card)}
    53 currency "704" · 54 amount (dynamic only) · 58 country "VN" · 59/60 name/city (optional)
    62 additional data {01 bill number · 05 reference · 07 terminal · 08 purpose}
    63 CRC-16/CCITT-FALSE over everything before it, "6304" included; always last.

The bill number goes in 62.01 and again in the purpose 62.08: banking apps copy the purpose into
the transfer's description, which is what the facility's bank statement shows and what the bank
import matches on (billing/bank_statement.py). Pure format: no store, no image (billing/qr_image.py).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

NAPAS_GUID = "A000000727"
TO_ACCOUNT = "QRIBFTTA"
TO_CARD = "QRIBFTTC"
VND = "704"
STATIC, DYNAMIC = "11", "12"

_BIN = re.compile(r"^\d{6}$")
_ACCOUNT = re.compile(r"^[0-9A-Za-z]{1,19}$")
# What every banking app carries through to the statement: ASCII letters, digits, space and a few marks.
_PLAIN = re.compile(r"^[0-9A-Za-z .,:/_-]*$")
_MAX_AMOUNT = Decimal("9999999999999")      # 13 characters (tag 54)


class VietQrProblem(ValueError):
    """A payload that cannot be built or read; `key` names the problem (bad-crc, bad-amount …), `reason` says it."""

    def __init__(self, key: str, reason: str):
        super().__init__(reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class VietQR:
    bank_bin: str                      # the bank's NAPAS BIN, 6 digits (970436 …)
    account: str                       # the beneficiary's account (or card) number
    amount: Decimal | None = None      # whole VND; None: a static code, the payer types the amount
    bill_number: str = ""              # 62.01
    purpose: str = ""                  # 62.08, copied into the transfer's description
    reference: str = ""                # 62.05
    terminal: str = ""                 # 62.07, e.g. the cash desk
    service: str = TO_ACCOUNT
    merchant_name: str = ""            # 59
    merchant_city: str = ""            # 60


def crc16(data: bytes) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR), 4 uppercase hex."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def plain(text: str) -> str:
    """Vietnamese text without diacritics ("Viện phí" → "Vien phi"): banking apps and NAPAS carry
    only ASCII in the purpose, and many drop the whole field when it holds anything else."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _field(tag: str, value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise VietQrProblem("too-long", f"{what} has {len(value)} characters, at most {limit} fit (tag {tag})")
    return f"{tag}{len(value):02d}{value}"


def _text(value: str, limit: int, what: str) -> str:
    if not _PLAIN.match(value):
        raise VietQrProblem("not-plain", f"{what} {value!r} must be ASCII letters, digits, spaces and .,:/_- only")
    if len(value) > limit:
        raise VietQrProblem("too-long", f"{what} has {len(value)} characters, at most {limit} fit")
    return value


def amount_text(amount: Decimal) -> str:
    """The amount as tag 54 carries it: whole đồng, no separators."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise VietQrProblem("bad-amount", f"the amount {amount!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise VietQrProblem("bad-amount", f"the amount {amount} must be more than 0 VND")
    if value != value.to_integral_value():
        raise VietQrProblem("bad-amount", f"the amount {amount} must be whole đồng")
    if value > _MAX_AMOUNT:
        raise VietQrProblem("bad-amount", f"the amount {amount} is larger than a VietQR code can carry")
    return str(int(value))


def payload(qr: VietQR) -> str:
    """The payload string; raises VietQrProblem for a field that does not fit the format."""
    if not _BIN.match(qr.bank_bin or ""):
        raise VietQrProblem("bad-bin", f"the bank BIN {qr.bank_bin!r} must be 6 digits")
    if not _ACCOUNT.match(qr.account or ""):
        raise VietQrProblem("bad-account", f"the account {qr.account!r} must be 1–19 letters or digits")
    if qr.service not in (TO_ACCOUNT, TO_CARD):
        raise VietQrProblem("bad-service", f"the service {qr.service!r} is not {TO_ACCOUNT} or {TO_CARD}")
    beneficiary = _field("00", qr.bank_bin, 6, "the BIN") + _field("01", qr.account, 19, "the account")
    merchant = (_field("00", NAPAS_GUID, 32, "the GUID") + _field("01", beneficiary, 99, "the beneficiary")
                + _field("02", qr.service, 10, "the service"))
    out = _field("00", "01", 2, "") + _field("01", STATIC if qr.amount is None else DYNAMIC, 2, "")
    out += _field("38", merchant, 99, "the merchant account")
    out += _field("53", VND, 3, "")
    if qr.amount is not None:
        out += _field("54", amount_text(qr.amount), 13, "the amount")
    out += _field("58", "VN", 2, "")
    if qr.merchant_name:
        out += _field("59", _text(qr.merchant_name, 25, "the name"), 25, "the name")
    if qr.merchant_city:
        out += _field("60", _text(qr.merchant_city, 15, "the city"), 15, "the city")
    extra = ""
    for tag, value, what in (("01", qr.bill_number, "the bill number"), ("05", qr.reference, "the reference"),
                             ("07", qr.terminal, "the terminal"), ("08", qr.purpose, "the purpose")):
        if value:
            extra += _field(tag, _text(value, 25, what), 25, what)
    if extra:
        out += _field("62", extra, 99, "the additional data")
    out += "6304"
    return out + crc16(out.encode("ascii"))


def fields(text: str) -> list[tuple[str, str]]:
    """The TLV fields of one level, in order; raises VietQrProblem when a length runs past the end."""
    out, i = [], 0
    while i < len(text):
        tag, length = text[i:i + 2], text[i + 2:i + 4]
        if len(tag) < 2 or not tag.isdigit() or len(length) < 2 or not length.isdigit():
            raise VietQrProblem("bad-tlv", f"no tag and length at position {i}")
        end = i + 4 + int(length)
        if end > len(text):
            raise VietQrProblem("bad-tlv", f"the field {tag} at position {i} runs past the end")
        out.append((tag, text[i + 4:end]))
        i = end
    return out


def parse(text: str) -> VietQR:
    """Read a VietQR payload (the CRC checked); raises VietQrProblem saying what is wrong."""
    text = (text or "").strip()
    if not text.isascii():
        raise VietQrProblem("bad-tlv", "a VietQR payload is ASCII only")
    top = fields(text)
    if not top or top[-1][0] != "63" or len(top[-1][1]) != 4:
        raise VietQrProblem("bad-crc", "the payload does not end with its CRC (tag 63, 4 characters)")
    if crc16(text[:-4].encode("ascii")) != top[-1][1].upper():
        raise VietQrProblem("bad-crc", f"the CRC {top[-1][1]} does not match the payload")
    tags = dict(top)
    if len(tags) != len(top):
        raise VietQrProblem("bad-tlv", "a tag appears twice")
    if tags.get("00") != "01":
        raise VietQrProblem("not-vietqr", "the payload format (tag 00) is not 01")
    if tags.get("53") != VND or tags.get("58") != "VN":
        raise VietQrProblem("not-vietqr", "not a Vietnamese đồng payment (tags 53 and 58)")
    merchant = dict(fields(tags.get("38", "")))
    if merchant.get("00") != NAPAS_GUID:
        raise VietQrProblem("not-vietqr", "no NAPAS merchant account (tag 38 with GUID A000000727)")
    beneficiary = dict(fields(merchant.get("01", "")))
    amount = None
    if "54" in tags:
        try:
            amount = Decimal(tags["54"])
        except InvalidOperation:
            raise VietQrProblem("bad-amount", f"the amount {tags['54']!r} is not a number") from None
    if tags.get("01") == DYNAMIC and amount is None:
        raise VietQrProblem("bad-amount", "a dynamic code (01 = 12) must carry its amount (tag 54)")
    extra = dict(fields(tags.get("62", "")))
    qr = VietQR(bank_bin=beneficiary.get("00", ""), account=beneficiary.get("01", ""), amount=amount,
                bill_number=extra.get("01", ""), purpose=extra.get("08", ""), reference=extra.get("05", ""),
                terminal=extra.get("07", ""), service=merchant.get("02", TO_ACCOUNT),
                merchant_name=tags.get("59", ""), merchant_city=tags.get("60", ""))
    if not _BIN.match(qr.bank_bin) or not _ACCOUNT.match(qr.account):
        raise VietQrProblem("bad-bin", "the beneficiary (tag 38.01) lacks a 6-digit BIN or an account")
    return qr
