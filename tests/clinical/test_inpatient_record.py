"""01/BV1 prints what happened in the stay, as recorded through the app's own workflows: the
admission route, the referring facility and its diagnosis, the emergency room's diagnosis, the
admitting department and each transfer with its days, the surgery and the procedure, the accident
and the complication, the transfer out with its destination, or a death with its time, cause,
circumstance and autopsy — each value beside its label in the PDF's text. Nothing recorded prints
as a blank line, never a default. The facility head signs by the facility's own title and the
treating doctor by full name. SQLite and PostgreSQL; fixed past times (the clock is injected)."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pdfplumber
import pytest

from benhan.auth.actor import Actor
from benhan.clinical import admission, discharge, procedures, registration, transfers, visits
from benhan.clinical.common import FormInvalid
from benhan.clinical.demo import facility_bundle
from benhan.clinical.printouts import forms, pdf
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository
from benhan.terminology.load import load

ICT = timezone(timedelta(hours=7))
DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=ICT)


@pytest.fixture
def ward(store):  # noqa: ANN001, ANN201
    """The demo commune station (three rooms, three staff) with two more departments and ICD-10."""
    repo = Repository(store, Actor.system())
    load(store, ["icd10-tt06"])
    process_bundle(repo, facility_bundle(), "http://localhost/fhir")
    org = visits.facility(repo).organization_id
    for name in ("Khoa Nội tổng hợp", "Khoa Ngoại chấn thương"):
        repo.create("Location", {"resourceType": "Location", "status": "active", "name": name,
                                 "managingOrganization": {"reference": f"Organization/{org}"}})
    rooms = {name: lid for lid, name in visits.locations(repo)}
    staff = {name: pid for pid, name in procedures.practitioners(repo)}
    return {"repo": repo, "rooms": rooms, "staff": staff, "fac": visits.facility(repo)}


def admit(ward: dict, cccd: str, name: str, when: datetime) -> tuple[str, str]:
    repo = ward["repo"]
    f = registration.PatientForm.from_mapping({"cccd": cccd, "name": name, "birth_date": "05/06/1960",
                                               "gender": "male"})
    pid = registration.register(repo, f, DOCTOR, date(2025, 3, 1), ward["fac"].organization_id).patient_id
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", ward["rooms"]["Khoa Nội tổng hợp"], "Đau bụng",
                            ward["fac"], when=when)
    return pid, eid


def enc(ward: dict, eid: str) -> dict:
    return ward["repo"].read("Encounter", eid).json()


def pdf_text(ctx: forms.Context) -> str:
    body = pdf.render(forms.build(ctx, "inpatient", DOCTOR, at(20, 9), "http://benhan.test"))
    with pdfplumber.open(io.BytesIO(body)) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


def beside(text: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """For labels printed in this order: the (label, wanted, printed) whose printed value — the text
    from 'label:' to the next label, line breaks as spaces — does not hold the wanted value."""
    wrong = []
    rest = text
    for i, (label, wanted) in enumerate(pairs):
        head, sep, rest = rest.partition(f"{label}:")
        assert sep, f"label {label!r} not printed (in order)"
        following = pairs[i + 1][0] + ":" if i + 1 < len(pairs) else None
        value = rest.partition(following)[0] if following else rest.partition("\n")[0]
        blank = value.strip().split("\n")[0].strip() in ("", "…")     # the line after may be a heading
        value = " ".join(value.split())
        if (wanted and wanted not in value) or (not wanted and not blank):
            wrong.append((label, wanted, value))
    return wrong


def test_every_value_of_the_stay_prints_beside_its_label(ward):  # noqa: ANN001
    repo = ward["repo"]
    _, eid = admit(ward, "001060123456", "Phạm Văn Khải", at(1, 7, 40))
    admission.record(repo, DOCTOR, enc(ward, eid), {
        "adm_route": "cap-cuu", "adm_source": "co-quan-y-te", "adm_origin_name": "Trạm Y tế xã Đông Sơn",
        "adm_origin_code": "38123", "adm_referral_dx_code": "R10.4", "adm_referral_dx_text": "Đau bụng chưa rõ nguyên nhân",
        "adm_kkb_dx_code": "K35.8", "adm_kkb_dx_text": "Theo dõi viêm ruột thừa cấp"})
    transfers.transfer(repo, DOCTOR, enc(ward, eid), ward["rooms"]["Khoa Ngoại chấn thương"], ward["fac"],
                       when=at(3, 10))
    surgery = procedures.add(repo, DOCTOR, enc(ward, eid), {
        "proc_name": "Cắt ruột thừa nội soi", "proc_kind": "phau-thuat", "proc_when": "14:30 03/03/2025",
        "proc_performer": ward["staff"]["Lê Văn Hùng"], "proc_anaesthetist": ward["staff"]["Trần Thị Hương"],
        "proc_anaesthesia": "me-noi-khi-quan"})
    procedures.add(repo, DOCTOR, enc(ward, eid), {
        "proc_name": "Đặt sonde dạ dày", "proc_kind": "thu-thuat", "proc_when": "2025-03-03T13:05",
        "proc_performer": ward["staff"]["Nguyễn Thị Mai"]})
    procs = procedures.of_visit(repo, eid)
    procedures.add_complication(repo, DOCTOR, enc(ward, eid), {
        "comp_kind": "bien-chung", "comp_text": "Nhiễm trùng vết mổ", "comp_when": "05/03/2025 08:00",
        "comp_procedure": surgery}, procs)
    procedures.add_complication(repo, DOCTOR, enc(ward, eid), {
        "comp_kind": "tai-bien", "comp_text": "Sốc phản vệ độ I do kháng sinh", "comp_when": "04/03/2025 09:15"}, procs)
    discharge.discharge(repo, DOCTOR, enc(ward, eid), {
        "result": "4", "disposition": "other-hcf", "transfer_level": "tuyen-tren",
        "transfer_to_name": "Bệnh viện Đa khoa tỉnh Thanh Hóa", "transfer_to_code": "38001",
        "pathology": "lanh-tinh", "d_tinh_trang_ra_vien": "Sốt cao, vết mổ chảy dịch"}, when=at(7, 15))

    ctx = forms.gather(Repository(repo.store, Actor.system()), eid, date(2025, 3, 20))
    # The surgery names the complication that followed it (FHIR's Procedure.complicationDetail).
    linked = {procedures.kind_of(c): procedures.linked_procedure(c, ctx.procedures)
              for c in procedures.complications(ctx.rec.conditions)}
    assert linked == {"bien-chung": surgery, "tai-bien": ""}
    text = pdf_text(ctx)
    assert beside(text, [
        ("Vào viện", "07:40 01/03/2025"), ("Trực tiếp vào", "Cấp cứu"),
        ("Nơi giới thiệu", "Cơ quan y tế — Trạm Y tế xã Đông Sơn (mã 38123)"),
        ("Vào khoa", "Khoa Nội tổng hợp — 07:40 01/03/2025 — 2 ngày"),
        ("Chuyển khoa", "Khoa Ngoại chấn thương — 10:00 03/03/2025 — 5 ngày"),
        ("Chuyển viện", "Tuyến trên — Bệnh viện Đa khoa tỉnh Thanh Hóa (mã 38001)"),
        ("Ra viện", "15:00 07/03/2025 — Chuyển viện"), ("Tổng số ngày điều trị", "7"),
        ("Nơi chuyển đến", "Đau bụng chưa rõ nguyên nhân (R10.4)"), ("KKB, Cấp cứu", "Theo dõi viêm ruột thừa cấp (K35.8)"),
        ("Khi vào khoa điều trị", ""),
        ("Thủ thuật", "Đặt sonde dạ dày — 13:05 03/03/2025 — Người thực hiện: Nguyễn Thị Mai"),
        ("Phẫu thuật", "Cắt ruột thừa nội soi — 14:30 03/03/2025 — Người thực hiện: Lê Văn Hùng — "
                       "Gây mê hồi sức: Trần Thị Hương — Vô cảm: Gây mê nội khí quản"),
        ("Ra viện - Bệnh chính", ""), ("Ra viện - Bệnh kèm theo", ""),
        ("Tai biến", "Sốc phản vệ độ I do kháng sinh — 09:15 04/03/2025"),
        ("Biến chứng", "Nhiễm trùng vết mổ — 08:00 05/03/2025"),
        ("Kết quả điều trị", "Nặng hơn"), ("Giải phẫu bệnh", "Lành tính"), ("Tình hình tử vong", ""),
        ("Nguyên nhân chính tử vong", ""), ("Khám nghiệm tử thi", ""), ("Chẩn đoán giải phẫu tử thi", "")]) == []
    # The stays add up to the total; the visit went to the new department.
    assert [s.days for s in ctx.stays] == [2, 5] and ctx.encounter["length"]["value"] == 7
    assert ctx.encounter["location"][-1]["status"] == "completed"
    # A commune station's head signs as "Trạm trưởng"; the treating doctor by full name, no user name.
    assert "Trạm trưởng" in text and "Giám đốc" not in text
    signed = text.rpartition("(Ký, ghi rõ họ tên)")[2].partition("Bản in từ")[0]
    assert signed.split() == ["Lê", "Văn", "Hùng"]
    assert "Bác sĩ điều trị: Lê Văn Hùng\n" in text and "Bác sĩ điều trị: Lê Văn Hùng (bacsi)" not in text


def test_a_death_within_24_hours_prints_its_time_cause_circumstance_and_autopsy(ward):  # noqa: ANN001
    repo = ward["repo"]
    pid, eid = admit(ward, "001060654321", "Hoàng Văn Tư", at(10, 22, 15))
    admission.record(repo, DOCTOR, enc(ward, eid), {"adm_route": "kkb", "adm_source": "tu-den"})
    discharge.discharge(repo, DOCTOR, enc(ward, eid), {
        "result": "5", "disposition": "exp", "death_time": "11/03/2025 05:20", "death_circumstance": "do-benh",
        "death_cause_code": "I21.9", "death_cause_text": "Nhồi máu cơ tim cấp", "autopsy": "yes",
        "autopsy_dx_text": "Tắc động mạch vành trái", "d_tinh_trang_ra_vien": "Tử vong"}, when=at(11, 6))
    text = pdf_text(forms.gather(Repository(repo.store, Actor.system()), eid, date(2025, 3, 20)))
    assert beside(text, [
        ("Trực tiếp vào", "Khoa khám bệnh"), ("Nơi giới thiệu", "Tự đến"), ("Vào khoa", "Khoa Nội tổng hợp"),
        ("Chuyển khoa", ""), ("Chuyển viện", ""), ("Ra viện", "06:00 11/03/2025 — Tử vong"),
        ("Tổng số ngày điều trị", "2"), ("Nơi chuyển đến", ""), ("KKB, Cấp cứu", "")]) == []
    assert beside(text, [
        ("Thủ thuật", ""), ("Phẫu thuật", ""), ("Ra viện - Bệnh chính", ""), ("Ra viện - Bệnh kèm theo", ""),
        ("Tai biến", ""), ("Biến chứng", ""), ("Kết quả điều trị", "Tử vong"), ("Giải phẫu bệnh", ""),
        ("Tình hình tử vong", "05:20 11/03/2025 — Do bệnh — Trong 24 giờ vào viện"),
        ("Nguyên nhân chính tử vong", "Nhồi máu cơ tim cấp (I21.9)"), ("Khám nghiệm tử thi", "Có"),
        ("Chẩn đoán giải phẫu tử thi", "Tắc động mạch vành trái")]) == []
    assert repo.read("Patient", pid).json()["deceasedDateTime"].startswith("2025-03-11T05:20")


def test_nothing_recorded_prints_blank_lines_and_no_default(ward):  # noqa: ANN001
    repo = ward["repo"]
    _, eid = admit(ward, "001060111222", "Vũ Văn Năm", at(12, 8))
    e = enc(ward, eid)
    assert "hospitalization" not in e        # the desk's admission assumes no route
    text = pdf_text(forms.gather(Repository(repo.store, Actor.system()), eid, date(2025, 3, 20)))
    assert beside(text, [("Trực tiếp vào", ""), ("Nơi giới thiệu", ""),
                         ("Vào khoa", "Khoa Nội tổng hợp — 08:00 12/03/2025"), ("Chuyển khoa", ""),
                         ("Chuyển viện", ""), ("Ra viện", "")]) == []


def test_a_hospital_head_signs_by_the_configured_title(ward):  # noqa: ANN001
    repo = ward["repo"]
    _, eid = admit(ward, "001060333444", "Đặng Văn Sáu", at(13, 8))
    ctx = forms.gather(Repository(repo.store, Actor.system()), eid, date(2025, 3, 20), head_title="Giám đốc")
    assert forms.build(ctx, "inpatient", DOCTOR, at(20, 9), "http://x").signatures[0] == "Giám đốc"


def test_bad_or_inconsistent_entries_are_refused_by_field(ward):  # noqa: ANN001
    repo = ward["repo"]
    _, eid = admit(ward, "001060555666", "Bùi Văn Bảy", at(14, 8))

    def errors(action) -> dict:  # noqa: ANN001
        with pytest.raises(FormInvalid) as err:
            action()
        return {k: v[0] for k, v in err.value.errors.items()}
    assert errors(lambda: admission.record(repo, DOCTOR, enc(ward, eid), {
        "adm_route": "xx", "adm_source": "co-quan-y-te", "adm_origin_code": "12",
        "adm_referral_dx_code": "ZZZ.9"})) == {
        "adm_route": "ui.err.choose", "adm_origin_code": "ui.adm.err.ma_cskcb", "adm_origin_name": "ui.err.required",
        "adm_referral_dx_code": "ui.err.dx_unknown"}
    assert errors(lambda: transfers.transfer(repo, DOCTOR, enc(ward, eid), ward["rooms"]["Khoa Nội tổng hợp"],
                                             ward["fac"], when=at(15, 8))) == {"transfer_to": "ui.transfer.err.same"}
    assert errors(lambda: transfers.transfer(repo, DOCTOR, enc(ward, eid), ward["rooms"]["Khoa Ngoại chấn thương"],
                                             ward["fac"], when=at(13, 8))) == {"transfer_to": "ui.transfer.err.before"}
    assert errors(lambda: procedures.add(repo, DOCTOR, enc(ward, eid), {
        "proc_name": "Chọc dịch", "proc_kind": "thu-thuat", "proc_when": "13/03/2025 08:00"})) == {
        "proc_when": "ui.proc.err.before_admission", "proc_performer": "ui.err.choose"}
    assert errors(lambda: discharge.discharge(repo, DOCTOR, enc(ward, eid), {
        "result": "5", "disposition": "home", "d_tinh_trang_ra_vien": "x"}, when=at(16, 8))) == {
        "disposition": "ui.out.err.death_both"}
    assert errors(lambda: discharge.discharge(repo, DOCTOR, enc(ward, eid), {
        "result": "5", "disposition": "exp", "d_tinh_trang_ra_vien": "x"}, when=at(16, 8))) == {
        "death_time": "ui.err.required", "death_cause_text": "ui.err.required"}
    assert errors(lambda: discharge.discharge(repo, DOCTOR, enc(ward, eid), {
        "result": "3", "disposition": "other-hcf", "d_tinh_trang_ra_vien": "x"}, when=at(16, 8))) == {
        "transfer_level": "ui.err.choose", "transfer_to_name": "ui.err.required"}
    assert enc(ward, eid)["status"] != "finished"


def test_after_a_transfer_the_patient_is_in_the_new_departments_list_and_printed_under_it(ward):  # noqa: ANN001
    repo = ward["repo"]
    f = registration.PatientForm.from_mapping({"cccd": "001060777888", "name": "Lê Văn Tám",
                                               "birth_date": "05/06/1960", "gender": "male"})
    pid = registration.register(repo, f, DOCTOR, date(2025, 3, 1), ward["fac"].organization_id).patient_id
    medical, surgical = ward["rooms"]["Khoa Nội tổng hợp"], ward["rooms"]["Khoa Ngoại chấn thương"]
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", medical, "Đau bụng", ward["fac"])
    today = datetime.fromisoformat(enc(ward, eid)["period"]["start"]).date()
    assert eid in [q.encounter_id for q in visits.queue(repo, medical, today)]
    transfers.transfer(repo, DOCTOR, enc(ward, eid), surgical, ward["fac"])
    assert eid not in [q.encounter_id for q in visits.queue(repo, medical, today)]
    assert eid in [q.encounter_id for q in visits.queue(repo, surgical, today)]
    ctx = forms.gather(Repository(repo.store, Actor.system()), eid, today)
    assert forms.build(ctx, "inpatient", DOCTOR, at(20, 9), "http://x").department == "Khoa Ngoại chấn thương"
