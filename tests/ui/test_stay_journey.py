"""An inpatient stay in the browser, as the doctor records it: the admission route and the referring
facility, a transfer to another room, a procedure with its operator and anaesthesia, the discharge —
then 01/BV1 prints each value beside its label, and the head of this commune station signs as
"Trạm trưởng"."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pdfplumber

from benhan.auth.actor import Actor
from benhan.clinical import registration, visits
from benhan.clinical.common import now
from benhan.store.repository import Repository

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng", roles=("doctor",))


def test_admit_transfer_operate_discharge_and_print_the_record(journey, world):  # noqa: ANN001
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(repo)
    rooms = {name: lid for lid, name in visits.locations(repo)}
    form = registration.PatientForm.from_mapping({"cccd": "038072004321", "name": "Lò Văn Thắng",
                                                  "birth_date": "02/09/1972", "gender": "male"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    admitted = now() - timedelta(days=2)
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", rooms["Phòng lưu bệnh"], "Đau bụng", fac, when=admitted)
    done = admitted + timedelta(hours=5)

    j = journey
    j.login("bacsi")
    j.go(f"/ui/encounters/{eid}")
    j.page.click("#admission summary")
    j.page.select_option("#f-adm_route", "cap-cuu")
    j.page.select_option("#f-adm_source", "co-quan-y-te")
    j.page.fill("#f-adm_origin_name", "Phòng khám đa khoa khu vực Hà Trung")
    j.page.fill("#f-adm_origin_code", "38210")
    j.page.fill("#f-adm_kkb_dx_text", "Theo dõi tắc ruột")
    j.page.click("#admission-form button")
    j.page.wait_for_url(re.compile(r".*saved=admission.*"))
    assert "Cấp cứu" in j.page.inner_text("#admission")

    j.page.select_option("#f-transfer_to", label="Phòng khám đa khoa")
    j.page.click("#transfer-form button")
    j.page.wait_for_url(re.compile(r".*saved=admission.*"))
    rows = j.page.locator("#stays tbody tr").all_inner_texts()
    assert len(rows) == 2 and "Phòng lưu bệnh" in rows[0] and "Phòng khám đa khoa" in rows[1]
    j.shot("admitted-and-transferred")

    j.page.click("#procedures summary")
    j.page.fill("#f-proc_name", "Đặt ống thông dạ dày")
    j.page.select_option("#f-proc_kind", "thu-thuat")
    j.page.fill("#f-proc_when", done.strftime("%H:%M %d/%m/%Y"))
    j.page.select_option("#f-proc_performer", label="Nguyễn Thị Mai")
    j.page.select_option("#f-proc_anaesthesia", "te-tai-cho")
    j.page.click("#procedure-form button")
    j.page.wait_for_url(re.compile(r".*saved=procedures.*"))
    assert "Đặt ống thông dạ dày" in j.page.inner_text("#procedures")

    j.page.select_option("#f-result", "2")
    j.page.select_option("#f-disposition", "home")
    j.page.fill("#f-d_tinh_trang_ra_vien", "Hết đau, ăn uống được")
    j.page.click("#discharge form button")
    j.page.wait_for_url(re.compile(r".*saved=discharge.*"))
    j.shot("discharged")

    with pdfplumber.open(io.BytesIO(j.fetch(f"/ui/encounters/{eid}/print.pdf?form=inpatient"))) as doc:
        text = "\n".join(p.extract_text() or "" for p in doc.pages)
    # 01/BV1 is drawn like the paper (documents/forms/inpatient.py): a recorded option is ticked ("X" after
    # its words), a value sits after its label, an item with nothing recorded keeps its dotted line.
    def item(start: str, end: str) -> str:
        return " ".join(text.partition(start)[2].partition(end)[0].split())

    def blank(value: str) -> bool:
        return set(value.replace(" ", "")) <= {"."}
    assert "Cấp cứu X" in item("13. Trực tiếp vào:", "14.") and item("13. Trực tiếp vào:", "14.").count(" X") == 1
    assert "Cơ quan y tế X" in item("14. Nơi giới thiệu:", "Nơi:")
    assert "Phòng khám đa khoa khu vực Hà Trung (mã 38210)" in item("Nơi:", "15.")
    assert "Phòng lưu bệnh" in item("15. Vào khoa:", "16.")
    assert "Phòng khám đa khoa" in item("16. Chuyển khoa", "17.")
    assert " X" not in item("17. Chuyển viện:", "Chuyển đến:") and blank(item("Chuyển đến:", "18."))
    assert "Ra viện X" in item("18. Ra viện lúc:", "19.")
    assert "".join(item("19. Tổng số ngày điều trị:", "III.").split()) == "03"
    assert blank(item("20. Nơi chuyển đến:", "Mã:")) and "Theo dõi tắc ruột" in item("21. KKB, Cấp cứu:", "Mã:")
    assert blank(item("22. Khi vào khoa điều trị:", "Mã:"))
    assert (f"Đặt ống thông dạ dày — {done:%H:%M %d/%m/%Y} — Người thực hiện: Nguyễn Thị Mai — Vô cảm: Gây tê tại chỗ"
            in item("Thủ thuật đã làm:", "Phẫu thuật đã làm:"))
    assert blank(item("Phẫu thuật đã làm:", "23."))
    assert "Trạm trưởng" in text and "Giám đốc bệnh viện" not in text
