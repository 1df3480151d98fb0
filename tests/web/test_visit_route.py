"""The desk asks where an insured patient comes from when it opens a visit (what the BHYT fund pays
depends on it, docs/billing.md): the chosen route is kept on the Encounter, not asking keeps nothing
(the card decides), and a made-up route is a translated message with nothing opened. Both databases,
the real app in-process with a real login."""
from __future__ import annotations

import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import registration, visits
from benhan.clinical.demo import facility_bundle
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.signing.test_documents import PASSWORD, TODAY


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _visits(repo: Repository, pid: str) -> list[dict]:
    return [m.json() for m in repo.search_type("Encounter", [("subject", f"Patient/{pid}")]).matches]


def test_the_desk_records_the_bhyt_route_of_a_visit(store):  # noqa: ANN001
    system = Repository(store, Actor.system())
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    users.create_user(store, "tiepdon.route", "Phạm Thị Lan", ["registrar"], password=PASSWORD)
    form = registration.PatientForm.from_mapping({"cccd": "001185009877", "name": "Đỗ Thị Hạnh",
                                                  "birth_date": "02/03/1985", "gender": "female"})
    pid = registration.register(system, form, Actor.system(), TODAY, visits.facility(system).organization_id).patient_id
    room = visits.locations(system)[0][0]
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        c.post("/login", data={"username": "tiepdon.route", "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
        page = c.get(f"/ui/patients/{pid}").text
        assert 'name="route"' in page and "Có giấy chuyển tuyến" in page
        bad = c.post(f"/ui/patients/{pid}/visits", data={"csrf": _csrf(page), "visit_type": "kham-benh",
                                                          "location": room, "reason": "Ho", "route": "bay-ra"})
        assert bad.status_code == 400 and "Encounter" not in bad.text
        assert _visits(system, pid) == []
        for route in ("chuyen-tuyen", ""):
            c.post(f"/ui/patients/{pid}/visits", data={"csrf": _csrf(page), "visit_type": "kham-benh",
                                                       "location": room, "reason": "Ho", "route": route})
    kept = sorted((next((e["valueCode"] for e in enc.get("extension", []) if e["url"] == visits.BHYT_ROUTE_EXT), "")
                   for enc in _visits(system, pid)))
    assert kept == ["", "chuyen-tuyen"]
