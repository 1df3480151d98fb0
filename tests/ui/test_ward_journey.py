"""A stay on the ward in the browser: the patient admitted to the department is put in a bed, moved to
another bed, sent on leave (the bed kept) and back, transferred to another department with a bed there,
then discharged — the ward boards show each step (the bed taken, the leave, the bed free again) and
01/BV1 prints the room, every bed with its time and the transfer."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pdfplumber

from benhan.auth.actor import Actor
from benhan.clinical import beds, registration, visits
from benhan.clinical.common import now
from benhan.store.repository import Repository

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng", roles=("doctor",))


def test_admit_bed_move_leave_transfer_discharge_and_print(journey, world):  # noqa: ANN001
    system = Repository(world["store"], Actor.system())
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(system)
    deps = {}
    for name in ("Khoa Nội (buồng bệnh)", "Khoa Hồi sức (buồng bệnh)"):
        deps[name] = system.create("Location", {"resourceType": "Location", "status": "active", "name": name,
                                                "managingOrganization": {"reference": f"Organization/{fac.organization_id}"}}).res_id
        room = beds.define_room(system, DOCTOR, deps[name], "Buồng 1")
        for n in (1, 2):
            beds.define_bed(system, DOCTOR, room, f"Giường {n}")
    form = registration.PatientForm.from_mapping({"cccd": "038072009876", "name": "Hà Văn Giường",
                                                  "birth_date": "02/09/1972", "gender": "male"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", deps["Khoa Nội (buồng bệnh)"], "Sốt", fac,
                            when=now() - timedelta(hours=3))
    ward = deps["Khoa Nội (buồng bệnh)"]

    j = journey
    j.login("bacsi")
    j.go(f"/ui/ward/{ward}")
    assert "0 giường có người bệnh, 2 giường trống" in j.page.inner_text("#ward-summary")
    assert "Hà Văn Giường" in j.page.inner_text("#ward-board")          # in the department, no bed yet
    j.go(f"/ui/encounters/{eid}")
    assert "Chưa xếp giường" in j.page.inner_text("#bed-now")
    j.page.select_option("#f-bed", label="Buồng 1 — Giường 1")
    j.page.click("#bed-form button")
    j.page.wait_for_url(re.compile(r".*saved=bed.*"))
    assert "Giường 1" in j.page.inner_text("#bed-now") and "Buồng 1" in j.page.inner_text("#bed-now")
    j.shot("in-bed-1")

    j.page.select_option("#f-bed", label="Buồng 1 — Giường 2")
    j.page.click("#bed-form button")
    j.page.wait_for_url(re.compile(r".*saved=bed.*"))
    assert "Giường 2" in j.page.inner_text("#bed-now")

    j.page.click("#leave-form button")
    j.page.wait_for_url(re.compile(r".*saved=bed.*"))
    assert "Nghỉ phép" in j.page.inner_text("#bed-now")
    j.go(f"/ui/ward/{ward}")
    occupied = j.page.locator("#ward-board tr.occupied").all_inner_texts()
    assert len(occupied) == 1 and "Giường 2" in occupied[0] and "Nghỉ phép" in occupied[0]
    assert "1 giường có người bệnh, 1 giường trống" in j.page.inner_text("#ward-summary")
    j.shot("ward-board-on-leave")
    j.go(f"/ui/encounters/{eid}")
    j.page.click("#return-form button")
    j.page.wait_for_url(re.compile(r".*saved=bed.*"))
    assert "Nghỉ phép" not in j.page.inner_text("#bed-now")

    j.page.select_option("#f-transfer_to", label="Khoa Hồi sức (buồng bệnh)")
    j.page.select_option("#f-transfer_bed", label="Khoa Hồi sức (buồng bệnh) — Buồng 1 — Giường 1")
    j.page.click("#transfer-form button")
    j.page.wait_for_url(re.compile(r".*saved=admission.*"))
    rows = j.page.locator("#stays tbody tr").all_inner_texts()
    assert len(rows) == 2 and "Khoa Hồi sức (buồng bệnh)" in rows[1]
    assert "Giường 1" in j.page.inner_text("#bed-now")
    j.go(f"/ui/ward/{ward}")
    assert "0 giường có người bệnh, 2 giường trống" in j.page.inner_text("#ward-summary")

    j.go(f"/ui/encounters/{eid}")
    j.page.select_option("#f-result", "2")
    j.page.select_option("#f-disposition", "home")
    j.page.fill("#f-d_tinh_trang_ra_vien", "Hết sốt")
    j.page.click("#discharge form button")
    j.page.wait_for_url(re.compile(r".*saved=discharge.*"))
    j.go(f"/ui/ward/{deps['Khoa Hồi sức (buồng bệnh)']}")
    assert "0 giường có người bệnh, 2 giường trống" in j.page.inner_text("#ward-summary")
    j.shot("discharged-bed-free")

    with pdfplumber.open(io.BytesIO(j.fetch(f"/ui/encounters/{eid}/print.pdf?form=inpatient"))) as doc:
        text = " ".join((p.extract_text() or "").replace("\n", " ") for p in doc.pages)
    bed_line = text.partition("Giường:")[2].partition("16.")[0]
    assert bed_line.count("Giường 1 (") == 2 and bed_line.count("Giường 2 (") == 1, bed_line
    assert "Buồng 1" in text.partition("Buồng:")[2][:30]
    transfers = text.partition("16. Chuyển khoa")[2][:300]
    assert "Khoa Hồi sức (buồng bệnh)" in transfers
