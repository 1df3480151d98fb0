"""16/BV1 (Răng - Hàm - Mặt) and 19/BV1 (Y học cổ truyền), the specialty outpatient records as data
variants of 15/BV1 (19/BV1's golden test is in test_traditional_medicine.py): golden tests by position —
the specialty items each hold their own seeded value, 15/BV1's items stay where they were, the code and title are the variant's; a visit prints the variant
of its specialty; the variants' module holds no literal clinical value. On SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import record
from benhan.clinical.common import narrative
from benhan.documents.forms import FORMS, outpatient, outpatient_variants as ov
from benhan.store.repository import Repository
from tests.forms import seed
from tests.forms.conftest import keep, pages, render
from tests.forms.test_golden import check_every_page, check_values, no_page_of_signatures_only
from tests.forms.test_rules import FORBIDDEN, ICD, _strings

V = seed.V
A4 = (595.28, 841.89)
SPECIALTY = {
    "rang-ham-mat": "Sâu ngà răng 36, lợi viền đỏ", "rang-ham-mat-ton-thuong": "Lỗ sâu mặt nhai răng 36 sâu 3 mm",
}


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    found = repo.search_type("Composition", [("encounter", f"Encounter/{ids['encounter']}")]).matches
    comp = next(m.json() for m in found
                if m.json()["type"]["coding"][0]["code"] == record.RECORD_TYPE["coding"][0]["code"])
    comp["section"] += [{"title": c, "code": {"coding": [{"system": record.SECTION_SYSTEM, "code": c}]},
                         "text": narrative(t)} for c, t in SPECIALTY.items()]
    repo.update("Composition", comp["id"], comp)
    return store, ids


SHARED = {"name": V["name"].upper(), "reason": V["reason"], "organs": V["organ"], "general": V["general"],
          "initial-diagnosis": V["dx-ad"][1], "course": V["course"], "doctor": V["doctor"], "record-number": V["ma-lk"]}


def test_16bv1_dental_outpatient_record(world):  # noqa: ANN001
    p = render(world, "outpatient-dental")
    keep("16-BV1-outpatient-dental", p.pdf)
    check_every_page(p.pdf, A4, "MS: 16/BV1")
    assert "BỆNH ÁN NGOẠI TRÚ CHUYÊN KHOA RĂNG HÀM MẶT" in pages(p.pdf)[0][2]
    check_values(p, {**SHARED, "dental-exam": SPECIALTY["rang-ham-mat"],
                     "dental-lesion": SPECIALTY["rang-ham-mat-ton-thuong"]},
                 digits={"bhyt": V["bhyt"], "discharge-icd": V["dx-dd"][0]}, ticks={"gender": "female"})
    # The specialty items sit after 15/BV1's item IV.2 and before IV.3, as on the paper.
    r = p.rendered.regions
    assert (r["organs"].page, r["organs"].top) < (r["dental-exam"].page, r["dental-exam"].top) < \
        (r["results"].page, r["results"].top)
    no_page_of_signatures_only(p)


# 19/BV1 with its YHCT part, written as the visit page writes it: tests/forms/test_traditional_medicine.py.


def test_the_variants_are_15bv1_with_items_added():
    base = [el for el in outpatient.FORM.body]
    for form, items in ((ov.DENTAL, ov.DENTAL_ITEMS), (ov.TRADITIONAL, ov.TRADITIONAL_ITEMS)):
        assert FORMS[form.key] is form and form.identifiers == outpatient.FORM.identifiers
        assert [el for el in form.body if el not in items] == base


def test_a_visit_prints_the_variant_of_its_specialty():
    coded = {"serviceType": {"coding": [{"system": ov.SPECIALTY_SYSTEM, "code": "y-hoc-co-truyen"}]}}
    assert ov.variant_for(coded) == "outpatient-traditional"
    department = {"type": [{"coding": [{"system": ov.SPECIALTY_SYSTEM, "code": "rang-ham-mat"}]}]}
    assert ov.variant_for({}, department) == "outpatient-dental"
    assert ov.variant_for(coded, department) == "outpatient-traditional"      # the visit's own code first
    assert ov.variant_for({"serviceType": {"coding": [{"system": "http://other", "code": "rang-ham-mat"}]}}) \
        == "outpatient"
    assert ov.variant_for({}) == "outpatient"


def test_the_variants_hold_no_literal_clinical_value():
    path = Path(ov.__file__)
    found = [(line, text) for line, text in _strings(path)
             if any(text.strip() == w for w in FORBIDDEN) or ICD.findall(text)]
    assert found == []
