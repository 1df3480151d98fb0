"""Small code lists written out by us from public facts, where no machine-readable file could be
found: the BHYT beneficiary groups with their meanings, the occupation groups, and benhan's encounter
types. Each CodeSystem says so in its description and publisher ("curated"), so nobody mistakes it
for the official list.
"""
from __future__ import annotations

from benhan.terminology.build import BENHAN, code_system, concept, prop, prop_def, value_set_for

BENEFICIARY_URL = f"{BENHAN}/CodeSystem/bhyt-beneficiary-group"
OCCUPATION_URL = f"{BENHAN}/CodeSystem/vn-occupation-group"
ENCOUNTER_TYPE_URL = f"{BENHAN}/CodeSystem/encounter-type"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# The 2-letter group that opens a legacy 15-character BHYT card number (vietnam.md §4.3), with the
# benefit level usually printed after it (1 = 100 %, 2 = 100 % with caps, 3 = 95 %, 4 = 80 %, 5 = 100 %
# incl. out-of-scope). Written by us from public explanations of QĐ 1351/QĐ-BHXH (2015) and its
# amendments; not checked against the decision's text; the decision has a few more groups.
BENEFICIARY_GROUPS: tuple[tuple[str, str, int], ...] = (
    ("DN", "Người lao động làm việc trong doanh nghiệp", 4),
    ("HX", "Người lao động làm việc trong hợp tác xã, liên hiệp hợp tác xã", 4),
    ("CH", "Người lao động làm việc trong cơ quan nhà nước, đơn vị sự nghiệp, tổ chức chính trị - xã hội", 4),
    ("NN", "Người lao động làm việc trong cơ quan, tổ chức nước ngoài, tổ chức quốc tế tại Việt Nam", 4),
    ("TK", "Người lao động làm việc trong các tổ chức khác", 4),
    ("HC", "Cán bộ, công chức, viên chức", 4),
    ("XK", "Người hoạt động không chuyên trách ở xã, phường, thị trấn", 4),
    ("HT", "Người hưởng lương hưu, trợ cấp mất sức lao động hằng tháng", 3),
    ("TB", "Người hưởng trợ cấp bảo hiểm xã hội hằng tháng do tai nạn lao động, bệnh nghề nghiệp", 4),
    ("NO", "Người lao động nghỉ việc hưởng chế độ ốm đau do bệnh cần chữa trị dài ngày", 4),
    ("CT", "Người từ đủ 80 tuổi trở lên đang hưởng trợ cấp tuất hằng tháng", 4),
    ("XB", "Cán bộ xã, phường, thị trấn đã nghỉ việc đang hưởng trợ cấp bảo hiểm xã hội hằng tháng", 4),
    ("TN", "Người đang hưởng trợ cấp thất nghiệp", 4),
    ("CS", "Công nhân cao su nghỉ việc đang hưởng trợ cấp hằng tháng", 4),
    ("QN", "Sĩ quan, quân nhân chuyên nghiệp, hạ sĩ quan, binh sĩ quân đội", 5),
    ("CA", "Sĩ quan, hạ sĩ quan, chiến sĩ công an nhân dân", 5),
    ("CY", "Người làm công tác cơ yếu", 5),
    ("XN", "Cán bộ xã, phường, thị trấn đã nghỉ việc hưởng trợ cấp hằng tháng từ ngân sách nhà nước", 4),
    ("MS", "Người đã thôi hưởng trợ cấp mất sức lao động đang hưởng trợ cấp hằng tháng", 4),
    ("CC", "Người có công với cách mạng", 1),
    ("CB", "Cựu chiến binh", 2),
    ("KC", "Người trực tiếp tham gia kháng chiến", 2),
    ("HD", "Đại biểu Quốc hội, đại biểu Hội đồng nhân dân đương nhiệm", 4),
    ("TE", "Trẻ em dưới 6 tuổi", 1),
    ("BT", "Người hưởng trợ cấp bảo trợ xã hội hằng tháng", 2),
    ("HN", "Người thuộc hộ gia đình nghèo", 2),
    ("DT", "Người dân tộc thiểu số sống ở vùng có điều kiện kinh tế - xã hội khó khăn", 2),
    ("DK", "Người sống ở vùng có điều kiện kinh tế - xã hội đặc biệt khó khăn", 2),
    ("XD", "Người sống ở xã đảo, huyện đảo", 2),
    ("TS", "Thân nhân của liệt sĩ", 2),
    ("TC", "Thân nhân của người có công với cách mạng", 3),
    ("TQ", "Thân nhân của quân nhân", 4),
    ("TA", "Thân nhân của công an nhân dân", 4),
    ("TY", "Thân nhân của người làm công tác cơ yếu", 4),
    ("HG", "Người đã hiến bộ phận cơ thể", 4),
    ("LS", "Người nước ngoài học tập tại Việt Nam được cấp học bổng từ ngân sách nhà nước", 4),
    ("CN", "Người thuộc hộ gia đình cận nghèo", 3),
    ("HS", "Học sinh", 4),
    ("SV", "Sinh viên", 4),
    ("GB", "Người thuộc hộ gia đình làm nông, lâm, ngư, diêm nghiệp có mức sống trung bình", 4),
    ("GD", "Người tham gia theo hộ gia đình", 4),
)
GROUP_LEVEL = {code: level for code, _, level in BENEFICIARY_GROUPS}

