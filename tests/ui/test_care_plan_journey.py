"""The nursing care plan in the browser: on an inpatient stay the nurse writes her assessment (nhận
định) and two activities with their frequency, is refused (translated, beside the field) a frequency
without its activity, marks one activity done, and the nursing sheet (phiếu chăm sóc, 09/BV-01) prints
the assessment in Theo dõi diễn biến, the plan and the done mark in Thực hiện y lệnh/chăm sóc, and
her name in Ký tên — each by position, in its column; the activity not done has no done row."""
from __future__ import annotations

import re
from datetime import date, timedelta

from benhan.auth.actor import Actor
from benhan.clinical import registration, visits
from benhan.clinical.common import now
from benhan.documents.forms.nursing_sheet import COLUMNS
from benhan.store.repository import Repository
from tests.forms.sheet_checks import column_of, find, one, row_words

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng", roles=("doctor",))
ASSESSMENT = "Da niêm hồng nhạt, đau vết mổ nhiều"
TURN = "Xoay trở chống loét"
WOUND = "Thay băng vết mổ"


def test_the_nurse_plans_care_marks_it_done_and_the_nursing_sheet_prints_it(journey, world):  # noqa: ANN001
    system = Repository(world["store"], Actor.system())
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(system)
    dept = system.create("Location", {"resourceType": "Location", "status": "active", "name": "Khoa Ngoại (chăm sóc)",
                                      "managingOrganization": {"reference": f"Organization/{fac.organization_id}"}}).res_id
    form = registration.PatientForm.from_mapping({"cccd": "038168002424", "name": "Phan Thị Chăm",
                                                  "birth_date": "05/05/1968", "gender": "female"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", dept, "Sau mổ ruột thừa", fac,
                            when=now(world["store"].config.timezone) - timedelta(days=1))

    j = journey
    j.login("dieuduong")
    j.go(f"/ui/encounters/{eid}")
    assert "Chưa có kế hoạch chăm sóc" in j.page.inner_text("#care-plan")
    j.page.fill("#f-cp_assessment", ASSESSMENT)
    j.page.fill("#f-cp_frequency_1", "2 giờ/lần")
    j.page.click("#care-plan-form button")
    j.page.wait_for_load_state()
    assert "saved=" not in j.page.url and j.errors()      # refused: the frequency has no activity
    j.page.fill("#f-cp_activity_1", TURN)
    j.page.fill("#f-cp_activity_2", WOUND)
    j.page.fill("#f-cp_frequency_2", "1 lần/ngày")
    j.page.click("#care-plan-form button")
    j.page.wait_for_url(re.compile(r".*saved=care-plan.*"))
    assert ASSESSMENT in j.page.inner_text("#care-assessment")
    rows = j.page.locator("#care-activities tbody tr")
    assert rows.count() == 2 and "2 giờ/lần" in rows.nth(0).inner_text() and "1 lần/ngày" in rows.nth(1).inner_text()
    rows.nth(1).locator("button.mark-done").click()
    j.page.wait_for_url(re.compile(r".*saved=care-plan.*"))
    done = j.page.locator("#care-activities tbody tr").nth(1).locator(".done").all_inner_texts()
    assert len(done) == 1 and "Nguyễn Thị Mai" in done[0]
    assert j.page.locator("#care-activities tbody tr").nth(0).locator(".done").count() == 0
    j.shot("care-plan")

    pdf = j.fetch(f"/ui/encounters/{eid}/print.pdf?form=nursing")
    page, x, top = one(pdf, "Nhận định: Da niêm hồng nhạt")
    assert column_of(COLUMNS, x) == 2
    ppage, px, ptop = one(pdf, "Kế hoạch chăm sóc:")
    assert (ppage, column_of(COLUMNS, px)) == (page, 3) and abs(ptop - top) < 2
    assert column_of(COLUMNS, one(pdf, f"- {TURN} (2 giờ/lần)")[1]) == 3
    assert column_of(COLUMNS, one(pdf, f"- {WOUND} (1 lần/ngày)")[1]) == 3
    dpage, dx, dtop = one(pdf, f"Thực hiện: {WOUND}")
    assert column_of(COLUMNS, dx) == 3 and (dpage, dtop) > (page, top)
    assert not find(pdf, f"Thực hiện: {TURN}")
    signed = {column_of(COLUMNS, w["x0"]) for w in row_words(pdf, dpage, dtop) if w["text"] in ("Nguyễn", "Mai")}
    assert signed == {4}
