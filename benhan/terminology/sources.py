"""The packaged source files (benhan/terminology/data/*.csv.gz) and where each came from.

The files are copies of /work/shared/data (see docs/terminology.md), gzip-compressed with no name or
time in the header so that re-compressing an unchanged file gives the same bytes.
"""
from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Source:
    file: str           # name in DATA, without .gz
    title: str          # the legal instrument or list
    origin: str         # where the rows were taken from (repository @ commit, package version)
    defects: str = ""   # known defects, repeated in the CodeSystem's description


ICD10_QD4469 = Source(
    "icd10-vn.csv", "ICD-10 list of the Ministry of Health, QĐ 4469/QĐ-BYT (28/10/2020)",
    "GitHub htthinh28/check_bhyt @ 4a00cea8126be2ede445272f0c02198bb0741f79, "
    "ma_nguon/thanh_phan/dm_icd10_seed.jsx (MoH/BHXH template FileMau_DANH_MUC_ICD10.xlsx)",
    "I10 corrected to the WHO/TT06 title; 82 codes present both plain and with †/* merged into one "
    "row; one exact duplicate (J13) dropped; some English names carry source typos; superseded by "
    "TT 06/2026/TT-BYT from 01/07/2026.")
ICD10_TT06 = Source(
    "icd10-vn-tt06-2026.csv", "ICD-10 of TT 06/2026/TT-BYT (in force 01/07/2026)",
    "GitHub htthinh28/check_bhyt @ 4a00cea8126be2ede445272f0c02198bb0741f79, "
    "thuvien/duocthu_data/icd-01.js…icd-07.js (names) and ma_nguon/thanh_phan/icd10_tt06_bang_ma.jsx (flags)",
    "Unofficial extraction: diff it against the official annex before production use. 813 †/* codes "
    "were put back from the flags table with QĐ 4469 names (name-source QD4469), 179 of them with no "
    "name; about 105 unflagged † codes (e.g. A17.0†) are missing; U13.9 is missing (spelt U13/9 in "
    "the annex). English names are not in the source: they are borrowed from QĐ 4469 where the code "
    "is the same.")
PROVINCES_2025 = Source(
    "vn-admin-provinces-2025.csv", "The 34 provinces and cities after 01/07/2025 (QĐ 19/2025/QĐ-TTg codes)",
    "PyPI vietnam-provinces 2026.9.0, vietnam_provinces/data/nested-divisions.json (NSO, "
    "danhmuchanhchinh.nso.gov.vn); identical to GitHub sunshine-tech/VietnamProvinces @ "
    "809e91baefbe3153ccaecc9b2286303a98b9119b")
WARDS_2025 = Source(
    "vn-admin-wards-2025.csv", "The 3,321 communes, wards and special zones after 01/07/2025",
    PROVINCES_2025.origin,
    "The NSO conversion table spells a few names differently (hoà/hòa, apostrophes).")
LEGACY_2025_01 = Source(
    "vn-admin-legacy-2025-01.csv",
    "The old 3-level list (63 provinces, 696 districts, 10,051 wards; QĐ 124/2004/QĐ-TTg scheme), state of 2025-01-04",
    "GitHub sunshine-tech/VietnamProvinces @ 809e91baefbe3153ccaecc9b2286303a98b9119b, "
    "dev/seed-data/Pre-2025-07/Xa_2025-01-04.csv (NSO export)",
    "Five island districts have no wards; changes made in the first half of 2025 are not in it.")
PROVINCE_CONVERSION_2025 = Source(
    "vn-admin-province-conversion-2025.csv", "The 63 old provinces → the 34 new ones",
    "derived from the NSO old→new ward conversion table and the legacy list")
ETHNICITY_1979 = Source(
    "ethnicity-vn.csv", "The 54 ethnic groups, QĐ 121-TCTK/PPCĐ (02/3/1979)",
    "two independent public GitHub files (a Python DAN_TOC dict and an SQL seed table tbl_dantoc), "
    "agreeing on all 54 code→group pairs",
    "QĐ 1019/QĐ-TCTK (2008) uses different codes; do not mix the two. Code 55 'Người nước ngoài' is "
    "common in practice but not in the decision, so it is left out.")

ALL_SOURCES = (ICD10_QD4469, ICD10_TT06, PROVINCES_2025, WARDS_2025, LEGACY_2025_01,
               PROVINCE_CONVERSION_2025, ETHNICITY_1979)


def rows(source: Source) -> list[dict[str, str]]:
    """The file's rows as dicts keyed by the header, every value a (possibly empty) string."""
    raw = gzip.decompress((DATA / f"{source.file}.gz").read_bytes())
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
