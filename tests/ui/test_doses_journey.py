"""The nurse's doses in the browser: an inpatient order of four doses a day, the nurse opens the stay's
Thuốc dùng trong ngày from the visit page, records one dose refused (with its reason) and one given with a
dose of her own, sees each state, finds the stay in her list of doses due and late, and the publicity sheet
(phiếu công khai thuốc) prints what she gave — not what was prescribed."""
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


def test_the_nurse_records_doses_and_the_publicity_sheet_prints_them(journey, world):  # noqa: ANN001
    system = Repository(world["store"], Actor.system())
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(system)
    dept = system.create("Location", {
        "resourceType": "Location", "status": "active", "name": "Khoa Nhi (liều thuốc)",
        "managingOrganization": {"reference": f"Organization/{fac.organization_id}"}}).res_id
    form = registration.PatientForm.from_mapping({"cccd": "038172009871", "name": "Đinh Thị Liều",
                                                  "birth_date": "14/03/1972", "gender": "female"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    tz = world["store"].config.timezone
    written = now(tz) - timedelta(days=2)
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", dept, "Viêm phổi", fac, when=written)
    system.create("MedicationRequest", {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": "Cefuroxim 750mg"}, "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{eid}"}, "authoredOn": written.isoformat(),
        "dosageInstruction": [{"text": "Tiêm tĩnh mạch 1 lọ x 4 lần/ngày", "route": {"text": "Tiêm tĩnh mạch"},
                               "timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d",
                                                     "boundsDuration": {"value": 5, "unit": "ngày"}}},
                               "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "lọ"}}]}]})

    j = journey
    j.login("dieuduong")
    assert j.page.locator("#doses-due-link").count() == 1
    j.go(f"/ui/encounters/{eid}")
    j.page.click("#doses-link")
    j.page.wait_for_url(re.compile(rf".*/ui/encounters/{eid}/doses$"))
    rows = j.page.locator("#doses tbody tr")
    assert rows.count() == 4
    assert [x.strip()[:5] for x in j.page.locator("#doses tbody tr td:first-child").all_inner_texts()] == \
        ["08:00", "12:00", "16:00", "20:00"]
    j.shot("doses-of-the-day")

    first, second = rows.nth(0), rows.nth(1)
    first.locator("select[name=outcome]").select_option("refused")
    first.locator("button").click()                       # no reason: refused, said beside the field
    j.page.wait_for_load_state()
    assert any("Bắt buộc" in e or "bắt buộc" in e for e in j.errors()), j.errors()
    rows.nth(0).locator("select[name=outcome]").select_option("refused")
    rows.nth(0).locator("input[name=reason]").fill("Người bệnh sợ tiêm, từ chối")
    rows.nth(0).locator("button").click()
    j.page.wait_for_url(re.compile(r".*saved=1.*"))
    second = j.page.locator("#doses tbody tr").nth(1)
    second.locator("input[name=dose]").fill("2")
    second.locator("button").click()
    j.page.wait_for_url(re.compile(r".*saved=1.*"))
    states = j.page.locator("#doses tbody tr").evaluate_all("rs => rs.map(r => r.dataset.state)")
    assert states[:2] == ["refused", "given"]
    assert "Người bệnh sợ tiêm, từ chối" in j.page.inner_text("#doses")
    j.shot("recorded")

    j.go("/ui/doses")
    assert "Đinh Thị Liều" in j.page.inner_text("#doses-due")    # yesterday's doses were never recorded
    pdf = j.fetch(f"/ui/encounters/{eid}/print.pdf?form=publicity")
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        text = "\n".join(p.extract_text() or "" for p in doc.pages)
    line = next(x for x in text.splitlines() if "Cefuroxim" in x)
    # Only today's 2 lọ given (the refused dose counts nothing): as prescribed it would be 4 a day.
    assert line.split()[-2:] == ["2", "2"] and "4" not in line.split()[1:], line
