"""A long inpatient stay: the chart shows the latest progress and nursing notes and offers the
earlier ones one click away, so the page stays light on an old PC; the 01/BV1 printout keeps all."""
from __future__ import annotations

from datetime import date

from benhan.auth.actor import Actor
from benhan.clinical import notes, registration, visits
from benhan.store.repository import Repository
from benhan.web.ui.visit import RECENT_NOTES

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng", roles=("doctor",))
DAYS = RECENT_NOTES + 3


def test_a_long_stay_shows_the_latest_notes_and_the_earlier_ones_on_request(journey, world):  # noqa: ANN001
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(repo)
    form = registration.PatientForm.from_mapping({"cccd": "001190555001", "name": "Đỗ Thị Ngân",
                                                  "birth_date": "05/06/1990", "gender": "female"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", visits.locations(repo)[0][0], "Sốt kéo dài", fac)
    for day in range(1, DAYS + 1):
        notes.add(repo, DOCTOR, repo.read("Encounter", eid).json(), "progress", f"Ngày {day}: diễn biến ổn", "")

    j = journey
    j.login("bacsi")
    j.go(f"/ui/encounters/{eid}")
    rows = j.page.locator("#notes tbody tr").all_inner_texts()
    assert len(rows) == RECENT_NOTES
    assert f"Ngày {DAYS}:" in rows[-1] and "Ngày 4:" in rows[0]       # the latest, oldest first
    assert f"Xem thêm {DAYS - RECENT_NOTES} phiếu trước đó" in j.page.inner_text("#notes")
    j.shot("latest-notes")
    j.page.click("#notes a[href='?notes=all#notes']")
    assert "Xem thêm" not in j.page.inner_text("#notes")
    rows = j.page.locator("#notes tbody tr").all_inner_texts()
    assert len(rows) == DAYS and "Ngày 1:" in rows[0]
    j.shot("all-notes")
