"""Issue 18's acceptance walked end to end in the browser: the patient admitted to a department is put in a
bed, transferred with a bed in another department, the doctor orders a medicine on the visit page, the
nurse finds the stay in her list of doses due and gives a dose, the doctor discharges — then the printouts
reflect each step: 01/BV1 the bed and the transfer, the publicity sheet (phiếu công khai thuốc) the dose
the nurse gave, and the discharge paper (giấy ra viện) exists."""
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


def _text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


def test_admit_bed_transfer_order_dose_discharge_and_printouts(journey, world):  # noqa: ANN001
    system = Repository(world["store"], Actor.system())
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(system)
    deps = {}
    for name in ("Khoa Nội (hành trình)", "Khoa Ngoại (hành trình)"):
        deps[name] = system.create("Location", {"resourceType": "Location", "status": "active", "name": name,
                                                "managingOrganization": {"reference": f"Organization/{fac.organization_id}"}}).res_id
        room = beds.define_room(system, DOCTOR, deps[name], "Buồng 3")
        beds.define_bed(system, DOCTOR, room, "Giường 7")
    form = registration.PatientForm.from_mapping({"cccd": "038066001818", "name": "Trịnh Văn Hành",
                                                  "birth_date": "11/11/1966", "gender": "male"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    tz = world["store"].config.timezone
    admitted = now(tz) - timedelta(days=2)
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", deps["Khoa Nội (hành trình)"], "Đau bụng", fac,
                            when=admitted)

    j = journey
    j.login("bacsi")
    j.go(f"/ui/encounters/{eid}")
    j.page.select_option("#f-bed", label="Buồng 3 — Giường 7")
    j.page.click("#bed-form button")
    j.page.wait_for_url(re.compile(r".*saved=bed.*"))
    assert "Giường 7" in j.page.inner_text("#bed-now")
    j.page.select_option("#f-transfer_to", label="Khoa Ngoại (hành trình)")
    j.page.select_option("#f-transfer_bed", label="Khoa Ngoại (hành trình) — Buồng 3 — Giường 7")
    j.page.click("#transfer-form button")
    j.page.wait_for_url(re.compile(r".*saved=admission.*"))
    assert "Khoa Ngoại (hành trình)" in j.page.locator("#stays tbody tr").all_inner_texts()[-1]

    j.page.select_option("#f-rx_drug", label="Paracetamol 500mg (viên)")
    j.page.fill("#f-rx_per_day", "2")
    j.page.fill("#f-rx_days", "5")
    j.page.click("#rx-form button")
    j.page.wait_for_url(re.compile(r".*saved=prescriptions.*"))
    assert "Paracetamol" in j.page.inner_text("#prescriptions")
    j.shot("ordered")
    # The order dated back to the admission (setup, not UI): its doses of yesterday were never recorded, so
    # the stay is in the nurse's list whatever the hour the test runs, and today has its full schedule.
    found = system.search_type("MedicationRequest", [("encounter", f"Encounter/{eid}")]).matches
    assert len(found) == 1
    body = found[0].json()
    body["authoredOn"] = admitted.isoformat()
    system.update("MedicationRequest", body["id"], body)

    j.page.context.clear_cookies()
    j.login("dieuduong")
    j.go("/ui/doses")
    assert "Trịnh Văn Hành" in j.page.inner_text("#doses-due")
    j.page.click("#doses-due a:has-text('Trịnh Văn Hành')")
    j.page.wait_for_url(re.compile(rf".*/ui/encounters/{eid}/doses.*"))
    j.go(f"/ui/encounters/{eid}/doses")
    row = j.page.locator("#doses tbody tr").nth(0)
    row.locator("input[name=dose]").fill("3")
    row.locator("button").click()
    j.page.wait_for_url(re.compile(r".*saved=1.*"))
    assert j.page.locator("#doses tbody tr").nth(0).get_attribute("data-state") == "given"
    j.shot("dose-given")

    j.page.context.clear_cookies()
    j.login("bacsi")
    j.go(f"/ui/encounters/{eid}")
    j.page.select_option("#f-result", "2")
    j.page.select_option("#f-disposition", "home")
    j.page.fill("#f-d_tinh_trang_ra_vien", "Hết đau")
    j.page.click("#discharge form button")
    j.page.wait_for_url(re.compile(r".*saved=discharge.*"))
    j.shot("discharged")

    record = _text(j.fetch(f"/ui/encounters/{eid}/print.pdf?form=inpatient")).replace("\n", " ")
    assert "Giường 7 (" in record.partition("Giường:")[2].partition("16.")[0]
    assert "Buồng 3" in record.partition("Buồng:")[2][:30]
    assert "Khoa Ngoại (hành trình)" in record.partition("16. Chuyển khoa")[2][:300]
    publicity = _text(j.fetch(f"/ui/encounters/{eid}/print.pdf?form=publicity"))
    line = next(x for x in publicity.splitlines() if "Paracetamol" in x)
    assert line.split()[-1] == "3", line            # the nurse's 3 viên, not the 2 a day prescribed
    paper = _text(j.fetch(f"/ui/encounters/{eid}/print.pdf?form=discharge"))
    assert "GIẤY RA VIỆN" in paper.upper() and "Trịnh Văn Hành".upper() in paper.upper()
