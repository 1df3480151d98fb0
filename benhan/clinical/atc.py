"""A curated table of active ingredients and drug classes by ATC code, for the allergy and
duplicate-drug checks of a prescription.

Source: the WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD Index
(https://atcddd.fhi.no/atc_ddd_index/) — the codes below were taken from the public index for the
drugs of the demo catalogue and the ingredients most prescribed at a district hospital or commune
station; a facility's own catalogue may name others (its HOAT_CHAT column is still compared by name).
An ingredient has several ATC codes when the WHO gives it one per use (aspirin as an analgesic and
as an antiplatelet); the first is the one written on the catalogue's Medication.

A class is what an allergy is often recorded against ("dị ứng nhóm penicilin"): it covers every
ingredient whose ATC code starts with one of its prefixes. The classes are deliberately the
well-known cross-reactive groups only; sulfonamide here means the antibacterial sulfonamides
(J01E minus trimethoprim alone) — the non-antibiotic ones (furosemide, thiazides, sulfonylureas)
are not included, their cross-reactivity being doubtful.
"""
from __future__ import annotations

from dataclasses import dataclass

from benhan.fhir.text import fold

ATC = "http://www.whocc.no/atc"
# A substance an allergy is recorded against that has no ATC code of its own (clavulanic acid, a
# drug class that the ATC spreads over several groups): benhan's own code system.
SUBSTANCE = "https://benhan.vn/fhir/CodeSystem/allergy-substance"


@dataclass(frozen=True)
class Ingredient:
    name: str                   # Vietnamese name as written on Vietnamese labels
    atc: tuple[str, ...]        # WHO ATC level-5 codes (the first is the main one)
    synonyms: tuple[str, ...] = ()   # INN / English / other spellings


@dataclass(frozen=True)
class DrugClass:
    code: str                   # benhan's code (SUBSTANCE system)
    name: str                   # Vietnamese, as shown in the allergy list
    prefixes: tuple[str, ...]   # ATC codes (any level) the class covers
    synonyms: tuple[str, ...] = ()
    atc: str = ""               # the ATC group code, when the class is exactly one ATC group


INGREDIENTS = (
    Ingredient("Paracetamol", ("N02BE01",), ("acetaminophen",)),
    Ingredient("Amoxicilin", ("J01CA04",), ("amoxicillin",)),
    Ingredient("Ampicilin", ("J01CA01",), ("ampicillin",)),
    Ingredient("Benzylpenicilin", ("J01CE01",), ("benzylpenicillin", "penicilin g", "penicillin g")),
    Ingredient("Phenoxymethylpenicilin", ("J01CE02",), ("phenoxymethylpenicillin", "penicilin v", "penicillin v")),
    Ingredient("Cloxacilin", ("J01CF02",), ("cloxacillin",)),
    Ingredient("Oxacilin", ("J01CF04",), ("oxacillin",)),
    Ingredient("Acid clavulanic", (), ("clavulanic acid", "kali clavulanat", "clavulanat", "potassium clavulanate")),
    Ingredient("Sulbactam", ("J01CG01",)),
    Ingredient("Cefalexin", ("J01DB01",), ("cephalexin",)),
    Ingredient("Cefazolin", ("J01DB04",)),
    Ingredient("Cefuroxim", ("J01DC02",), ("cefuroxime",)),
    Ingredient("Cefaclor", ("J01DC04",)),
    Ingredient("Cefotaxim", ("J01DD01",), ("cefotaxime",)),
    Ingredient("Ceftriaxon", ("J01DD04",), ("ceftriaxone",)),
    Ingredient("Cefixim", ("J01DD08",), ("cefixime",)),
    Ingredient("Cefpodoxim", ("J01DD13",), ("cefpodoxime",)),
    Ingredient("Erythromycin", ("J01FA01",)),
    Ingredient("Clarithromycin", ("J01FA09",)),
    Ingredient("Azithromycin", ("J01FA10",)),
    Ingredient("Ciprofloxacin", ("J01MA02",)),
    Ingredient("Ofloxacin", ("J01MA01",)),
    Ingredient("Levofloxacin", ("J01MA12",)),
    Ingredient("Sulfamethoxazol", ("J01EC01",), ("sulfamethoxazole",)),
    Ingredient("Sulfadiazin", ("J01EC02",), ("sulfadiazine",)),
    Ingredient("Trimethoprim", ("J01EA01",)),
    Ingredient("Gentamicin", ("J01GB03",)),
    Ingredient("Ambroxol", ("R05CB06",)),
    Ingredient("Bromhexin", ("R05CB02",), ("bromhexine",)),
    Ingredient("Acetylcystein", ("R05CB01",), ("acetylcysteine",)),
    Ingredient("Loratadin", ("R06AX13",), ("loratadine",)),
    Ingredient("Desloratadin", ("R06AX27",), ("desloratadine",)),
    Ingredient("Cetirizin", ("R06AE07",), ("cetirizine",)),
    Ingredient("Clorpheniramin", ("R06AB04",), ("chlorphenamine", "chlorpheniramine")),
    Ingredient("Salbutamol", ("R03CC02", "R03AC02"), ("albuterol",)),
    Ingredient("Omeprazol", ("A02BC01",), ("omeprazole",)),
    Ingredient("Pantoprazol", ("A02BC02",), ("pantoprazole",)),
    Ingredient("Esomeprazol", ("A02BC05",), ("esomeprazole",)),
    Ingredient("Domperidon", ("A03FA03",), ("domperidone",)),
    Ingredient("Ibuprofen", ("M01AE01",)),
    Ingredient("Naproxen", ("M01AE02",)),
    Ingredient("Diclofenac", ("M01AB05",)),
    Ingredient("Indomethacin", ("M01AB01",), ("indometacin",)),
    Ingredient("Piroxicam", ("M01AC01",)),
    Ingredient("Meloxicam", ("M01AC06",)),
    Ingredient("Celecoxib", ("M01AH01",)),
    Ingredient("Aspirin", ("B01AC06", "N02BA01"), ("acid acetylsalicylic", "acetylsalicylic acid")),
    Ingredient("Tramadol", ("N02AX02",)),
    Ingredient("Methylprednisolon", ("H02AB04",), ("methylprednisolone",)),
    Ingredient("Prednisolon", ("H02AB06",), ("prednisolone",)),
    Ingredient("Dexamethason", ("H02AB02",), ("dexamethasone",)),
    Ingredient("Amlodipin", ("C08CA01",), ("amlodipine",)),
    Ingredient("Nifedipin", ("C08CA05",), ("nifedipine",)),
    Ingredient("Losartan", ("C09CA01",)),
    Ingredient("Captopril", ("C09AA01",)),
    Ingredient("Enalapril", ("C09AA02",)),
    Ingredient("Bisoprolol", ("C07AB07",)),
    Ingredient("Metoprolol", ("C07AB02",)),
    Ingredient("Metformin", ("A10BA02",)),
    Ingredient("Gliclazid", ("A10BB09",), ("gliclazide",)),
    Ingredient("Glimepirid", ("A10BB12",), ("glimepiride",)),
    Ingredient("Atorvastatin", ("C10AA05",)),
    Ingredient("Rosuvastatin", ("C10AA07",)),
    Ingredient("Simvastatin", ("C10AA01",)),
    Ingredient("Furosemid", ("C03CA01",), ("furosemide",)),
    Ingredient("Hydroclorothiazid", ("C03AA03",), ("hydrochlorothiazide",)),
    Ingredient("Allopurinol", ("M04AA01",)),
    Ingredient("Colchicin", ("M04AC01",), ("colchicine",)),
    Ingredient("Natri clorid", ("B05XA03",), ("sodium chloride",)),
    Ingredient("Oresol", ("A07CA",), ("oral rehydration salts", "ors")),
    Ingredient("Aciclovir", ("J05AB01",), ("acyclovir",)),
)

