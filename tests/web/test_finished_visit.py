"""A visit that has ended takes no more vital signs, orders, prescriptions or progress notes from its
page. The page stopped offering those forms once the visit was finished, but a form sent anyway (a
page left open in another tab since the discharge, a second doctor) was written into the closed
record. Now it is refused with a translated message and nothing is written; the same forms on an open
visit are saved as before. Both databases, the real app in-process with a real login."""
from __future__ import annotations

import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.forms import seed
from tests.forms.test_results_web import PASSWORD, _login

FORMS = {
    "vitals": ("Observation", seed.VITALS),
    "orders": ("ServiceRequest", {"order_kind": "lab", "order_lab": "test:14749-6"}),
    "prescriptions": ("MedicationRequest", {"rx_drug": "x", "rx_per_day": "2", "rx_days": "3"}),
    "notes": ("ClinicalImpression", {"note_kind": "progress", "note_course": "Đỡ đau, ăn được"}),
}


def _count(repo: Repository, res_type: str, encounter_id: str) -> int:
    return repo.search_type(res_type, [("encounter", f"Encounter/{encounter_id}"), ("_total", "accurate"),
                                       ("_count", "0")]).total


def test_a_finished_visit_refuses_new_entries_and_an_open_one_takes_them(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    finished = repo.read("Encounter", ids["encounter"]).json()
    assert finished["status"] == "finished"
    open_visit = repo.create("Encounter", {**{k: v for k, v in finished.items() if k not in ("id", "meta", "period",
                                                                                           "hospitalization")},
                                           "status": "in-progress", "period": {"start": "2026-12-21T08:00:00+07:00"}})
    users.create_user(store, "bs.tra", "Đinh Công Tráng", ["doctor"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as doctor:
        _login(doctor, "bs.tra")
        page = doctor.get(f"/ui/encounters/{finished['id']}")
        assert page.status_code == 200 and 'action="/ui/encounters/' + finished["id"] + '/vitals"' not in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        for section, (res_type, values) in FORMS.items():
            before = _count(repo, res_type, finished["id"])
            sent = doctor.post(f"/ui/encounters/{finished['id']}/{section}", data={"csrf": csrf, **values},
                               follow_redirects=False)
            assert sent.status_code == 400, (section, sent.status_code)
            assert "Lượt khám đã kết thúc: không ghi thêm được mục này" in sent.text, section
            assert _count(repo, res_type, finished["id"]) == before, section
        assert repo.read("Encounter", finished["id"]).json()["status"] == "finished"

        for section in ("vitals", "orders", "notes"):
            res_type, values = FORMS[section]
            sent = doctor.post(f"/ui/encounters/{open_visit.res_id}/{section}", data={"csrf": csrf, **values},
                               follow_redirects=False)
            assert sent.status_code == 303, (section, sent.status_code, sent.text[:300])
            assert _count(repo, res_type, open_visit.res_id) >= 1, section
