"""Where the traditional-medicine (YHCT) items of 18/BV1, 19/BV1 and 20/BV1 take their values: the YHCT
part of the visit's record (benhan.clinical.traditional_medicine). Nothing is made up: an item the doctor
did not fill prints as the paper's dotted line; a tick box is ticked only by a recorded code."""
from __future__ import annotations

from collections.abc import Callable

from benhan.clinical import traditional_medicine as yhct
from benhan.documents.forms.data import FormData
from benhan.vn.display import number


def _part(d: FormData) -> yhct.Part:
    return yhct.of(d.ctx.rec.record)


def text(code: str) -> Callable[[FormData], str]:
    """A YHCT section's text, as the doctor wrote it."""
    if code not in yhct.BY_CODE:
        raise KeyError(code)

    def read(d: FormData) -> str:
        return _part(d).texts.get(code, "")
    read.__name__ = f"yhct_{code}"
    return read


def ticked(kind: str) -> Callable[[FormData], list[str]]:
    """The codes ticked of bát cương or nguyên nhân (the vocabulary's option keys are those codes)."""
    def read(d: FormData) -> list[str]:
        return _part(d).ticks.get(kind, [])
    read.__name__ = f"yhct_ticked_{kind}"
    return read


def disease_icd(d: FormData) -> str:
    """The ICD-10 code the YHCT disease name maps to (QĐ 6061/QĐ-BYT: the doctor chooses it)."""
    return _part(d).icd_code


def herb_rows(d: FormData) -> list[list[str]]:
    """The formula's herbs: STT, name, amount with its unit, in the order written."""
    return [[str(i), h.name, f"{number(h.amount)} {h.unit}".strip()] for i, h in enumerate(_part(d).herbs, 1)]
