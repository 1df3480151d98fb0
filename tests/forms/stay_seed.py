"""A 10-day stay recorded through the app's own functions (the ward and the admission of
tests/clinical/test_inpatient_record.py, reused), every value distinct: the route and the referrer
with its diagnosis, the emergency room's diagnosis, two transfers, a surgery and a procedure, an
accident and a complication, the doctor's record and vital signs, the diagnoses, the discharge with
its summary. And a death, for the death notice. Fixed past times in March 2025."""
from __future__ import annotations

from datetime import date

from benhan.auth.actor import Actor
from benhan.clinical import admission, diagnoses, discharge, procedures, record, transfers, vitals
from benhan.clinical.printouts import forms as printouts
from benhan.store.repository import Repository
from tests.clinical.test_inpatient_record import DOCTOR, admit, at, enc

TODAY = date(2025, 3, 20)
PRINTED = at(20, 9)
HEAD = "Giám đốc trung tâm"

S = {
    "name": "Trịnh Văn Quyết", "cccd": "038060246810",
    "origin": "Phòng khám đa khoa khu vực Nga Sơn", "origin-code": "38214",
    "referral-dx": ("R10.4", "Đau bụng chưa rõ nguyên nhân"), "kkb-dx": ("K35.8", "Theo dõi viêm ruột thừa cấp"),
    "icu": "Khoa Hồi sức tích cực",
    "surgery": "Cắt ruột thừa nội soi", "procedure": "Đặt ống thông dạ dày",
    "accident": "Sốc phản vệ độ I do kháng sinh", "complication": "Nhiễm trùng vết mổ nông",
    "reason": "Đau hố chậu phải ngày thứ hai", "history": "Đau quanh rốn rồi khu trú hố chậu phải, sốt nhẹ",
    "personal": "Tăng huyết áp điều trị đều", "risk": "Hút thuốc lá mười năm", "family": "Bố bị sỏi mật",
    "general": "Tỉnh, tiếp xúc tốt, môi khô", "cardio": "Tim đều, không tiếng thổi", "lungs": "Rì rào phế nang rõ",
    "gut": "Phản ứng thành bụng hố chậu phải", "tests-needed": "Công thức máu, siêu âm ổ bụng",
    "record-summary": "Hội chứng nhiễm trùng, đau hố chậu phải", "differential": "Viêm túi thừa Meckel",
    "prognosis": "Khá nếu mổ sớm", "plan": "Mổ cấp cứu, kháng sinh dự phòng",
    "ad": ("K35.3", "Viêm ruột thừa cấp có viêm phúc mạc khu trú"), "ad2": ("I10", "Bệnh tăng huyết áp vô căn"),
    "dd": ("K35.2", "Viêm ruột thừa cấp có viêm phúc mạc toàn thể"), "dd2": ("E78.0", "Tăng cholesterol máu đơn thuần"),
    "course": "Sau mổ sốt ba ngày, đáp ứng kháng sinh", "key-results": "Bạch cầu mười tám nghìn, siêu âm ruột thừa to",
    "method": "Phẫu thuật nội soi và kháng sinh tĩnh mạch", "status": "Vết mổ khô, ăn uống được",
    "onward": "Cắt chỉ sau bảy ngày tại trạm y tế",
}