CLASSES = (
    DrugClass("penicillins", "Nhóm penicilin", ("J01C",), ("penicilin", "penicillin", "penicillins", "nhom penicillin"),
              atc="J01C"),
    DrugClass("cephalosporins", "Nhóm cephalosporin", ("J01DB", "J01DC", "J01DD", "J01DE", "J01DI"),
              ("cephalosporin", "cephalosporins", "cefalosporin")),
    DrugClass("beta-lactams", "Kháng sinh beta-lactam (penicilin, cephalosporin, carbapenem)", ("J01C", "J01D"),
              ("beta-lactam", "betalactam", "beta lactam")),
    DrugClass("macrolides", "Nhóm macrolid", ("J01FA",), ("macrolid", "macrolide", "macrolides"), atc="J01FA"),
    DrugClass("fluoroquinolones", "Nhóm quinolon (fluoroquinolon)", ("J01MA",),
              ("quinolon", "fluoroquinolon", "fluoroquinolone", "quinolone"), atc="J01MA"),
    DrugClass("aminoglycosides", "Nhóm aminoglycosid", ("J01G",), ("aminoglycosid", "aminoglycoside"), atc="J01G"),
    DrugClass("sulfonamides", "Sulfamid kháng khuẩn", ("J01EB", "J01EC", "J01ED", "J01EE"),
              ("sulfamid", "sulfonamid", "sulfonamide", "sulfonamides", "sulfa")),
    DrugClass("nsaids", "Thuốc chống viêm không steroid (NSAID, kể cả aspirin)",
              ("M01AA", "M01AB", "M01AC", "M01AE", "M01AG", "M01AH", "N02BA", "B01AC06"),
              ("nsaid", "nsaids", "khang viem khong steroid", "chong viem khong steroid", "ains")),
    DrugClass("ace-inhibitors", "Thuốc ức chế men chuyển (ACE)", ("C09A", "C09B"),
              ("uc che men chuyen", "ace inhibitor", "ace inhibitors"), atc="C09A"),
)
CLASS_BY_CODE = {c.code: c for c in CLASSES}


def _index() -> dict[str, Ingredient | DrugClass]:
    out: dict[str, Ingredient | DrugClass] = {}
    for item in (*INGREDIENTS, *CLASSES):
        for name in (item.name, *item.synonyms):
            out.setdefault(fold(name), item)
    return out


_NAMES = _index()


def ingredient(name: str) -> Ingredient | None:
    """The curated ingredient a (Vietnamese or INN) name denotes; salt words and strengths are not
    stripped: 'Amoxicilin' and 'amoxicillin' are found, 'Amoxicilin trihydrat' is not."""
    hit = _NAMES.get(fold(name))
    return hit if isinstance(hit, Ingredient) else None


def substance(name: str) -> Ingredient | DrugClass | None:
    """The ingredient or class a name (as typed in an allergy) denotes, or None."""
    return _NAMES.get(fold(name.strip()))


def atc_of(name: str) -> tuple[str, ...]:
    found = ingredient(name)
    return found.atc if found else ()


def under(atc_code: str, prefixes: tuple[str, ...]) -> bool:
    return any(atc_code.upper().startswith(p) for p in prefixes)
