"""Text normalisation for string search.

FHIR string search is case- and accent-insensitive (http://hl7.org/fhir/R4/search.html#string).
Vietnamese needs more than stripping combining marks: 'đ'/'Đ' is a letter of its own (not d plus a
mark) and must fold to 'd', so that "duc" finds "Đức" and "nguyen" finds "Nguyễn".
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

# Letters that do not decompose into a base letter plus combining marks.
_SPECIAL = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ø": "o", "Ø": "o",
                          "ł": "l", "Ł": "l", "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe"})


# Cached: the same texts (a code's display, a drug name, a family name) are folded again and again,
# once per search parameter that covers them and once per resource that carries them — folding was
# the largest single cost of index extraction in a bulk load.
@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Lower-case, accent-free, whitespace-collapsed form of text used for matching."""
    if text.isascii():
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


@lru_cache(maxsize=16384)
def exact(text: str) -> str:
    """The form :exact compares: NFC. A name typed on one keyboard arrives composed ("ễ") and from
    another decomposed ("e" + U+0302 + U+0303); Unicode calls them the same text (canonically
    equivalent), so :exact must too — while still telling case and accents apart."""
    return unicodedata.normalize("NFC", text)
