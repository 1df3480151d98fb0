"""$hosobenhan over a period at the edges of the calendar: from the first day there is (0001-01-01,
"everything") to the last (9999-12-31) is every finished episode, not a 500."""
from __future__ import annotations

from datetime import date

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical.load_demo import load_demo
from benhan.exchange.hosobenhan import export
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.auth_helpers import token_for


def test_a_period_from_the_first_day_to_the_last_is_every_finished_episode(store):  # noqa: ANN001
    load_demo(store, patients=2)
    repo = Repository(store, Actor.system("test"))
    finished = {e.json()["id"] for e in repo.search_type("Encounter", [("status", "finished"), ("_count", "1000")]).matches}
    assert finished
    everything = export.export_period(repo, date.min, date.max, "json")
    assert set(everything.encounters) == finished
    doctor, _ = users.create_user(store, "bs.bien", "Bác sĩ Biên", ["doctor"], password="mật-khẩu-rất-dài-2026")
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        r = c.get("/fhir/$hosobenhan", params={"from": "0001-01-01", "to": "9999-12-31", "format": "json"},
                  headers=token_for(store, "user/*.cruds", user_pk=doctor.pk))
    assert r.status_code == 200, r.text[:500]
    assert len(r.json()["DanhSachHoSoBenhAn"]) == len(finished)