# Level 1 of the Vietnamese occupation classification (VSCO 2020, QĐ 34/2020/QĐ-TTg), which follows
# the ten major groups of ISCO-08. Written out by us from the decision's public text; the deeper
# levels (2–5 digits) are not included.
OCCUPATION_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("1", "Nhà lãnh đạo trong các ngành, các cấp và các đơn vị", "Managers"),
    ("2", "Nhà chuyên môn bậc cao", "Professionals"),
    ("3", "Nhà chuyên môn bậc trung", "Technicians and associate professionals"),
    ("4", "Nhân viên trợ lý văn phòng", "Clerical support workers"),
    ("5", "Nhân viên dịch vụ và bán hàng", "Service and sales workers"),
    ("6", "Lao động có kỹ năng trong nông nghiệp, lâm nghiệp và thủy sản",
     "Skilled agricultural, forestry and fishery workers"),
    ("7", "Lao động thủ công và các nghề nghiệp có liên quan khác", "Craft and related trades workers"),
    ("8", "Thợ lắp ráp và vận hành máy móc, thiết bị", "Plant and machine operators, and assemblers"),
    ("9", "Lao động giản đơn", "Elementary occupations"),
    ("0", "Lực lượng quân đội", "Armed forces occupations"),
)

# benhan's encounter types: what a Vietnamese facility calls its kinds of visit, each tied to the FHIR
# Encounter.class (HL7 v3 ActCode) and the BHYT visit type MA_LOAI_KCB (QĐ 1804/2026, vietnam.md §3.5)
# it is claimed as. Designed by us; VN Core's vn-encounter-type-cs codes were not available.
ENCOUNTER_TYPES: tuple[tuple[str, str, str, str], ...] = (
    ("kham-benh", "Khám bệnh ngoại trú", "AMB", "01"),
    ("ngoai-tru", "Điều trị ngoại trú", "AMB", "02"),
    ("noi-tru", "Điều trị nội trú", "IMP", "03"),
    ("ban-ngay", "Điều trị nội trú ban ngày", "SS", "04"),
    ("cap-cuu", "Cấp cứu", "EMER", "01"),
    ("luu-benh", "Lưu bệnh tại trạm y tế", "OBSENC", "06"),
    ("tai-nha", "Khám, chữa bệnh tại nhà", "HH", "12"),
    ("tu-xa", "Khám, chữa bệnh từ xa", "VR", "14"),
    ("kham-suc-khoe", "Khám sức khỏe định kỳ", "AMB", "15"),
    ("sang-loc", "Khám sàng lọc", "FLD", "16"),
)