def stay(ward: dict) -> str:
    """Admitted 07:40 on 1 March, medicine → surgery (3 March) → ICU (5 March) → surgery again
    (7 March), discharged improved 10 March at 15:00: ten days."""
    repo, rooms, staff = ward["repo"], ward["rooms"], ward["staff"]
    org = ward["fac"].organization_id
    icu = repo.create("Location", {"resourceType": "Location", "status": "active", "name": S["icu"],
                                   "managingOrganization": {"reference": f"Organization/{org}"}}).res_id
    _, eid = admit(ward, S["cccd"], S["name"], at(1, 7, 40))
    admission.record(repo, DOCTOR, enc(ward, eid), {
        "adm_route": "cap-cuu", "adm_source": "co-quan-y-te", "adm_origin_name": S["origin"],
        "adm_origin_code": S["origin-code"], "adm_referral_dx_code": S["referral-dx"][0],
        "adm_referral_dx_text": S["referral-dx"][1], "adm_kkb_dx_code": S["kkb-dx"][0],
        "adm_kkb_dx_text": S["kkb-dx"][1]})
    e = enc(ward, eid)
    record.save(repo, DOCTOR, e["subject"]["reference"].split("/")[1], eid, {record.field_name(c): v for c, v in {
        "ly-do-vao-vien": S["reason"], "qua-trinh-benh-ly": S["history"], "tien-su-ban-than": S["personal"],
        "dac-diem-lien-quan": S["risk"], "tien-su-gia-dinh": S["family"], "toan-than": S["general"],
        "tuan-hoan": S["cardio"], "ho-hap": S["lungs"], "tieu-hoa": S["gut"], "xet-nghiem-can-lam": S["tests-needed"],
        "tom-tat-benh-an": S["record-summary"], "chan-doan-phan-biet": S["differential"],
        "tien-luong": S["prognosis"], "huong-dieu-tri": S["plan"]}.items()}, None)
    pid = e["subject"]["reference"].split("/")[1]
    vitals.record(repo, DOCTOR, pid, eid, {"pulse": "96", "temperature": "38,4", "systolic": "135",
                                           "diastolic": "85", "respiratory_rate": "22", "weight": "61",
                                           "height": "167"}, at(1, 8).isoformat())
    for code, role, kind in ((S["ad"], "AD", "main"), (S["ad2"], "AD", "secondary"), (S["dd"], "DD", "main"),
                             (S["dd2"], "DD", "secondary")):
        diagnoses.add(repo, DOCTOR, enc(ward, eid), code[0], kind, role)
    transfers.transfer(repo, DOCTOR, enc(ward, eid), rooms["Khoa Ngoại chấn thương"], ward["fac"], when=at(3, 10))
    surgery = procedures.add(repo, DOCTOR, enc(ward, eid), {
        "proc_name": S["surgery"], "proc_kind": "phau-thuat", "proc_when": "14:30 03/03/2025",
        "proc_performer": staff["Lê Văn Hùng"], "proc_anaesthetist": staff["Trần Thị Hương"],
        "proc_anaesthesia": "me-noi-khi-quan"})
    procedures.add(repo, DOCTOR, enc(ward, eid), {
        "proc_name": S["procedure"], "proc_kind": "thu-thuat", "proc_when": "13:05 03/03/2025",
        "proc_performer": staff["Nguyễn Thị Mai"]})
    procedures.add_complication(repo, DOCTOR, enc(ward, eid), {
        "comp_kind": "bien-chung", "comp_text": S["complication"], "comp_when": "06/03/2025 08:00",
        "comp_procedure": surgery}, procedures.of_visit(repo, eid))
    procedures.add_complication(repo, DOCTOR, enc(ward, eid), {
        "comp_kind": "tai-bien", "comp_text": S["accident"], "comp_when": "04/03/2025 09:15"},
        procedures.of_visit(repo, eid))
    transfers.transfer(repo, DOCTOR, enc(ward, eid), icu, ward["fac"], when=at(5, 11, 20))
    transfers.transfer(repo, DOCTOR, enc(ward, eid), rooms["Khoa Ngoại chấn thương"], ward["fac"], when=at(7, 9))
    discharge.discharge(repo, DOCTOR, enc(ward, eid), {
        "result": "2", "disposition": "home", "pathology": "nghi-ngo",
        "d_qua_trinh_benh_ly": S["course"], "d_ket_qua_can_lam_sang": S["key-results"],
        "d_phuong_phap_dieu_tri": S["method"], "d_tinh_trang_ra_vien": S["status"],
        "d_huong_dieu_tri_tiep": S["onward"]}, when=at(10, 15))
    return eid


def died(ward: dict) -> str:
    """Admitted 22:15 on 10 March through the outpatient department, self-referred; died 05:20 the next
    morning of a myocardial infarction, autopsied."""
    repo = ward["repo"]
    _, eid = admit(ward, "038060135790", "Hoàng Văn Tư", at(10, 22, 15))
    admission.record(repo, DOCTOR, enc(ward, eid), {"adm_route": "kkb", "adm_source": "tu-den"})
    discharge.discharge(repo, DOCTOR, enc(ward, eid), {
        "result": "5", "disposition": "exp", "death_time": "11/03/2025 05:20", "death_circumstance": "do-benh",
        "death_cause_code": "I21.9", "death_cause_text": "Nhồi máu cơ tim cấp", "autopsy": "yes",
        "autopsy_dx_text": "Tắc động mạch vành trái", "d_tinh_trang_ra_vien": "Tử vong"}, when=at(11, 6))
    return eid


def context(ward: dict, eid: str) -> printouts.Context:
    return printouts.gather(Repository(ward["repo"].store, Actor.system()), eid, TODAY, head_title=HEAD)
