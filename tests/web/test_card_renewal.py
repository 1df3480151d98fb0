"""A returning patient's BHYT card, renewed for the year or replaced by a new number, is recorded from
the patient page: the desk could only register new patients, so the bill of a returning patient read
the expired card and the claim was refused. The page shows the card the bill uses and says when it
has expired; the new card becomes the one billed, the desk's search finds the patient by the new
number, the same card sent twice is written once, a card without its end date is refused by field
with nothing written, and a role that may not record cards is refused. Both databases, the real app
in-process with a real login."""
from __future__ import annotations

import re
from datetime import date

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.billing import coverage
from benhan.clinical import registration
from benhan.clinical.registration import PatientForm
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.forms.test_results_web import PASSWORD, _login

OLD, NEW = "DN4790123456731", "GD4797912345678"


def _coverages(repo: Repository, pid: str) -> int:
    return len(repo.search_all("Coverage", [("beneficiary", f"Patient/{pid}")]))


def _post(client: TestClient, pid: str, **values: str):  # noqa: ANN202
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"/ui/patients/{pid}").text).group(1)
    return client.post(f"/ui/patients/{pid}/card", data={"csrf": csrf, **values}, follow_redirects=False)


def test_the_desk_records_the_new_card_and_the_bill_uses_it(store):  # noqa: ANN001
    repo = Repository(store, Actor.system())
    pid = registration.register(repo, PatientForm.from_mapping({
        "cccd": "001060012345", "name": "Nguyễn Văn Tư", "birth_date": "05/05/1960", "gender": "male",
        "bhyt": OLD, "bhyt_from": "01/01/2025", "bhyt_to": "31/12/2025", "bhyt_place": "01001"}),
        Actor.system(), date(2025, 3, 1), None).patient_id
    users.create_user(store, "tiepdon.lan", "Đỗ Thị Lan", ["registrar"], password=PASSWORD)
    users.create_user(store, "thungan.ha", "Lê Thu Hà", ["cashier"], password=PASSWORD)
    app = create_app(store.config, store)
    with TestClient(app, raise_server_exceptions=False) as desk, \
            TestClient(app, raise_server_exceptions=False) as cashier:
        _login(desk, "tiepdon.lan")
        page = desk.get(f"/ui/patients/{pid}").text
        assert f'data-card="{OLD}"' in page and "31/12/2025" in page and "data-card-expired" in page

        refused = _post(desk, pid, bhyt=NEW, bhyt_from="01/01/2026")
        assert refused.status_code == 400 and 'aria-describedby="e-bhyt_to"' in refused.text
        assert f'value="{NEW}"' in refused.text                   # nothing typed is lost
        assert _coverages(repo, pid) == 1

        saved = _post(desk, pid, bhyt=NEW, bhyt_from="01/01/2026", bhyt_to="31/12/2099", bhyt_place="01002")
        assert saved.status_code == 303 and saved.headers["location"].endswith(f"/ui/patients/{pid}?card=1")
        page = desk.get(saved.headers["location"]).text
        assert "Đã ghi thẻ BHYT mới." in page and f'data-card="{NEW}"' in page and "data-card-expired" not in page
        assert _post(desk, pid, bhyt=NEW, bhyt_from="01/01/2026", bhyt_to="31/12/2099",
                     bhyt_place="01002").status_code == 303
        assert _coverages(repo, pid) == 2                          # the same card again: written once
        # Its end date corrected (the same start): the corrected one is the card in use, for the page and the bill.
        assert _post(desk, pid, bhyt=NEW, bhyt_from="01/01/2026", bhyt_to="30/06/2099",
                     bhyt_place="01002").status_code == 303
        assert "30/06/2099" in desk.get(f"/ui/patients/{pid}").text and _coverages(repo, pid) == 3

        _login(cashier, "thungan.ha")                              # reads cards (for the bill), records none
        csrf = re.search(r'name="csrf" value="([^"]+)"', cashier.get("/ui/cashier").text).group(1)
        assert cashier.post(f"/ui/patients/{pid}/card", data={"csrf": csrf, "bhyt": OLD, "bhyt_to": "31/12/2099"},
                            follow_redirects=False).status_code == 403
        assert _coverages(repo, pid) == 3

    patient = repo.read("Patient", pid).json()
    card = coverage.card_of(repo, patient, coverage.rules_for(repo))
    assert card is not None and (card.number, card.valid_to, card.registered_facility) == (NEW, date(2099, 6, 30), "01002")
    assert [i["value"] for i in patient["identifier"] if i["system"].endswith("bhyt")] == [NEW]
    assert [p["id"] for p in registration.search(repo, NEW)] == [pid]
    assert registration.search(repo, OLD) == []
