"""Common laboratory tests: a curated list of LOINC codes with a Vietnamese name, the UCUM unit
Vietnamese laboratories usually report in (SI: mmol/L, µmol/L, g/L), and a typical adult
reference range.

Curated by us, not taken from a file: the LOINC codes and English long names are LOINC's
(https://loinc.org, LOINC and RELMA terms of use: the codes and names may be used freely with the
notice "This material contains content from LOINC (http://loinc.org)…"); the Vietnamese names are
the ones printed on Vietnamese laboratory reports; the ranges are common textbook adult ranges.
A reference range belongs to the laboratory and its method: a facility replaces these with its own.
The QĐ 1227/QĐ-BYT (2025) indicator list, which maps Vietnamese lab codes to LOINC, is not
machine-readable publicly (vietnam.md §6) and is not used here.

The generator of synthetic data (benhan/clinical) draws values around these ranges, so the list
is a Python table rather than a CodeSystem read from the database.
"""
from __future__ import annotations

from dataclasses import dataclass

from benhan.terminology.build import BENHAN, code_system, concept, prop, prop_def, value_set_for

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
URL = f"{BENHAN}/CodeSystem/lab-loinc-vn"
VERSION = "2026.1"

Range = tuple[float | None, float | None]
# A child's range: (from age, to age (exclusive), range), in whole years. A child younger than every band of a
# test that has bands gets no range (a newborn's values are not a small adult's); a test without bands keeps
# its adult range at every age.
ChildBand = tuple[int, int, Range]
ADULT_AGE = 16


@dataclass(frozen=True)
class LabTest:
    loinc: str
    name_en: str                    # LOINC long common name
    name_vi: str
    unit: str                       # UCUM code
    panel: str                      # hematology, chemistry, coagulation, blood-gas, urinalysis, …
    male: Range
    female: Range
    decimals: int = 1
    children: tuple[ChildBand, ...] = ()

    def child_band(self, age: int | None) -> ChildBand | None:
        if age is None or age >= ADULT_AGE:
            return None
        return next((b for b in self.children if b[0] <= age < b[1]), None)

    def range_for(self, female: bool, age: int | None = None) -> Range:
        """The reference range for a patient of this sex and age (whole years; None: an adult's)."""
        band = self.child_band(age)
        if band is not None:
            return band[2]
        if self.children and age is not None and age < ADULT_AGE:
            return (None, None)
        return self.female if female else self.male


def _t(loinc: str, en: str, vi: str, unit: str, panel: str, low: float | None, high: float | None,
       decimals: int = 1, female: Range | None = None, children: tuple[ChildBand, ...] = ()) -> LabTest:
    return LabTest(loinc, en, vi, unit, panel, (low, high), female or (low, high), decimals, children)


H, C, K, G, U = "hematology", "chemistry", "coagulation", "blood-gas", "urinalysis"

