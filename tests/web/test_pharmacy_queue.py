"""The pharmacist's queue: the prescriptions waiting longest first, a page of them at a time. Past
that page it used to stop without a word (and counted only what it showed); now the heading says
there are more, and the search finds the patient at the window — by name with or without accents,
CCCD, BHYT number or phone — or a prescription by its number. Both databases."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.web.app import create_app
from benhan.web.ui import bench
from tests.forms import seed
from tests.forms.test_results_web import PASSWORD, _login

SHOWN = 3


def _numbers(page: str) -> list[str]:
    return re.findall(r'<div class="order" id="rx-([^"]+)">', page)


def test_the_queue_says_there_are_more_and_finds_the_patient_at_the_window(store, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(bench, "PHARMACY_PAGE", SHOWN)
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    binh = repo.create("Patient", {"resourceType": "Patient", "gender": "male", "birthDate": "1960-02-01",
                                   "name": [{"text": "Trần Văn Bình", "family": "Trần", "given": ["Văn", "Bình"]}]})
    written = datetime.now(timezone(timedelta(hours=7))) - timedelta(days=1)

    def prescribe(patient: str, number: str, hours: int) -> None:
        repo.create("MedicationRequest", {
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "groupIdentifier": {"value": number}, "medicationCodeableConcept": {"text": "Paracetamol 500mg"},
            "subject": {"reference": f"Patient/{patient}"},
            "authoredOn": (written + timedelta(hours=hours)).isoformat(timespec="seconds"),
            "dosageInstruction": [{"text": "Uống 1 viên khi sốt"}],
            "dispenseRequest": {"quantity": {"value": 10, "unit": "viên"}}})

    for n in range(SHOWN + 1):
        prescribe(ids["patient"], f"DON-A{n}", n)
    prescribe(binh.res_id, "DON-B", SHOWN + 2)                   # the newest: behind the others
    users.create_user(store, "duocsi.hoa", "Trần Thị Hoa", ["pharmacist"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as pharmacy:
        _login(pharmacy, "duocsi.hoa")
        queue = pharmacy.get("/ui/pharmacy")
        assert queue.status_code == 200
        assert _numbers(queue.text) == [f"DON-A{n}" for n in range(SHOWN)]
        assert f"Đơn thuốc chờ cấp phát: hơn {SHOWN}" in queue.text and 'id="more"' in queue.text

        by_name = pharmacy.get("/ui/pharmacy", params={"q": "tran van binh"})
        assert _numbers(by_name.text) == ["DON-B"] and 'id="more"' not in by_name.text
        assert "Đơn thuốc chờ cấp phát: 1" in by_name.text
        assert _numbers(pharmacy.get("/ui/pharmacy", params={"q": "DON-B"}).text) == ["DON-B"]
        assert _numbers(pharmacy.get("/ui/pharmacy", params={"q": seed.V["cccd"]}).text) == [
            f"DON-A{n}" for n in range(SHOWN)]
        nobody = pharmacy.get("/ui/pharmacy", params={"q": "Không Ai Cả"})
        assert nobody.status_code == 200 and _numbers(nobody.text) == []
