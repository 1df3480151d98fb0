"""Specimen collection: the Specimen carries the order's placer number as accession (what the
analyser sends back in OBR-2), links both ways with its order, is refused a second time, and its
label is a small PDF whose Code 128 bars decode back to the accession. Both databases."""
from __future__ import annotations

import io

import barcode.charsets.code128 as cs
import pikepdf
import pytest

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.lab import specimens
from benhan.store.repository import Repository
from tests.audit.helpers import sql
from tests.forms import seed

TECH = Actor(name="ktv.huyen", display="Mạc Thị Huyền Trang", roles=("lab_technician",))

def _decode(modules: str) -> str:
    """Read Code 128 modules back (ISO/IEC 15417): start code, code-set switches, the mod-103 check
    character and the stop pattern; the 11-module patterns are the library's table, the reading ours."""
    patterns = {p: v for v, p in enumerate(cs.CODES)}
    assert modules.endswith(cs.STOP + "11")          # stop pattern and its final bar
    values = [patterns[modules[i:i + 11]] for i in range(0, len(modules) - 13, 11)]
    *data, check = values
    assert check == (data[0] + sum(i * v for i, v in enumerate(data[1:], 1))) % 103
    sets = {103: "A", 104: "B", 105: "C"}
    current, out = sets[data[0]], ""
    for v in data[1:]:
        if current == "C" and v < 100:
            out += f"{v:02d}"
        elif v in (99, 100, 101) and not (current == "A" and v == 101) and not (current == "B" and v == 100):
            current = {99: "C", 100: "B", 101: "A"}[v]
        else:
            out += chr(v + 32) if current == "B" or v < 64 else chr(v - 64)
    return out


def test_collect_once_with_accession_and_label(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order_id = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})
    tech = Repository(store, TECH)
    specimen_id = specimens.collect(tech, TECH, order_id)

    specimen = repo.read("Specimen", specimen_id).json()
    assert specimen["accessionIdentifier"]["value"] == order_id
    assert specimen["request"] == [{"reference": f"ServiceRequest/{order_id}"}]
    assert specimen["type"]["coding"][0]["code"] == "119297000"
    assert specimen["collection"]["collector"]["display"] == TECH.display
    assert specimen["subject"] == repo.read("ServiceRequest", order_id).json()["subject"]
    assert specimens.specimen_of(repo.read("ServiceRequest", order_id).json()) == specimen_id

    with pytest.raises(specimens.CollectionRefused) as refused:
        specimens.collect(tech, TECH, order_id)
    assert refused.value.key == "ui.lab.err.already_collected"
    assert len(repo.search_type("Specimen", [("_count", "50")]).matches) == 1

    label = specimens.label_of(tech, specimen_id)
    assert label.accession == order_id and label.patient and label.birth_year.isdigit()
    pdf = specimens.label_pdf(label)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        (page,) = doc.pages
        box = [float(x) for x in page.mediabox]
        assert round(box[2] / 72 * 25.4) == 50 and round(box[3] / 72 * 25.4) == 25
    assert _decode(specimens.bars(order_id)) == order_id

    audited = {(r[0], r[1]) for r in sql(store, "SELECT interaction, res_type FROM audit_event WHERE agent = 'ktv.huyen'")}
    assert {("create", "Specimen"), ("update", "ServiceRequest")} <= audited, audited


@pytest.mark.parametrize("accession", ["99bb0ff5-5c4f-4947-860f-d6d62fae7674", "12345678-9999-4000-8000-000000000000",
                                       "ab-cd", "0"])
def test_the_label_bars_read_back_as_the_accession_whatever_its_digits(accession):  # noqa: ANN001
    """python-barcode 0.16 lost a leading "99": a label that scans as another number finds no order."""
    assert _decode(specimens.bars(accession)) == accession
