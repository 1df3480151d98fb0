"""Administrative units (vietnam.md §4.5): the 2-level list in force since 01/07/2025 (34 provinces,
3,321 communes/wards/special zones) and the old 3-level list (63/696/10,051) still needed for records
made before the reform. Old and new codes overlap with different meanings (ward 00004 was Phường
Trúc Bạch and is now Phường Ba Đình), so each list is a code system of its own.
"""
from __future__ import annotations

from benhan.terminology import sources
from benhan.terminology.build import (BENHAN, DEPRECATED, VN_CORE, code_system, concept, describe, prop,
                                      prop_def, value_set_for)

PUBLISHER = "Tổng cục Thống kê (General Statistics Office of Viet Nam)"
REFORM = "2025-07-01"       # NQ 202/2025/QH15 in force: the old units stop being used for new data

PROVINCE_URL = f"{BENHAN}/CodeSystem/vn-province"
WARD_URL = f"{BENHAN}/CodeSystem/vn-ward"
LEGACY_PROVINCE_URL = f"{BENHAN}/CodeSystem/vn-province-legacy"
DISTRICT_URL = f"{VN_CORE}/CodeSystem/vn-district-cs"      # VN Core's legacy district list (vietnam.md §2.4)
LEGACY_WARD_URL = f"{BENHAN}/CodeSystem/vn-ward-legacy"
NEW_VERSION, LEGACY_VERSION = "2025-07-01", "2025-01-04"

DIVISION = prop_def("division-type", "string", "Kind of unit (tỉnh, thành phố trung ương, xã, phường, đặc khu…)")
PROVINCE = prop_def("province", "code", f"The province after 01/07/2025 (QĐ 19/2025/QĐ-TTg), a code of {PROVINCE_URL}")
LEGACY_PROVINCE = prop_def("legacy-province", "code", f"The province before 01/07/2025, a code of {LEGACY_PROVINCE_URL}")
DISTRICT = prop_def("district", "code", f"The district (abolished 01/07/2025), a code of {DISTRICT_URL}")


def _pair(cs: dict, vs_name: str) -> tuple[dict, dict]:
    return cs, value_set_for(cs, id=vs_name, url=f"{BENHAN}/ValueSet/{vs_name}")


def provinces() -> tuple[dict, dict]:
    concepts = [concept(r["code"], r["name"], properties=[prop("division-type", r["division_type"])])
                for r in sorted(sources.rows(sources.PROVINCES_2025), key=lambda r: r["code"])]
    return _pair(code_system(
        id="vn-province", url=PROVINCE_URL, version=NEW_VERSION, name="VNProvince",
        title="Tỉnh, thành phố (từ 01/07/2025)", publisher=PUBLISHER, date=NEW_VERSION, concepts=concepts,
        properties=[DIVISION], value_set=f"{BENHAN}/ValueSet/vn-province",
        description=describe("The 34 provinces and centrally-run cities after NQ 202/2025/QH15, with the "
                             "codes of QĐ 19/2025/QĐ-TTg.", sources.PROVINCES_2025)), "vn-province")


def wards() -> tuple[dict, dict]:
    concepts = [concept(r["code"], r["name"], properties=[prop("division-type", r["division_type"]),
                                                          prop("province", r["province_code"], "code")])
                for r in sorted(sources.rows(sources.WARDS_2025), key=lambda r: r["code"])]
    return _pair(code_system(
        id="vn-ward", url=WARD_URL, version=NEW_VERSION, name="VNWard",
        title="Xã, phường, đặc khu (từ 01/07/2025)", publisher=PUBLISHER, date=NEW_VERSION, concepts=concepts,
        properties=[DIVISION, PROVINCE], value_set=f"{BENHAN}/ValueSet/vn-ward",
        description=describe("The communes, wards and special zones of the 2-level government in force from "
                             "01/07/2025.", sources.WARDS_2025)), "vn-ward")


def _new_province_of() -> dict[str, str]:
    return {r["old_province_code"]: r["new_province_code"] for r in sources.rows(sources.PROVINCE_CONVERSION_2025)}


def _legacy(props: list[dict]) -> list[dict]:
    return props + [prop("deprecated", REFORM, "dateTime")]


def legacy() -> list[tuple[dict, dict]]:
    """The old provinces, districts and wards (deprecated from 01/07/2025); one pass over the file."""
    rows = sources.rows(sources.LEGACY_2025_01)
    new_of = _new_province_of()
    provs, dists, wards_ = {}, {}, []
    for r in rows:
        p, d = r["province_code"], r["district_code"]
        provs.setdefault(p, concept(p, r["province_name"], properties=_legacy([prop("province", new_of[p], "code")])))
        dists.setdefault(d, concept(d, r["district_name"], properties=_legacy(
            [prop("province", new_of[p], "code"), prop("legacy-province", p, "code")])))
        if r["ward_code"]:      # five island districts have no wards
            wards_.append(concept(r["ward_code"], r["ward_name"], properties=_legacy(
                [prop("division-type", r["ward_level"]), prop("district", d, "code"),
                 prop("legacy-province", p, "code"), prop("province", new_of[p], "code")])))
    common = dict(version=LEGACY_VERSION, publisher=PUBLISHER, date=LEGACY_VERSION)
    why = ("Kept for records made before 01/07/2025; every concept is deprecated from that date. The property "
           "`province` gives the province after the reform (every old province went whole into one new one).")
    return [
        _pair(code_system(id="vn-province-legacy", url=LEGACY_PROVINCE_URL, name="VNProvinceLegacy",
                          title="Tỉnh, thành phố (trước 01/07/2025)", concepts=sorted(provs.values(), key=_code),
                          properties=[PROVINCE, DEPRECATED], value_set=f"{BENHAN}/ValueSet/vn-province-legacy",
                          description=describe("The 63 provinces before the 2025 reform. " + why,
                                               sources.LEGACY_2025_01, sources.PROVINCE_CONVERSION_2025),
                          **common), "vn-province-legacy"),
        _pair(code_system(id="vn-district-cs", url=DISTRICT_URL, name="VNDistrict",
                          title="Quận, huyện (trước 01/07/2025)", concepts=sorted(dists.values(), key=_code),
                          properties=[PROVINCE, LEGACY_PROVINCE, DEPRECATED],
                          value_set=f"{BENHAN}/ValueSet/vn-district",
                          description=describe("The 696 districts abolished on 01/07/2025 (QĐ 19/2025/QĐ-TTg "
                                               "Appendix II keeps them as legacy). " + why,
                                               sources.LEGACY_2025_01, sources.PROVINCE_CONVERSION_2025),
                          **common), "vn-district"),
        _pair(code_system(id="vn-ward-legacy", url=LEGACY_WARD_URL, name="VNWardLegacy",
                          title="Xã, phường, thị trấn (trước 01/07/2025)", concepts=sorted(wards_, key=_code),
                          properties=[DIVISION, DISTRICT, LEGACY_PROVINCE, PROVINCE, DEPRECATED],
                          value_set=f"{BENHAN}/ValueSet/vn-ward-legacy",
                          description=describe("The 10,051 communes, wards and townships of the 3-level list. " + why,
                                               sources.LEGACY_2025_01, sources.PROVINCE_CONVERSION_2025),
                          **common), "vn-ward-legacy"),
    ]


def _code(c: dict) -> str:
    return c["code"]
