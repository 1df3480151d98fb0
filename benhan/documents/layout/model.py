"""What a printed form is made of, as data.

A form (`Form`) is a page size, a code ("MS: 15/BV1"), a title and a list of elements drawn top to
bottom; the national heading, the facility block, the patient line, the page numbers and the
electronic-to-paper mark are the renderer's, the same on every form. Each element that prints a value
names its *source*: a function of the record's data (benhan.documents.forms.sources), never a literal —
an empty value prints as the paper's dotted line (TT 32 Đ52 k1 b: a field is never dropped).

Words that are the paper's own (labels, numbers of items) are written here; words that depend on the
facility or on what happened (option lists, signers' titles) come from the vocabulary file or the
settings (benhan.documents.forms.vocabulary), so a form definition holds no clinical or administrative value.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Source = Callable[[Any], Any]          # FormData → str | list | date …


def _none(_: Any) -> str:
    return ""


@dataclass(frozen=True)
class Field:
    """"Label: value" — the value after the label, on dotted lines when empty."""
    label: str
    source: Source
    key: str = ""              # how tests and warnings name it; the label by default
    number: str = ""           # the paper's item number ("1.", "IV.")
    width: float = 1.0         # share of its Line
    lines: int = 1             # dotted lines kept when empty (a free-text area has several)
    caps: bool = False         # a name printed in capitals: not an abbreviation
    code: bool = False         # a code or a number: not checked for abbreviations

    @property
    def name(self) -> str:
        return self.key or self.label


@dataclass(frozen=True)
class Digits:
    """A value in the paper's small squares, one character each (codes, card numbers, dates);
    `groups` splits the squares (2, 2, 4 for dd mm yyyy)."""
    label: str
    source: Source
    count: int
    key: str = ""
    number: str = ""
    width: float = 1.0
    groups: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return self.key or self.label


@dataclass(frozen=True)
class Ticks:
    """Numbered options, each with a tick box; the source gives the code(s) ticked, the option
    words come from the vocabulary set `options`."""
    label: str
    options: str
    source: Source
    key: str = ""
    number: str = ""
    width: float = 1.0

    @property
    def name(self) -> str:
        return self.key or self.label


@dataclass(frozen=True)
class Line:
    """Several fields on one line, each taking its `width` share."""
    items: tuple[Field | Digits | Ticks, ...]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Note:
    """The paper's own small print (a footnote, an instruction printed on every copy)."""
    text: str


@dataclass(frozen=True)
class Column:
    title: str
    width: float               # share of the table's width


@dataclass(frozen=True)
class Table:
    key: str
    columns: tuple[Column, ...]
    source: Source             # → list of rows (lists of str)
    min_rows: int = 2          # empty ruled rows kept, as on paper
    title: str = ""


@dataclass(frozen=True)
class Box:
    """A ruled box of fields (the vital-signs box of the record forms), `per_row` to a row."""
    items: tuple[Field, ...]
    per_row: int = 3


@dataclass(frozen=True)
class DateLine:
    """"Ngày … tháng … năm …" (with the place before it when known), right-aligned."""
    source: Source = _none     # → date | datetime | None
    place: Source = _none
    key: str = "date-line"


@dataclass(frozen=True)
class Signature:
    """One signature block: its title, "(Ký, ghi rõ họ tên)", room to sign, the signer's full name;
    `role` ties it to a digital signature ("author", "seal") whose mark is then printed in it."""
    title: Source
    name: Source
    key: str
    role: str = ""


@dataclass(frozen=True)
class Signatures:
    items: tuple[Signature, ...]


@dataclass(frozen=True)
class PageBreak:
    """Another sheet of the form starts (the record summary of 15/BV1 is its second page)."""


Element = Field | Digits | Ticks | Line | Heading | Note | Table | Box | DateLine | Signatures | PageBreak


@dataclass(frozen=True)
class Form:
    key: str                   # the printout's name in URLs (?form=outpatient)
    code: str                  # "15/BV1"; printed "MS: 15/BV1"
    title: str
    body: tuple[Element, ...]
    closing: tuple[Element, ...] = ()    # date line and signatures, kept on the page of the last body element
    page: str = "A4"
    code_prefix: str = "MS: "
    national_heading: bool = True
    subtitle: str = ""
    identifiers: tuple[Field, ...] = ()  # under the code, top right (Số ngoại trú, Số lưu trữ …)
    record_number: Source = _none        # printed with the patient's name on every page
    given_to_patient: bool = False       # TT 32 Đ52 k2 c: no abbreviations at all
    needs: tuple[str, ...] = ()          # resource types it prints (a reader who may not see one gets no printout)
    document_type: tuple[str, str] = ("", "")   # LOINC (code, display), for the signed document

    def fields(self) -> list[Field | Digits | Ticks]:
        """Every value-bearing item, in order (for tests and the abbreviation check)."""
        out: list[Field | Digits | Ticks] = []
        for el in (*self.body, *self.closing):
            if isinstance(el, Line):
                out.extend(el.items)
            elif isinstance(el, Box):
                out.extend(el.items)
            elif isinstance(el, Field | Digits | Ticks):
                out.append(el)
        return out