def bhyt_beneficiary_groups() -> tuple[dict, dict]:
    cs = code_system(
        id="bhyt-beneficiary-group", url=BENEFICIARY_URL, version="qd1351-curated-2026",
        name="BHYTBeneficiaryGroup", title="Mã đối tượng tham gia BHYT (ký tự 1–2 của mã thẻ 15 ký tự)",
        publisher="benhan (curated)", content="fragment",
        properties=[prop_def("benefit-level", "integer", "The benefit level (ký tự 3) usually printed with "
                                                         "this group: 1 = 100 %, 2 = 100 % with caps, 3 = 95 %, "
                                                         "4 = 80 %, 5 = 100 % incl. out-of-scope and transport")],
        concepts=[concept(code, name, properties=[prop("benefit-level", level, "integer")])
                  for code, name, level in BENEFICIARY_GROUPS],
        value_set=f"{BENHAN}/ValueSet/bhyt-beneficiary-group",
        description="The beneficiary groups of the legacy 15-character BHYT card number with their meanings "
                    "and usual benefit level. CURATED BY US from public explanations of QĐ 1351/QĐ-BHXH "
                    "(2015) and its amendments, NOT checked against the decision's text, which lists a few "
                    "more groups (hence content = fragment). The 15 codes vietnam.md §4.3 lists are all "
                    "here; the 2025 card (CCCD as the card number) carries no group: the BHXH gateway's "
                    "answer does.\n")
    return cs, value_set_for(cs, id="bhyt-beneficiary-group", url=f"{BENHAN}/ValueSet/bhyt-beneficiary-group")


def occupation_groups() -> tuple[dict, dict]:
    cs = code_system(
        id="vn-occupation-group", url=OCCUPATION_URL, version="qd34-2020-level1", name="VNOccupationGroup",
        title="Danh mục nghề nghiệp Việt Nam, cấp 1 (QĐ 34/2020/QĐ-TTg)", date="2020-11-26",
        publisher="benhan (curated)", content="fragment",
        concepts=[concept(code, vi, en=en) for code, vi, en in OCCUPATION_GROUPS],
        value_set=f"{BENHAN}/ValueSet/vn-occupation-group",
        description="The ten level-1 groups of the Vietnamese occupation classification (VSCO 2020, "
                    "QĐ 34/2020/QĐ-TTg), which follow the ISCO-08 major groups (English names are ISCO's). "
                    "WRITTEN OUT BY US from the decision's public text; the 2- to 5-digit levels are not "
                    "included (content = fragment), so record the group, or free text for the exact job.\n")
    return cs, value_set_for(cs, id="vn-occupation-group", url=f"{BENHAN}/ValueSet/vn-occupation-group")


def encounter_types() -> tuple[dict, dict]:
    cs = code_system(
        id="benhan-encounter-type", url=ENCOUNTER_TYPE_URL, version="2026.1", name="BenhanEncounterType",
        title="Loại lượt khám, chữa bệnh (benhan)", publisher="benhan (curated)",
        properties=[prop_def("class", "code", f"The Encounter.class this type goes with ({ACT_CODE})"),
                    prop_def("ma-loai-kcb", "code", "The BHYT visit type it is claimed as "
                                                    "(https://benhan.vn/fhir/CodeSystem/bhyt-ma-loai-kcb)")],
        concepts=[concept(code, name, properties=[prop("class", klass, "code"), prop("ma-loai-kcb", loai, "code")])
                  for code, name, klass, loai in ENCOUNTER_TYPES],
        value_set=f"{BENHAN}/ValueSet/benhan-encounter-type",
        description="The kinds of visit benhan records in Encounter.type, each with the Encounter.class (HL7 v3 "
                    "ActCode) and the BHYT visit type MA_LOAI_KCB (QĐ 1804/2026) it maps to. DESIGNED BY US: "
                    "VN Core's vn-encounter-type-cs codes were not available to copy.\n")
    return cs, value_set_for(cs, id="benhan-encounter-type", url=f"{BENHAN}/ValueSet/benhan-encounter-type")
