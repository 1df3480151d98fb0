"""The laboratory worklist a page at a time. Orders nobody resulted or cancelled stay active; before,
the page showed the 200 oldest and counted only those, so once they piled up the orders of the day
were nowhere on it. Now it says how many are waiting, pages through every one of them (oldest first),
finds a patient's orders by name or CCCD, and keeps a result form sent back with an error in view
whichever page its order was on. Both databases."""
from __future__ import annotations

import html
import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import laboratory, orders
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.forms import seed
from tests.forms.test_results_web import PASSWORD, _login

OLD = laboratory.PAGE + 7


def _order_ids(page: str) -> list[str]:
    return re.findall(r'<div class="order" id="o-([^"]+)">', page)


def _next(page: str) -> str | None:
    found = re.search(r'<a id="next" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def test_every_waiting_order_is_counted_and_reachable_and_a_patient_is_found(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    backlog = [orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "test:14749-6"}) for _ in range(OLD)]
    for n, order_id in enumerate(backlog):            # months old, never resulted nor cancelled
        order = repo.read("ServiceRequest", order_id).json()
        order["authoredOn"] = f"2026-06-01T{8 + n // 60:02d}:{n % 60:02d}:00+07:00"
        repo.update("ServiceRequest", order_id, order)
    binh = repo.create("Patient", {"resourceType": "Patient", "gender": "male", "birthDate": "1960-02-01",
                                   "name": [{"text": "Trần Văn Bình", "family": "Trần", "given": ["Văn", "Bình"]}]})
    visit = repo.create("Encounter", {"resourceType": "Encounter", "status": "in-progress",
                                      "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                                "code": "AMB"},
                                      "subject": {"reference": f"Patient/{binh.res_id}"}})
    today = orders.place(repo, seed.DOCTOR, repo.read("Encounter", visit.res_id).json(), "lab", {"order_lab": "test:14749-6"})
    users.create_user(store, "ktv.trang", "Mạc Thị Huyền Trang", ["lab_technician"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as lab:
        _login(lab, "ktv.trang")
        first = lab.get("/ui/lab")
        assert first.status_code == 200
        assert f"Chỉ định đang chờ kết quả: {OLD + 1}" in first.text
        assert f"Đang hiện 1–{laboratory.PAGE} trên {OLD + 1}" in first.text
        shown = _order_ids(first.text)
        assert len(shown) == laboratory.PAGE and today not in shown

        # Page after page, oldest first: each waiting order once, the newest (today's) last.
        seen, page, link = list(shown), first, _next(first.text)
        while link:
            page = lab.get(link)
            assert page.status_code == 200
            seen += _order_ids(page.text)
            link = _next(page.text)
        assert seen == [*backlog, today]
        assert f"Đang hiện {laboratory.PAGE + 1}–{OLD + 1} trên {OLD + 1}" in page.text
        assert 'href="/ui/lab"' in page.text                      # back to the longest waiting

        # The patient at the counter, by name without accents or by nothing that matches.
        found = lab.get("/ui/lab", params={"q": "tran van binh"})
        assert _order_ids(found.text) == [today] and "Chỉ định đang chờ kết quả: 1" in found.text
        assert _order_ids(lab.get("/ui/lab", params={"q": "Không Ai Cả"}).text) == []
        by_cccd = lab.get("/ui/lab", params={"q": seed.V["cccd"]})
        assert len(_order_ids(by_cccd.text)) == laboratory.PAGE and _next(by_cccd.text)

        # A page position this server never gave starts over instead of failing.
        odd = lab.get("/ui/lab", params={"after": "không-phải-vị-trí"})
        assert odd.status_code == 200 and _order_ids(odd.text) == shown

        # A result refused on an order of the last page: the form comes back with it in view.
        csrf = re.search(r'name="csrf" value="([^"]+)"', first.text).group(1)
        field = orders.result_field("14749-6")
        bad = lab.post(f"/ui/lab/{today}/results", data={"csrf": csrf, field: "nhiều"})
        assert bad.status_code == 400 and "Traceback" not in bad.text
        block = re.search(rf'<div class="order" id="o-{today}">.*?class="results".*?</form>', bad.text, re.S).group(0)
        assert 'value="nhiều"' in block