LABS: tuple[LabTest, ...] = (
    # Complete blood count (tổng phân tích tế bào máu ngoại vi)
    # Children's bands (common paediatric textbook ranges, 1–15 years; under 1 year none): WBC, HGB, creatinine.
    _t("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "Số lượng bạch cầu (WBC)", "10*9/L", H, 4.0, 10.0,
       children=((1, 6, (5.5, 15.5)), (6, 12, (4.5, 13.5)), (12, 16, (4.5, 11.0)))),
    _t("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "Số lượng hồng cầu (RBC)", "10*12/L", H,
       4.3, 5.8, 2, female=(3.9, 5.2)),
    _t("718-7", "Hemoglobin [Mass/volume] in Blood", "Huyết sắc tố (HGB)", "g/L", H, 130, 170, 0, female=(120, 155),
       children=((1, 6, (110, 140)), (6, 12, (115, 155)), (12, 16, (120, 160)))),
    _t("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "Hematocrit (HCT)", "%", H,
       40, 50, 1, female=(36, 46)),
    _t("787-2", "MCV [Entitic volume] by Automated count", "Thể tích trung bình hồng cầu (MCV)", "fL", H, 80, 100),
    _t("785-6", "MCH [Entitic mass] by Automated count", "Lượng huyết sắc tố trung bình hồng cầu (MCH)", "pg", H, 27, 33),
    _t("786-4", "MCHC [Mass/volume] by Automated count", "Nồng độ huyết sắc tố trung bình hồng cầu (MCHC)", "g/L", H,
       320, 360, 0),
    _t("788-0", "Erythrocyte distribution width [Ratio] by Automated count", "Độ phân bố hồng cầu (RDW)", "%", H, 11.5, 14.5),
    _t("777-3", "Platelets [#/volume] in Blood by Automated count", "Số lượng tiểu cầu (PLT)", "10*9/L", H, 150, 450, 0),
    _t("770-8", "Neutrophils/100 leukocytes in Blood by Automated count", "Tỷ lệ bạch cầu trung tính (NEUT%)", "%", H, 40, 75),
    _t("736-9", "Lymphocytes/100 leukocytes in Blood by Automated count", "Tỷ lệ bạch cầu lympho (LYM%)", "%", H, 20, 45),
    _t("5905-5", "Monocytes/100 leukocytes in Blood by Automated count", "Tỷ lệ bạch cầu mono (MONO%)", "%", H, 2, 10),
    _t("713-8", "Eosinophils/100 leukocytes in Blood by Automated count", "Tỷ lệ bạch cầu ưa acid (EOS%)", "%", H, 0, 6),
    _t("706-2", "Basophils/100 leukocytes in Blood by Automated count", "Tỷ lệ bạch cầu ưa base (BASO%)", "%", H, 0, 1),
    _t("751-8", "Neutrophils [#/volume] in Blood by Automated count", "Số lượng bạch cầu trung tính (NEUT#)", "10*9/L", H, 2.0, 7.5),
    _t("731-0", "Lymphocytes [#/volume] in Blood by Automated count", "Số lượng bạch cầu lympho (LYM#)", "10*9/L", H, 1.0, 4.0),
    _t("4537-7", "Erythrocyte sedimentation rate by Westergren method", "Tốc độ máu lắng (giờ đầu)", "mm/h", H,
       0, 15, 0, female=(0, 20)),
    # Clinical chemistry (sinh hoá máu)
    _t("14749-6", "Glucose [Moles/volume] in Serum or Plasma", "Glucose máu", "mmol/L", C, 3.9, 6.4),
    _t("14743-9", "Glucose [Moles/volume] in Capillary blood by Glucometer", "Glucose máu mao mạch", "mmol/L", C, 3.9, 7.8),
    _t("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", "%", C, 4.0, 5.6),
    _t("22664-7", "Urea [Moles/volume] in Serum or Plasma", "Urê máu", "mmol/L", C, 2.5, 7.5),
    _t("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "Creatinin máu", "umol/L", C, 62, 106, 0,
       female=(44, 80), children=((1, 6, (15, 40)), (6, 12, (25, 60)), (12, 16, (40, 90)))),
    _t("62238-1", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by "
       "Creatinine-based formula (CKD-EPI)", "Mức lọc cầu thận ước tính (eGFR, CKD-EPI)", "mL/min/{1.73_m2}", C,
       90, None, 0),
    _t("14933-6", "Urate [Moles/volume] in Serum or Plasma", "Acid uric máu", "umol/L", C, 200, 420, 0,
       female=(140, 340)),
    _t("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "AST (GOT)", "U/L", C, 0, 40, 0),
    _t("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "ALT (GPT)", "U/L", C, 0, 40, 0),
    _t("2324-2", "Gamma glutamyl transferase [Enzymatic activity/volume] in Serum or Plasma", "GGT", "U/L", C, 8, 61, 0,
       female=(5, 36)),
    _t("6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", "Phosphatase kiềm (ALP)", "U/L", C,
       40, 130, 0),
    _t("14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma", "Bilirubin toàn phần", "umol/L", C, 0, 17.1),
    _t("14629-0", "Bilirubin.direct [Moles/volume] in Serum or Plasma", "Bilirubin trực tiếp", "umol/L", C, 0, 5.1),
    _t("2885-2", "Protein [Mass/volume] in Serum or Plasma", "Protein toàn phần", "g/L", C, 64, 83, 0),
    _t("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "Albumin", "g/L", C, 35, 52, 0),
    _t("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma", "Cholesterol toàn phần", "mmol/L", C, 0, 5.2, 2),
    _t("14927-8", "Triglyceride [Moles/volume] in Serum or Plasma", "Triglycerid", "mmol/L", C, 0, 1.7, 2),
    _t("14646-4", "Cholesterol in HDL [Moles/volume] in Serum or Plasma", "HDL-Cholesterol", "mmol/L", C, 1.0, None, 2,
       female=(1.2, None)),
    _t("22748-8", "Cholesterol in LDL [Moles/volume] in Serum or Plasma", "LDL-Cholesterol", "mmol/L", C, 0, 3.4, 2),
    _t("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Natri (Na⁺)", "mmol/L", C, 135, 145, 0),
    _t("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Kali (K⁺)", "mmol/L", C, 3.5, 5.0),
    _t("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "Clo (Cl⁻)", "mmol/L", C, 98, 107, 0),
    _t("2000-8", "Calcium [Moles/volume] in Serum or Plasma", "Calci toàn phần", "mmol/L", C, 2.15, 2.55, 2),
    _t("1994-3", "Calcium.ionized [Moles/volume] in Blood", "Calci ion hoá", "mmol/L", C, 1.15, 1.30, 2),
    _t("2601-3", "Magnesium [Moles/volume] in Serum or Plasma", "Magie", "mmol/L", C, 0.66, 1.07, 2),
    _t("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "CO₂ toàn phần", "mmol/L", C, 22, 29, 0),
    _t("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "Protein phản ứng C (CRP)", "mg/L", C, 0, 5),
    _t("2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "LDH", "U/L", C, 135, 225, 0),
    _t("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "CK", "U/L", C, 39, 308, 0,
       female=(26, 192)),
    _t("1798-8", "Amylase [Enzymatic activity/volume] in Serum or Plasma", "Amylase máu", "U/L", C, 28, 100, 0),
    _t("2524-7", "Lactate [Moles/volume] in Serum or Plasma", "Lactat máu", "mmol/L", C, 0.5, 2.2),
    _t("10839-9", "Troponin I.cardiac [Mass/volume] in Serum or Plasma", "Troponin I", "ng/mL", C, 0, 0.04, 3),
    _t("33762-6", "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma", "NT-proBNP", "pg/mL", C,
       0, 125, 0),
    _t("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "TSH", "m[IU]/L", C, 0.4, 4.0, 2),
    _t("3024-7", "Thyroxine (T4) free [Mass/volume] in Serum or Plasma", "FT4", "ng/dL", C, 0.8, 1.8, 2),
    _t("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "Ferritin", "ng/mL", C, 30, 400, 0, female=(15, 150)),
    _t("14798-3", "Iron [Moles/volume] in Serum or Plasma", "Sắt huyết thanh", "umol/L", C, 11, 30, 1, female=(9, 27)),
    # Coagulation (đông máu)
    _t("5902-2", "Prothrombin time (PT)", "Thời gian prothrombin (PT)", "s", K, 11, 13.5),
    _t("6301-6", "INR in Platelet poor plasma by Coagulation assay", "INR", "{INR}", K, 0.8, 1.2, 2),
    _t("3173-2", "aPTT in Blood by Coagulation assay", "Thời gian thromboplastin từng phần hoạt hoá (APTT)", "s", K, 25, 35),
    _t("3255-7", "Fibrinogen [Mass/volume] in Platelet poor plasma by Coagulation assay", "Fibrinogen", "g/L", K, 2, 4, 2),
    # Arterial blood gas (khí máu động mạch)
    _t("2744-1", "pH of Arterial blood", "pH máu động mạch", "[pH]", G, 7.35, 7.45, 2),
    _t("2019-8", "Carbon dioxide [Partial pressure] in Arterial blood", "pCO₂ máu động mạch", "mm[Hg]", G, 35, 45, 0),
    _t("2703-7", "Oxygen [Partial pressure] in Arterial blood", "pO₂ máu động mạch", "mm[Hg]", G, 80, 100, 0),
    # Urinalysis (tổng phân tích nước tiểu)
    _t("5811-5", "Specific gravity of Urine by Test strip", "Tỷ trọng nước tiểu", "1", U, 1.005, 1.030, 3),
    _t("5803-2", "pH of Urine by Test strip", "pH nước tiểu", "[pH]", U, 5.0, 8.0),
    _t("5804-0", "Protein [Mass/volume] in Urine by Test strip", "Protein niệu", "mg/dL", U, 0, 15, 0),
    _t("5792-7", "Glucose [Mass/volume] in Urine by Test strip", "Glucose niệu", "mg/dL", U, 0, 15, 0),
    _t("5818-0", "Urobilinogen [Mass/volume] in Urine by Test strip", "Urobilinogen niệu", "mg/dL", U, 0.2, 1.0),
    _t("5821-4", "Leukocytes [#/area] in Urine sediment by Microscopy high power field", "Bạch cầu niệu (cặn)",
       "/[HPF]", U, 0, 5, 0),
    _t("13945-1", "Erythrocytes [#/area] in Urine sediment by Microscopy high power field", "Hồng cầu niệu (cặn)",
       "/[HPF]", U, 0, 3, 0),
)

BY_CODE = {t.loinc: t for t in LABS}

# Orders a clinician gives as one: the generator draws whole panels, as a laboratory reports them.
PANELS: dict[str, tuple[str, ...]] = {
    "cbc": ("6690-2", "789-8", "718-7", "4544-3", "787-2", "785-6", "786-4", "788-0", "777-3", "770-8", "736-9",
            "5905-5", "713-8", "706-2", "751-8", "731-0"),
    "glucose": ("14749-6",), "hba1c": ("4548-4",),
    "renal": ("22664-7", "14682-9", "62238-1", "14933-6"),
    "liver": ("1920-8", "1742-6", "2324-2", "14631-6", "14629-0", "2885-2", "1751-7"),
    "lipids": ("14647-2", "14927-8", "14646-4", "22748-8"),
    "electrolytes": ("2951-2", "2823-3", "2075-0", "2000-8"),
    "crp": ("1988-5",), "coagulation": ("5902-2", "6301-6", "3173-2", "3255-7"),
    "urinalysis": ("5811-5", "5803-2", "5804-0", "5792-7", "5818-0", "5821-4", "13945-1"),
    "thyroid": ("3016-3", "3024-7"), "cardiac": ("10839-9", "33762-6", "2157-6"),
    "blood-gas": ("2744-1", "2019-8", "2703-7", "2524-7"),
}

_PROPS = [prop_def("unit", "code", "The UCUM unit results are reported in (http://unitsofmeasure.org)"),
          prop_def("panel", "code", "The kind of test: hematology, chemistry, coagulation, blood-gas, urinalysis"),
          prop_def("reference-low", "decimal", "Typical adult lower reference limit (men, or everyone)"),
          prop_def("reference-high", "decimal", "Typical adult upper reference limit (men, or everyone)"),
          prop_def("reference-low-female", "decimal", "Typical adult lower reference limit for women, where it differs"),
          prop_def("reference-high-female", "decimal", "Typical adult upper reference limit for women, where it differs")]


def _dec(code: str, value: float | None) -> list[dict]:
    return [] if value is None else [{"code": code, "valueDecimal": value}]


def _concept(t: LabTest) -> dict:
    props = [prop("unit", t.unit, "code"), prop("panel", t.panel, "code"),
             *_dec("reference-low", t.male[0]), *_dec("reference-high", t.male[1])]
    if t.female != t.male:
        props += [*_dec("reference-low-female", t.female[0]), *_dec("reference-high-female", t.female[1])]
    return concept(t.loinc, t.name_vi, en=t.name_en, properties=props)


def lab_tests() -> tuple[dict, dict]:
    """The list as a CodeSystem of its own (a supplement-like view of LOINC with Vietnamese names)."""
    cs = code_system(
        id="lab-loinc-vn", url=URL, version=VERSION, name="BenhanCommonLabTests",
        title="Xét nghiệm thường dùng (mã LOINC, tên tiếng Việt, đơn vị UCUM, khoảng tham chiếu người lớn)",
        publisher="benhan (curated)", content="fragment", concepts=[_concept(t) for t in LABS],
        properties=_PROPS, value_set=f"{BENHAN}/ValueSet/lab-loinc-vn",
        description=("A curated list of common laboratory tests, CURATED BY US from public facts: the codes and "
                     "English names are LOINC's (This material contains content from LOINC, http://loinc.org, "
                     "copyright Regenstrief Institute, Inc., available at no cost under https://loinc.org/license); "
                     "the Vietnamese names are those printed on Vietnamese lab reports; units are UCUM in SI as "
                     "Vietnamese laboratories report; reference ranges are typical adult textbook ranges — each "
                     "laboratory must use its own. The codes are LOINC codes: record results with system "
                     f"{LOINC}; this code system only carries the Vietnamese names, units and ranges.\n"))
    return cs, value_set_for(cs, id="lab-loinc-vn", url=f"{BENHAN}/ValueSet/lab-loinc-vn")
