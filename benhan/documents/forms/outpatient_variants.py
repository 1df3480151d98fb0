"""The specialty outpatient records of TT 32/2023 PL XXVIII (forms-tt32.md §1.2): 16/BV1 Bệnh án ngoại
trú Răng - Hàm - Mặt and 19/BV1 Bệnh án ngoại trú Y học cổ truyền, as data variants of 15/BV1: the
general record (outpatient.FORM) with the specialty's own items after item IV.2, its own code and
title. Every other item, block and signature is 15/BV1's, imported, so a fix there is a fix here.

The specialty items read sections of the visit's record (a Composition section coded in the record-
section code system, sources.text; 19/BV1's the YHCT part, traditional_sources); the codes of those the
record page does not offer yet are listed in SPECIALTY_SECTIONS. Which variant a visit prints:
variant_for (the visit's specialty code)."""
from __future__ import annotations

from dataclasses import replace

from benhan.documents.forms import outpatient, sources as s, traditional_medicine
from benhan.documents.layout.model import Element, Field, Heading

# The record sections the specialty items read that benhan.clinical.record.SECTIONS does not hold
# (written by a client as Composition sections with these codes; the record page has no box yet).
SPECIALTY_SECTIONS = {
    "rang-ham-mat-ton-thuong": "Mô tả tổn thương (hình vẽ)",
}
# The YHCT sections are the doctor's (the YHCT part of the visit page): clinical.traditional_medicine.SECTIONS.

DENTAL_ITEMS: tuple[Element, ...] = (
    Heading("KHÁM CHUYÊN KHOA RĂNG - HÀM - MẶT"),
    Field("Răng - Hàm - Mặt", s.text("rang-ham-mat"), key="dental-exam", number="a)", lines=3),
    Field("Mô tả tổn thương (hình vẽ)", s.text("rang-ham-mat-ton-thuong"), key="dental-lesion", number="b)",
          lines=4),
)

# 19/BV1's YHCT part (tứ chẩn, chẩn đoán, điều trị, dự hậu) is the one 18/BV1 prints (traditional_medicine).
TRADITIONAL_ITEMS: tuple[Element, ...] = traditional_medicine.OUTPATIENT_ITEMS


def _after(key: str, items: tuple[Element, ...]) -> tuple[Element, ...]:
    """15/BV1's body with `items` after the element named `key` (its item IV.2 "Các bộ phận")."""
    body = outpatient.FORM.body
    at = next(i for i, el in enumerate(body) if isinstance(el, Field) and el.name == key) + 1
    return (*body[:at], *items, *body[at:])


DENTAL = replace(outpatient.FORM, key="outpatient-dental", code="16/BV1",
                 title="BỆNH ÁN NGOẠI TRÚ CHUYÊN KHOA RĂNG HÀM MẶT", body=_after("organs", DENTAL_ITEMS))
TRADITIONAL = replace(outpatient.FORM, key="outpatient-traditional", code="19/BV1",
                      title="BỆNH ÁN NGOẠI TRÚ Y HỌC CỔ TRUYỀN", body=_after("organs", TRADITIONAL_ITEMS))

# The specialty (benhan's code on the visit, SPECIALTY_SYSTEM) → the variant's form key.
SPECIALTY_SYSTEM = "https://benhan.vn/fhir/CodeSystem/chuyen-khoa"
VARIANTS = {"rang-ham-mat": DENTAL.key, "y-hoc-co-truyen": TRADITIONAL.key}


def specialty_of(encounter: dict, location: dict | None = None) -> str:
    """The visit's specialty: Encounter.serviceType coded in SPECIALTY_SYSTEM, else the type of the
    department (Location.type) it is in, with the same code system; "" when neither says."""
    concepts = [encounter.get("serviceType") or {}, *((location or {}).get("type") or [])]
    for cc in concepts:
        for c in cc.get("coding", []):
            if c.get("system") == SPECIALTY_SYSTEM and c.get("code") in VARIANTS:
                return c["code"]
    return ""


def variant_for(encounter: dict, location: dict | None = None) -> str:
    """The outpatient record a visit prints: its specialty's variant, else 15/BV1."""
    return VARIANTS.get(specialty_of(encounter, location), outpatient.FORM.key)
