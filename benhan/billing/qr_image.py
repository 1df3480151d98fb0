"""The VietQR code as a picture: SVG for the cashier's screen (sharp at any size, a few KB), PNG for
the receipt PDF. segno lives here (and in documents/) only; the payload itself is benhan.vn.vietqr.

Error correction M (15 %): a code printed on a thermal receipt or shown on a scratched phone screen
still scans, and a ~150-character payload stays at version 6–7, large modules for old phone cameras.
"""
from __future__ import annotations

import io

import segno


def _code(payload: str):  # noqa: ANN202
    # Byte mode, not micro: every banking app reads the standard symbol.
    return segno.make_qr(payload, error="m", boost_error=False)


def svg(payload: str, scale: int = 4) -> str:
    """An inline <svg> element (no XML declaration), for a page."""
    out = io.BytesIO()
    _code(payload).save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True,
                        title="VietQR", svgclass="vietqr", lineclass=None)
    return out.getvalue().decode("utf-8")


def png(payload: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    _code(payload).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
