"""Finding printed text by position on the inpatient sheets: where a phrase is (page, x, top), which
column of a table an x falls in, the words of a table row; each page's header and footer."""
from __future__ import annotations

import io
import re

import pdfplumber

from benhan.documents.layout.model import Column

MM = 72 / 25.4
LEFT, WIDTH = 14 * MM, 182 * MM          # the A4 margins of the layout engine (render._Pdf)


_OPEN: dict[bytes, pdfplumber.PDF] = {}


def _doc(pdf: bytes) -> pdfplumber.PDF:
    """The last PDF searched stays open: its pages keep their text maps between searches."""
    if pdf not in _OPEN:
        for old in _OPEN.values():
            old.close()
        _OPEN.clear()
        _OPEN[pdf] = pdfplumber.open(io.BytesIO(pdf))
    return _OPEN[pdf]


def find(pdf: bytes, phrase: str) -> list[tuple[int, float, float]]:
    """(page, x0, top) of each place `phrase` is printed (on one line)."""
    out = []
    for i, page in enumerate(_doc(pdf).pages, 1):
        out += [(i, m["x0"], m["top"]) for m in page.search(re.escape(phrase), regex=True)]
    return out


def one(pdf: bytes, phrase: str) -> tuple[int, float, float]:
    found = find(pdf, phrase)
    assert len(found) == 1, (phrase, found)
    return found[0]


def column_of(columns: tuple[Column, ...], x: float) -> int:
    edge = LEFT
    for i, c in enumerate(columns):
        if edge - 1 <= x < edge + WIDTH * c.width:
            return i
        edge += WIDTH * c.width
    return -1


def row_words(pdf: bytes, page: int, top: float) -> list[dict]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [w for w in doc.pages[page - 1].extract_words() if abs(w["top"] - top) < 2.5]


def page_texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [p.extract_text() or "" for p in doc.pages]


def sizes(pdf: bytes) -> list[tuple[float, float]]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [(round(p.width, 1), round(p.height, 1)) for p in doc.pages]
