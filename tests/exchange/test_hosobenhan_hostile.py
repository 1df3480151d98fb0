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


def test_an_episode_whose_patient_is_not_in_the_record_is_named_not_a_404_about_the_patient(store):  # noqa: ANN001
    """An Encounter imported without its Patient: the period's export stops naming that episode to fix
    (422, as for a value the schema refuses), not with a 404 about a Patient the caller never asked for."""
    load_demo(store, patients=1)
    repo = Repository(store, Actor.system("test"))
    finished = repo.search_type("Encounter", [("status", "finished"), ("_count", "1")]).matches[0].json()
    orphan = {k: v for k, v in finished.items() if k not in ("id", "meta", "identifier")}
    orphan["subject"] = {"reference": "Patient/khong-co-trong-ho-so"}
    lost = repo.create("Encounter", orphan).res_id
    doctor, _ = users.create_user(store, "bs.mo", "Bác sĩ Mơ", ["doctor"], password="mật-khẩu-rất-dài-2026")
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        headers = token_for(store, "user/*.cruds", user_pk=doctor.pk)
        period = c.get("/fhir/$hosobenhan", params={"from": "0001-01-01", "to": "9999-12-31"}, headers=headers)
        alone = c.get(f"/fhir/Encounter/{lost}/$hosobenhan", headers=headers)
    for r in (period, alone):
        assert r.status_code == 422, r.text[:300]
        issue = r.json()["issue"][0]
        assert f"Encounter/{lost}" in issue["diagnostics"] and "khong-co-trong-ho-so" in issue["diagnostics"]
