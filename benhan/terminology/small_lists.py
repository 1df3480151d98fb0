"""Small code systems: ethnicity (from the data files) and two BHYT lists written out from vietnam.md.

What is left out, because nothing could be sourced: the meanings of the BHYT beneficiary codes,
MA_DOITUONG_KCB (QĐ 3276/2025, 27 rows, only examples are known), the treatment outcome KET_QUA_DTRI
("confirm in the XSD"), religion, occupation, and VN Core's own encounter-type codes.
"""
from __future__ import annotations

from benhan.terminology import sources
from benhan.terminology.build import BENHAN, VN_CORE, code_system, concept, describe, value_set_for

ETHNICITY_URL = f"{BENHAN}/CodeSystem/vn-ethnicity"
CARD_TYPE_URL = f"{VN_CORE}/CodeSystem/vn-bhyt-card-type-cs"      # vietnam.md §2.3 (Coverage)
VISIT_TYPE_URL = f"{BENHAN}/CodeSystem/bhyt-ma-loai-kcb"


def ethnicity() -> tuple[dict, dict]:
    concepts = [concept(r["code"], r["name_vi"], alt_vi=r["name_vi_alt"] or None)
                for r in sources.rows(sources.ETHNICITY_1979)]
    cs = code_system(
        id="vn-ethnicity", url=ETHNICITY_URL, version="qd121-1979", name="VNEthnicity",
        title="Danh mục các dân tộc Việt Nam (QĐ 121-TCTK/PPCĐ)", date="1979-03-02",
        publisher="Tổng cục Thống kê (General Statistics Office of Viet Nam)", concepts=concepts,
        value_set=f"{BENHAN}/ValueSet/vn-ethnicity",
        description=describe("The 54 ethnic groups with the 1979 codes 01–54, the list the BHYT XML field "
                             "MA_DANTOC uses. Alternative spellings are designations (language vi).",
                             sources.ETHNICITY_1979))
    return cs, value_set_for(cs, id="vn-ethnicity", url=f"{BENHAN}/ValueSet/vn-ethnicity")


# vietnam.md §4.3: "2 letters: beneficiary group (DN, HC, CH, HT, XB, TN, HS, SV, TE, GD, HN, CN, QN, CA, CY …)".
# The source gives the codes only, not what each group is, so the concepts carry no display.
CARD_TYPES = ("DN", "HC", "CH", "HT", "XB", "TN", "HS", "SV", "TE", "GD", "HN", "CN", "QN", "CA", "CY")


def bhyt_card_types() -> tuple[dict, dict]:
    cs = code_system(
        id="vn-bhyt-card-type-cs", url=CARD_TYPE_URL, version="cv3340-2017-partial", name="VNBHYTCardType",
        title="Mã đối tượng trên thẻ BHYT (một phần)", content="fragment",
        publisher="Bảo hiểm xã hội Việt Nam (Vietnam Social Security)",
        concepts=[concept(c) for c in CARD_TYPES], value_set=f"{BENHAN}/ValueSet/vn-bhyt-card-type",
        description="The 2-letter beneficiary group that opens a legacy 15-character BHYT card number (BHXH CV "
                    "3340/BHXH-ST 2017; QĐ 1351/QĐ-BHXH). A FRAGMENT: only the examples listed in vietnam.md "
                    "§4.3, with no names, because no complete list could be verified. QN, CA and CY go with "
                    "benefit level 5.\n")
    return cs, value_set_for(cs, id="vn-bhyt-card-type", url=f"{BENHAN}/ValueSet/vn-bhyt-card-type")


# vietnam.md §3.5: MA_LOAI_KCB (QĐ 1804/2026, by 01/08/2026; 16 codes). The source gives the meanings
# in English (01 in Vietnamese only); they are kept as given rather than translated here.
VISIT_TYPES = (
    ("01", "Examination (khám)"), ("02", "Outpatient treatment"), ("03", "Inpatient treatment"),
    ("04", "Day treatment"), ("05", "Chronic outpatient with drug collection"),
    ("06", "Stay at a commune station or regional polyclinic"), ("07", "Drug collection by appointment"),
    ("08", "Chronic outpatient with services/drugs"), ("09", "Inpatient under 4 hours"), ("10", "Other"),
    ("11", "Mobile"), ("12", "At home"), ("13", "Family medicine"), ("14", "Telemedicine"),
    ("15", "Periodic health check"), ("16", "Screening"),
)


def bhyt_visit_types() -> tuple[dict, dict]:
    cs = code_system(
        id="bhyt-ma-loai-kcb", url=VISIT_TYPE_URL, version="qd1804-2026", name="BHYTVisitType",
        title="MA_LOAI_KCB: hình thức khám chữa bệnh (QĐ 1804/2026)", language="en",
        publisher="Bộ Y tế (Ministry of Health of Viet Nam)",
        concepts=[concept(code, display) for code, display in VISIT_TYPES],
        value_set=f"{BENHAN}/ValueSet/bhyt-ma-loai-kcb",
        description="The visit types of the BHYT claim field MA_LOAI_KCB (QĐ 1804/2026, required by "
                    "01/08/2026), written out from vietnam.md §3.5 (a summary in English, not the decision's "
                    "Vietnamese wording). The codes are strings (\"01\"), never numbers.\n")
    return cs, value_set_for(cs, id="bhyt-ma-loai-kcb", url=f"{BENHAN}/ValueSet/bhyt-ma-loai-kcb")
