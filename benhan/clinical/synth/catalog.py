"""What the synthetic record is made of: diagnoses with how common they are, the drugs a doctor
prescribes for them, and the lab panels ordered with them. Curated by us as a plausible primary-care
and district-hospital mix, not from statistics. Every ICD-10 code is checked against the loaded
TT 06/2026 list when the module is first used (icd10_names), so a code that does not exist fails
the tests rather than reaching the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from benhan.terminology import sources

ICD10 = "http://fhir.hl7.org.vn/core/CodeSystem/vn-icd10-cs"   # the system benhan's ICD-10 is loaded under
ATC = "http://www.whocc.no/atc"


@dataclass(frozen=True)
class Drug:
    name: str           # as printed on a Vietnamese prescription
    atc: str
    unit: str           # dispensing unit: viên, gói, lọ, chai, ống
    per_day: int        # units a day
    text: str           # the instruction written for the patient
    route: str = "Uống"


DRUGS = {d.name: d for d in (
    Drug("Paracetamol 500mg", "N02BE01", "viên", 3, "Uống 1 viên khi sốt trên 38,5°C hoặc đau, cách nhau ít nhất 4 giờ"),
    Drug("Amoxicilin 500mg", "J01CA04", "viên", 3, "Uống 1 viên x 3 lần/ngày, sau ăn"),
    Drug("Cefuroxim 500mg", "J01DC02", "viên", 2, "Uống 1 viên x 2 lần/ngày, sáng - tối, sau ăn"),
    Drug("Azithromycin 500mg", "J01FA10", "viên", 1, "Uống 1 viên/ngày trước ăn 1 giờ"),
    Drug("Ciprofloxacin 500mg", "J01MA02", "viên", 2, "Uống 1 viên x 2 lần/ngày"),
    Drug("Ambroxol 30mg", "R05CB06", "viên", 3, "Uống 1 viên x 3 lần/ngày, sau ăn"),
    Drug("Loratadin 10mg", "R06AX13", "viên", 1, "Uống 1 viên buổi tối"),
    Drug("Salbutamol 2mg", "R03CC02", "viên", 3, "Uống 1 viên x 3 lần/ngày"),
    Drug("Omeprazol 20mg", "A02BC01", "viên", 1, "Uống 1 viên trước ăn sáng 30 phút"),
    Drug("Domperidon 10mg", "A03FA03", "viên", 3, "Uống 1 viên trước mỗi bữa ăn 15-30 phút"),
    Drug("Oresol 245", "A07CA", "gói", 3, "Pha 1 gói với 200 ml nước đun sôi để nguội, uống dần sau mỗi lần đi ngoài"),
    Drug("Meloxicam 7,5mg", "M01AC06", "viên", 1, "Uống 1 viên/ngày sau ăn no"),
    Drug("Diclofenac 50mg", "M01AB05", "viên", 2, "Uống 1 viên x 2 lần/ngày sau ăn no"),
    Drug("Methylprednisolon 16mg", "H02AB04", "viên", 1, "Uống 1 viên buổi sáng sau ăn"),
    Drug("Amlodipin 5mg", "C08CA01", "viên", 1, "Uống 1 viên buổi sáng"),
    Drug("Losartan 50mg", "C09CA01", "viên", 1, "Uống 1 viên buổi sáng"),
    Drug("Enalapril 5mg", "C09AA02", "viên", 2, "Uống 1 viên x 2 lần/ngày"),
    Drug("Bisoprolol 2,5mg", "C07AB07", "viên", 1, "Uống 1 viên buổi sáng"),
    Drug("Metformin 850mg", "A10BA02", "viên", 2, "Uống 1 viên x 2 lần/ngày, sau ăn sáng và tối"),
    Drug("Gliclazid 30mg", "A10BB09", "viên", 1, "Uống 1 viên trước ăn sáng"),
    Drug("Atorvastatin 20mg", "C10AA05", "viên", 1, "Uống 1 viên buổi tối"),
    Drug("Aspirin 81mg", "B01AC06", "viên", 1, "Uống 1 viên/ngày sau ăn trưa"),
    Drug("Furosemid 40mg", "C03CA01", "viên", 1, "Uống 1 viên buổi sáng"),
    Drug("Allopurinol 300mg", "M04AA01", "viên", 1, "Uống 1 viên/ngày sau ăn"),
    Drug("Colchicin 1mg", "M04AC01", "viên", 1, "Uống 1 viên/ngày sau ăn"),
    Drug("Ceftriaxon 1g", "J01DD04", "lọ", 2, "Tiêm tĩnh mạch chậm 1 lọ x 2 lần/ngày", "Tiêm tĩnh mạch"),
    Drug("Natri clorid 0,9% 500ml", "B05XA03", "chai", 2, "Truyền tĩnh mạch 1 chai x 2 lần/ngày, 40 giọt/phút",
         "Truyền tĩnh mạch"),
)}


@dataclass(frozen=True)
class Diagnosis:
    code: str
    weight: float                   # relative frequency among visits of its kind
    drugs: tuple[str, ...]
    labs: tuple[str, ...] = ()      # panels of benhan.terminology.labs.PANELS
    lab_chance: float = 0.3         # how often the labs are ordered
    ages: tuple[int, int] = (0, 120)
    female_only: bool = False


# Acute outpatient problems (commune station, district outpatient clinic).
ACUTE = (
    Diagnosis("J06.9", 16, ("Paracetamol 500mg", "Loratadin 10mg")),
    Diagnosis("J02.9", 7, ("Amoxicilin 500mg", "Paracetamol 500mg"), ("cbc",), 0.2),
    Diagnosis("J03.9", 4, ("Amoxicilin 500mg", "Paracetamol 500mg"), ("cbc",), 0.2),
    Diagnosis("J20.9", 7, ("Ambroxol 30mg", "Cefuroxim 500mg", "Paracetamol 500mg"), ("cbc", "crp"), 0.3),
    Diagnosis("J01.9", 2, ("Amoxicilin 500mg", "Loratadin 10mg")),
    Diagnosis("J30.4", 2, ("Loratadin 10mg",)),
    Diagnosis("K29.7", 7, ("Omeprazol 20mg", "Domperidon 10mg")),
    Diagnosis("K21.9", 3, ("Omeprazol 20mg",)),
    Diagnosis("A09.0", 5, ("Oresol 245", "Ciprofloxacin 500mg"), ("cbc",), 0.3, (12, 120)),
    Diagnosis("K59.0", 1, ("Domperidon 10mg",)),
    Diagnosis("M54.59", 5, ("Meloxicam 7,5mg",), (), 0, (18, 120)),
    Diagnosis("M17.9", 3, ("Diclofenac 50mg",), (), 0, (45, 120)),
    Diagnosis("R51", 3, ("Paracetamol 500mg",)),
    Diagnosis("R42", 2, ("Paracetamol 500mg",), ("cbc",), 0.3, (30, 120)),
    Diagnosis("B34.9", 4, ("Paracetamol 500mg",), ("cbc",), 0.4),
    Diagnosis("A97.0", 2, ("Paracetamol 500mg", "Oresol 245"), ("cbc",), 1.0),
    Diagnosis("N39.0", 3, ("Ciprofloxacin 500mg",), ("urinalysis", "cbc"), 0.8, (15, 120)),
    Diagnosis("H10.9", 2, ("Loratadin 10mg",)),
    Diagnosis("L30.9", 2, ("Loratadin 10mg",)),
    Diagnosis("L50.9", 1, ("Loratadin 10mg", "Methylprednisolon 16mg")),
    Diagnosis("J45.9", 2, ("Salbutamol 2mg", "Methylprednisolon 16mg")),
    Diagnosis("M10.99", 1, ("Colchicin 1mg",), ("renal",), 0.7, (30, 120)),
    Diagnosis("T78.4", 1, ("Loratadin 10mg", "Methylprednisolon 16mg")),
    Diagnosis("K64.9", 1, ("Diclofenac 50mg",), (), 0, (20, 120)),
    Diagnosis("Z00.0", 3, (), ("cbc", "glucose", "renal", "liver", "lipids", "urinalysis"), 0.9, (18, 120)),
    Diagnosis("Z34.9", 2, (), ("cbc", "urinalysis"), 0.5, (18, 42), True),
)

# Long-term conditions: (diagnosis, share of people with it above the first age, that age).
CHRONIC = (
    (Diagnosis("I10", 1, ("Amlodipin 5mg", "Losartan 50mg"), ("renal", "electrolytes", "lipids"), 0.3), 0.28, 40),
    (Diagnosis("E11.9", 1, ("Metformin 850mg", "Gliclazid 30mg"), ("glucose", "hba1c", "renal", "lipids"), 0.7),
     0.09, 40),
    (Diagnosis("E78.5", 1, ("Atorvastatin 20mg",), ("lipids", "liver"), 0.5), 0.15, 40),
    (Diagnosis("I25.9", 1, ("Aspirin 81mg", "Bisoprolol 2,5mg", "Atorvastatin 20mg"), ("lipids", "cardiac"), 0.3),
     0.04, 55),
    (Diagnosis("J44.9", 1, ("Salbutamol 2mg",), ("cbc",), 0.2), 0.04, 50),
    (Diagnosis("N18.9", 1, ("Furosemid 40mg",), ("renal", "electrolytes", "cbc", "urinalysis"), 0.8), 0.03, 50),
    (Diagnosis("I50.9", 1, ("Furosemid 40mg", "Enalapril 5mg", "Bisoprolol 2,5mg"), ("cardiac", "renal"), 0.5),
     0.015, 60),
)

# Reasons for an inpatient stay, with days in hospital (min, max).
INPATIENT = (
    (Diagnosis("J18.9", 10, ("Ceftriaxon 1g", "Paracetamol 500mg", "Natri clorid 0,9% 500ml"),
               ("cbc", "crp", "renal", "electrolytes")), (4, 10)),
    (Diagnosis("A97.0", 5, ("Paracetamol 500mg", "Natri clorid 0,9% 500ml", "Oresol 245"),
               ("cbc", "liver", "coagulation")), (3, 7)),
    (Diagnosis("I63.9", 4, ("Aspirin 81mg", "Atorvastatin 20mg", "Natri clorid 0,9% 500ml"),
               ("cbc", "renal", "electrolytes", "lipids", "coagulation", "glucose"), ages=(45, 120)), (5, 14)),
    (Diagnosis("J44.1", 4, ("Ceftriaxon 1g", "Methylprednisolon 16mg", "Salbutamol 2mg"),
               ("cbc", "crp", "blood-gas", "electrolytes"), ages=(50, 120)), (4, 10)),
    (Diagnosis("I50.0", 3, ("Furosemid 40mg", "Enalapril 5mg", "Bisoprolol 2,5mg"),
               ("cbc", "renal", "electrolytes", "cardiac"), ages=(50, 120)), (4, 10)),
    (Diagnosis("A09.0", 5, ("Ciprofloxacin 500mg", "Natri clorid 0,9% 500ml", "Oresol 245"),
               ("cbc", "electrolytes", "renal")), (2, 5)),
    (Diagnosis("N39.0", 3, ("Ceftriaxon 1g", "Paracetamol 500mg"), ("cbc", "urinalysis", "renal", "crp"),
               ages=(15, 120)), (3, 7)),
    (Diagnosis("K92.2", 2, ("Omeprazol 20mg", "Natri clorid 0,9% 500ml"), ("cbc", "coagulation", "renal"),
               ages=(30, 120)), (3, 8)),
    (Diagnosis("K35.8", 3, ("Ceftriaxon 1g", "Paracetamol 500mg"), ("cbc", "coagulation", "crp"),
               ages=(8, 80)), (3, 6)),
    (Diagnosis("O80.0", 4, ("Paracetamol 500mg",), ("cbc", "coagulation", "urinalysis"), ages=(18, 42),
               female_only=True), (2, 4)),
)


def all_codes() -> set[str]:
    codes = {d.code for d in ACUTE} | {d.code for d, _, _ in CHRONIC} | {d.code for d, _ in INPATIENT}
    return codes


@lru_cache(maxsize=1)
def icd10_names() -> dict[str, str]:
    """The TT 06/2026 Vietnamese name of every code used here; KeyError names a code that does not exist."""
    names = {r["code"]: r["name_vi"] for r in sources.rows(sources.ICD10_TT06)}
    missing = sorted(c for c in all_codes() if c not in names)
    if missing:
        raise KeyError(f"ICD-10 codes not in TT 06/2026: {', '.join(missing)}")
    return {c: names[c] for c in all_codes()}
