"""The nurse's due list shows vital-signs rounds beside the doses, without a browser (the real app in-process,
a real SQLite store, real logins): a cấp I stay whose last vital signs are older than the facility's cấp I
interval is listed overdue, a cấp III stay measured an hour ago is not; the nurse records the vital signs on
the visit page and the round leaves the list."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from benhan.auth import users
from benhan.clinical import notes
from benhan.clinical.common import now
from tests.ui import chart_world
from tests.ui.test_role_pages import PASSWORD, Client


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN001, ANN201
    from benhan import config
    from benhan.auth.actor import Actor
    from benhan.clinical import vitals
    from benhan.clinical.demo import facility_bundle
    from benhan.store.bundles import process_bundle
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    from benhan.web.app import create_app
    # The facility's setting: cấp I every 4 hours (not the default 3).
    store = Store.open(config.load(env={"BENHAN_VITALS_HOURS_CARE_1": "4"},
                                   data_dir=tmp_path_factory.mktemp("rounds") / "data"))
    process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
    w = chart_world.build(store)
    repo = Repository(store, Actor.system())
    clock = now(store.config.timezone)
    stays = {}
    for level, measured in (("1", clock - timedelta(hours=5, minutes=30)), ("3", clock - timedelta(hours=1))):
        eid = repo.create("Encounter", chart_world.encounter(w["patient"], "noi-tru", clock - timedelta(days=2))).res_id
        repo.create("ClinicalImpression", {
            "resourceType": "ClinicalImpression", "status": "completed",
            "code": {"coding": [{"system": notes.NOTE_SYSTEM, "code": "progress"}]},
            "subject": {"reference": f"Patient/{w['patient']}"}, "encounter": {"reference": f"Encounter/{eid}"},
            "date": (clock - timedelta(days=1)).isoformat(), "summary": "Ổn định",
            "extension": [{"url": notes.CARE_LEVEL_EXT,
                           "valueCoding": {"system": notes.CARE_LEVEL_SYSTEM, "code": level}}]})
        vitals.record(repo, Actor.system(), w["patient"], eid, {"pulse": "80"}, measured.isoformat())
        stays[level] = eid
    app = create_app(store.config, store)
    users.create_user(store, "dieuduong", "Nguyễn Thị Mai", ["nurse"], password=PASSWORD)
    nurse = Client(app, "dieuduong", "nurse", None)
    yield {"stays": stays, "nurse": nurse, "clock": clock}
    nurse.http.close()
    store.close()


def rounds_listed(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-encounter="([^"]+)" data-state="([^"]+)" class="round-', html)


def test_the_due_list_shows_the_overdue_round_until_it_is_taken(world):  # noqa: ANN001
    nurse, stays = world["nurse"], world["stays"]
    due = nurse.http.get("/ui/doses")
    assert due.status_code == 200, due.text[:500]
    assert "Đo dấu hiệu sinh tồn đến giờ và quá giờ" in due.text
    # cấp I every 4 h (the setting): measured 5 h 30 ago, due 1 h 30 ago, overdue; cấp III measured 1 h ago.
    assert rounds_listed(due.text) == [(stays["1"], "overdue")]
    assert "Chăm sóc cấp I" in due.text and "Quá giờ" in due.text
    assert f'href="/ui/encounters/{stays["1"]}"' in due.text
    taken = nurse.post(f"/ui/encounters/{stays['1']}/vitals", {"pulse": "84", "temperature": "37.2"})
    assert taken.status_code == 303, taken.text[:500]
    after = nurse.http.get("/ui/doses")
    assert rounds_listed(after.text) == []
    assert "Không có lượt đo dấu hiệu sinh tồn nào đến giờ hay quá giờ." in after.text


def test_the_nurse_records_intake_and_output_and_the_card_shows_the_days_balance(world):  # noqa: ANN001
    nurse, eid = world["nurse"], world["stays"]["3"]
    # The server records each entry at its own now, on the facility's calendar: the day is read before
    # and after, so a run that crosses midnight still knows which days the entries may carry.
    day_before = datetime.now(world["clock"].tzinfo)
    visit = nurse.http.get(f"/ui/encounters/{eid}")
    assert 'id="fluids"' in visit.text and "Chưa ghi dịch vào – ra." in visit.text
    for kind, ml in (("intake", "1200"), ("urine", "700"), ("other-output", "150,5")):
        r = nurse.post(f"/ui/encounters/{eid}/fluids", {"fluid_kind": kind, "fluid_ml": ml})
        assert r.status_code == 303, r.text[:500]
    bad = nurse.post(f"/ui/encounters/{eid}/fluids", {"fluid_kind": "urine", "fluid_ml": "-3"})
    assert bad.status_code == 400 and 'id="e-fluid_ml"' in bad.text
    page = nurse.http.get(f"/ui/encounters/{eid}").text
    day_after = datetime.now(world["clock"].tzinfo)
    row = re.search(r'<tr data-day="([^"]+)"><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>'
                    r'<td>([^<]*)</td></tr>', page)
    assert row and row.group(1) in {f"{day_before:%d/%m/%Y}", f"{day_after:%d/%m/%Y}"}, row and row.groups()
    # Across midnight the three entries may fall on two days; on one day the balance is all of them.
    if day_before.date() == day_after.date():
        assert row.groups()[1:] == ("1200", "700", "150,5", "349,5"), row.groups()
    assert "e-fluid_ml" not in page
    # A fluid entry is not a vital-sign round: the list of rounds is unchanged by it.
    assert rounds_listed(nurse.http.get("/ui/doses").text) == []
