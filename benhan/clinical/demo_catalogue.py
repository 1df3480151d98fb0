"""The demo facility's drug catalogue: the drugs the synthetic records prescribe, imported through
the ordinary catalogue import (docs/catalogues.md) so that the prescription form has a catalogue
to choose from. The codes are ATC codes with a "DEMO-" prefix and the prices are made up: a real
facility imports its own registered list (MA_THUOC, SO_DANG_KY, prices) instead."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from benhan.clinical.catalogue.importer import import_rows
from benhan.clinical.catalogue.layouts import DRUG, Row
from benhan.clinical.synth.catalog import DRUGS
from benhan.store.store import Store

START = date(2026, 1, 1)


def rows() -> list[Row]:
    out = []
    for i, drug in enumerate(DRUGS.values(), start=2):
        m = re.match(r"^(.*?)\s+(\d[\d,.%]*\s*(?:mg|g|ml|%)?(?:\s+\d+ml)?)$", drug.name)
        name, strength = (m.group(1), m.group(2)) if m else (drug.name, "")
        price = Decimal(500 + (sum(map(ord, drug.atc)) * 37) % 9500).quantize(Decimal(100))
        extra = {"DUONG_DUNG": drug.route}
        if strength:
            extra["HAM_LUONG"] = strength
        out.append(Row(line=i, kind=DRUG, code=f"DEMO-{drug.atc}", name=name, unit=drug.unit, price=price, start=START,
                       extra=extra))
    return out


def load_demo_catalogue(store: Store) -> int:
    """Import the demo drugs; how many rows were created or changed (0 the second time)."""
    return sum(1 for r in import_rows(store, rows()) if r.outcome in ("created", "updated"))
