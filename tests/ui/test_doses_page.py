"""Thuốc dùng trong ngày, without a browser (the real app in-process, a real SQLite store, real logins):
the visit page links to it; the nurse sees today's scheduled doses of the stay with their state and
records one given (then shown given, the second record refused with a translated message), one held
without a reason is refused field by field; the facility's late and missed thresholds are honoured; a role that may not record is refused with a 403 page."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from benhan.auth import users
from benhan.clinical.common import now
from tests.ui import chart_world
from tests.ui.test_role_pages import PASSWORD, Client

HOURS = ["08:00", "12:00", "16:00", "20:00"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN001, ANN201
    from benhan import config
    from benhan.auth.actor import Actor
    from benhan.clinical.demo import facility_bundle
    from benhan.store.bundles import process_bundle
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    from benhan.web.app import create_app
    # The facility's thresholds: late after 30 minutes, missed only after two days.
    store = Store.open(config.load(env={"BENHAN_DOSE_LATE_MINUTES": "30", "BENHAN_DOSE_MISSED_MINUTES": "2880"},
                                   data_dir=tmp_path_factory.mktemp("doses") / "data"))
    process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
    w = chart_world.build(store)
    repo = Repository(store, Actor.system())
    tz = store.config.timezone
    written = now(tz) - timedelta(days=2)
    eid = repo.create("Encounter", chart_world.encounter(w["patient"], "noi-tru", written)).res_id
    repo.create("MedicationRequest", {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": "Cefuroxim 750mg"}, "subject": {"reference": f"Patient/{w['patient']}"},
        "encounter": {"reference": f"Encounter/{eid}"}, "authoredOn": written.isoformat(),
        "dosageInstruction": [{"text": "Tiêm tĩnh mạch 1 lọ x 4 lần/ngày", "route": {"text": "Tiêm tĩnh mạch"},
                               "timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d",
                                                     "boundsDuration": {"value": 5, "unit": "ngày"}}},
                               "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "lọ"}}]}]})
    app = create_app(store.config, store)
    clients = {}
    for username, name, role in (("dieuduong", "Nguyễn Thị Mai", "nurse"), ("thungan", "Vũ Thị Thu", "cashier")):
        users.create_user(store, username, name, [role], password=PASSWORD)
        clients[role] = Client(app, username, role, None)
    yield {"eid": eid, "clients": clients, "today": now(tz).date()}
    for c in clients.values():
        c.http.close()
    store.close()


def rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-slot="([^"]+)" data-state="([^"]+)"', html)


def test_the_nurse_sees_the_days_doses_and_records_one(world):  # noqa: ANN001
    nurse, eid, today = world["clients"]["nurse"], world["eid"], world["today"]
    visit = nurse.http.get(f"/ui/encounters/{eid}")
    assert f'href="/ui/encounters/{eid}/doses"' in visit.text and "Thuốc dùng trong ngày" in visit.text
    page = nurse.http.get(f"/ui/encounters/{eid}/doses")
    assert page.status_code == 200, page.text[:500]
    assert "Cefuroxim 750mg" in page.text and today.strftime("%d/%m/%Y") in page.text
    slots = rows(page.text)
    assert [k.rsplit("T", 1)[1] for k, _ in slots] == HOURS
    assert all(state in ("upcoming", "due", "late", "missed") for _, state in slots)
    first = slots[0][0]
    r = nurse.post(f"/ui/encounters/{eid}/doses?day={today.isoformat()}", {"slot": first, "outcome": "given"})
    assert r.status_code == 303, r.text[:500]
    after = dict(rows(nurse.http.get(f"/ui/encounters/{eid}/doses").text))
    assert after[first] == "given"
    again = nurse.post(f"/ui/encounters/{eid}/doses", {"slot": first, "outcome": "given"})
    assert again.status_code == 409 and "Liều này đã được ghi rồi" in again.text
    held = nurse.post(f"/ui/encounters/{eid}/doses", {"slot": slots[1][0], "outcome": "held", "dose": "abc"})
    assert held.status_code == 400
    assert 'id="e-reason"' in held.text and 'id="e-dose"' in held.text
    assert dict(rows(nurse.http.get(f"/ui/encounters/{eid}/doses").text))[slots[1][0]] != "held"
    yesterday = nurse.http.get(f"/ui/encounters/{eid}/doses?day={(today - timedelta(days=1)).isoformat()}")
    # Not recorded yesterday: late, not missed — the facility's dose_missed_minutes is two days.
    assert [s for _, s in rows(yesterday.text)] == ["late"] * 4


def test_a_role_that_may_not_record_is_refused(world):  # noqa: ANN001
    cashier, eid = world["clients"]["cashier"], world["eid"]
    r = cashier.post(f"/ui/encounters/{eid}/doses", {"slot": "x", "outcome": "given"})
    assert r.status_code == 403


def test_the_nurses_home_links_to_the_doses_due_late_and_missed(world):  # noqa: ANN001
    nurse, eid = world["clients"]["nurse"], world["eid"]
    home = nurse.http.get("/")
    assert 'href="/ui/doses"' in home.text
    due = nurse.http.get("/ui/doses")
    assert due.status_code == 200, due.text[:500]
    listed = rows(due.text)
    # Four doses a day since two days ago: the last 24 hours always hold unrecorded ones.
    assert listed and all(state in ("due", "late", "missed") for _, state in listed)
    assert "Cefuroxim 750mg" in due.text and f'href="/ui/encounters/{eid}/doses?day=' in due.text
    given = {k for k, s in rows(nurse.http.get(f"/ui/encounters/{eid}/doses").text) if s == "given"}
    assert not given & {k for k, _ in listed}
    assert world["clients"]["cashier"].http.get("/ui/doses").status_code == 403
