"""VietQR payloads: the worked examples of vietnam-billing.md §7 byte for byte, read back by a TLV
parser and a CRC written here (not benhan's), and the printed code scanned back by a QR decoder."""
from __future__ import annotations

import binascii
import io
import re
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image

from benhan.billing import qr_image
from benhan.vn import vietqr
from benhan.vn.vietqr import VietQR, VietQrProblem

EXAMPLE_1 = ("00020101021238570010A00000072701270006970436011300110041234560208QRIBFTTA530370454063500005802VN"
             "62330110HD000012340815VP KB26120600016304CB02")
EXAMPLE_2 = ("00020101021138580010A000000727012800069704180114120100001234560208QRIBFTTA53037045802VN"
             "62300706QUAY010816TAM UNG VIEN PHI63049207")
PUBLISHED = ("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
             "62170813ung ho lu lut6304C15C")


# --- an independent reader: table-driven CRC and a recursive TLV split -----------------------------

def _table() -> list[int]:
    table = []
    for n in range(256):
        value = n << 8
        for _ in range(8):
            value = ((value << 1) ^ 0x1021) & 0xFFFF if value & 0x8000 else (value << 1) & 0xFFFF
        table.append(value)
    return table


TABLE = _table()


def crc_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def tlv(text: str) -> dict[str, str]:
    out, rest = {}, text
    while rest:
        tag, size = rest[:2], int(rest[2:4])
        assert tag not in out
        out[tag], rest = rest[4:4 + size], rest[4 + size:]
        assert len(out[tag]) == size
    return out


def decode(text: str) -> dict:
    """EMVCo tags, with the templates 38 (and its 01) and 62 opened; the CRC checked twice."""
    assert text[-8:-4] == "6304"
    expected = f"{crc_ccitt_false(text[:-4].encode()):04X}"
    assert expected == f"{binascii.crc_hqx(text[:-4].encode(), 0xFFFF):04X}" == text[-4:]
    top = tlv(text)
    assert list(top)[-1] == "63"
    if "38" in top:
        top["38"] = tlv(top["38"])
        top["38"]["01"] = tlv(top["38"]["01"])
    if "62" in top:
        top["62"] = tlv(top["62"])
    return top


def test_the_checks_of_the_crc_match_the_published_vectors():
    assert f"{crc_ccitt_false(b'123456789'):04X}" == "29B1" == vietqr.crc16(b"123456789")
    assert decode(PUBLISHED)["63"] == "C15C"


def test_a_bill_payment_code_is_the_worked_example_byte_for_byte():
    qr = VietQR(bank_bin="970436", account="0011004123456", amount=Decimal("350000"),
                bill_number="HD00001234", purpose="VP KB2612060001")
    text = vietqr.payload(qr)
    assert text == EXAMPLE_1 and len(text) == 141
    d = decode(text)
    assert d["00"] == "01" and d["01"] == "12" and d["53"] == "704" and d["54"] == "350000" and d["58"] == "VN"
    assert d["38"]["00"] == "A000000727" and d["38"]["02"] == "QRIBFTTA"
    assert d["38"]["01"] == {"00": "970436", "01": "0011004123456"}
    assert d["62"] == {"01": "HD00001234", "08": "VP KB2612060001"}
    assert d["63"] == "CB02"


def test_a_static_deposit_desk_code_has_no_amount():
    text = vietqr.payload(VietQR(bank_bin="970418", account="12010000123456", terminal="QUAY01",
                                 purpose="TAM UNG VIEN PHI"))
    assert text == EXAMPLE_2 and len(text) == 129
    d = decode(text)
    assert d["01"] == "11" and "54" not in d and d["62"] == {"07": "QUAY01", "08": "TAM UNG VIEN PHI"}


@pytest.mark.parametrize("text", [EXAMPLE_1, EXAMPLE_2, PUBLISHED])
def test_the_parser_reads_back_what_the_independent_reader_reads(text):
    qr, d = vietqr.parse(text), decode(text)
    assert (qr.bank_bin, qr.account) == (d["38"]["01"]["00"], d["38"]["01"]["01"])
    assert qr.amount == (Decimal(d["54"]) if "54" in d else None)
    assert qr.bill_number == d["62"].get("01", "") and qr.purpose == d["62"].get("08", "")
    assert vietqr.payload(qr) == text


@pytest.mark.parametrize("bad, key", [
    (EXAMPLE_1[:-4] + "CB03", "bad-crc"),                                   # one digit of the CRC
    (EXAMPLE_1.replace("350000", "950000"), "bad-crc"),                     # the amount changed in transit
    (EXAMPLE_1[:-10], "bad-tlv"),                                           # cut short
    ("", "bad-crc"),
    ("hello", "bad-tlv"),
])
def test_a_damaged_payload_is_refused_with_a_reason(bad, key):
    with pytest.raises(VietQrProblem) as e:
        vietqr.parse(bad)
    assert e.value.key == key


@pytest.mark.parametrize("change, key", [
    ({"bank_bin": "97043"}, "bad-bin"), ({"account": "0011-004"}, "bad-account"),
    ({"amount": Decimal("0")}, "bad-amount"), ({"amount": Decimal("-5000")}, "bad-amount"),
    ({"amount": Decimal("1000.50")}, "bad-amount"), ({"amount": Decimal("1e14")}, "bad-amount"),
    ({"purpose": "Viện phí"}, "not-plain"), ({"bill_number": "X" * 26}, "too-long"),
])
def test_a_field_that_does_not_fit_is_refused_before_any_code_is_drawn(change, key):
    fields = {"bank_bin": "970436", "account": "0011004123456", "amount": Decimal("350000"), **change}
    with pytest.raises(VietQrProblem) as e:
        vietqr.payload(VietQR(**fields))
    assert e.value.key == key


def test_vietnamese_words_lose_their_diacritics_for_the_purpose():
    assert vietqr.plain("Tạm ứng viện phí Đợt 2") == "Tam ung vien phi Dot 2"


@pytest.mark.parametrize("text", [EXAMPLE_1, EXAMPLE_2])
def test_the_printed_code_scans_back_to_the_payload(text):
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_image.png(text))))
    assert [(f.format, f.text) for f in found] == [(zxingcpp.BarcodeFormat.QRCode, text)]


def _raster(svg: str) -> Image.Image:
    """Draw the SVG's one path (segno writes each dark run as a 1-unit-high horizontal stroke:
    M/m move, h draw) into a picture, 8 pixels a module."""
    size = int(re.search(r'width="(\d+)"', svg).group(1)) // 4
    image = Image.new("L", (size * 8, size * 8), 255)
    x = y = 0.0
    for op, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?", re.search(r' d="([^"]+)"', svg).group(1)):
        if op in "Mm":
            x, y = (float(a), float(b)) if op == "M" else (x + float(a), y + float(b))
        else:
            end = x + float(a)
            for col in range(int(x), int(end)):
                image.paste(0, (col * 8, int(y) * 8, col * 8 + 8, int(y) * 8 + 8))
            x = end
    return image


def test_the_screen_code_is_an_inline_svg_that_scans_back_to_the_payload():
    svg = qr_image.svg(EXAMPLE_1)
    assert svg.startswith("<svg") and 'class="vietqr"' in svg and "<?xml" not in svg
    assert [f.text for f in zxingcpp.read_barcodes(_raster(svg))] == [EXAMPLE_1]
