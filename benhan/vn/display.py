"""Numbers and units as Vietnamese (and English) readers write them, shared by the clinician pages'
filters (web/ui/filters.py) and the paper forms (clinical/printouts): a decimal comma in
Vietnamese (38,5 °C; English keeps 38.5), no trailing zeros, no exponent; UCUM unit codes in their
written form (10*9/L → 10⁹/L, Cel → °C, mm[Hg] → mmHg)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
# UCUM codes whose common written form differs from the code (the clinician's way, not the machine's).
_UNITS = {"Cel": "°C", "[degF]": "°F", "mm[Hg]": "mmHg", "/min": "/phút", "{beats}/min": "lần/phút",
          "{breaths}/min": "lần/phút", "kg/m2": "kg/m²", "m2": "m²", "ug": "µg", "umol/L": "µmol/L"}


def number(value: object, lang: str = "vi") -> str:
    """A measured value as written: 38.50 → '38,5' (vi) / '38.5' (en); 1E+2 → '100'; nothing → ''."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    try:
        parsed = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not parsed.is_finite():
        return str(value)
    text = f"{parsed.normalize():f}"
    return text.replace(".", ",") if lang == "vi" else text


def numbers_in(text: object, lang: str = "vi") -> str:
    """The decimal points of the numbers inside a text ("3.5 – 5.5") as the language writes them."""
    text = str(text or "")
    return re.sub(r"(\d)\.(\d)", r"\1,\2", text) if lang == "vi" else text


def unit(code: object) -> str:
    """A UCUM unit as people write it: 10*9/L → 10⁹/L, Cel → °C; other units unchanged."""
    text = str(code or "")
    if text in _UNITS:
        return _UNITS[text]
    return re.sub(r"10\*([-+]?\d+)", lambda m: "10" + m.group(1).translate(_SUPERSCRIPT), text)
