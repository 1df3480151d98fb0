"""Where the specialty inpatient records (specialty_inpatient.py) read what they add to 01/BV1: the
stay's specialty part (clinical.specialty_record, FormData.specialty) and, for 10/BV1, the stay's
surgeries and procedures as the surgery/procedure sheet reads them (procedure_sources). As everywhere,
what was not recorded is empty and prints as the paper's dotted line."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from benhan.clinical import specialty_record
from benhan.documents.forms import procedure_sources
from benhan.documents.forms.data import FormData


def item(code: str) -> Callable[[FormData], str]:
    """What the doctor wrote for a specialty item."""
    def read(d: FormData) -> str:
        return specialty_record.texts(d.specialty).get(code, "")
    read.__name__ = f"specialty_{code}"
    return read


def ticked(code: str) -> Callable[[FormData], list[str]]:
    """The option codes ticked for a specialty item (the vocabulary list of the same name has their words)."""
    def read(d: FormData) -> list[str]:
        return specialty_record.choices(d.specialty).get(code, [])
    read.__name__ = f"specialty_ticked_{code}"
    return read


def surgery_rows(d: FormData) -> list[list[str]]:
    """10/BV1 B: each surgery and procedure of the stay — when, what and how anaesthetised, the surgeon
    or performer, the anaesthetist — read as its own 06/BV2 sheet reads it."""
    rows = []
    for p in d.ctx.procedures:
        one = dataclasses.replace(d, part=p.get("id", ""))
        how = procedure_sources.procedure_anaesthesia(one)
        rows.append([procedure_sources.procedure_when(one),
                     procedure_sources.procedure_name(one) + (f" / {how}" if how else ""),
                     procedure_sources.surgeon(one), procedure_sources.anaesthetist(one)])
    return rows
