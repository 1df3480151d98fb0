"""The review page at /admin/sync: a doctor sees the conflict waiting at this node and resolves it
with one button; the choice becomes a new version that the next round takes to the hub."""
from __future__ import annotations

import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.store import sync_tables as st
from benhan.web.app import create_app
from tests import factories

PASSWORD = "một câu mật khẩu thật dài"


def _login(client: TestClient, username: str) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/admin/sync").text).group(1)


def test_a_doctor_resolves_a_conflict_from_the_review_page(hub, make_node):
    node = make_node()
    pid = node.repo.create("Patient", factories.patient()).res_id
    node.round()
    node.repo.update("Patient", pid, {**factories.patient(), "id": pid, "gender": "female"})
    hub.repo.update("Patient", pid, {**factories.patient(), "id": pid, "gender": "other"})
    node.round()
    users.create_user(node.store, "bs.lan", "Bác sĩ Lan", ["doctor"], password=PASSWORD)
    with TestClient(create_app(node.store.config, node.store)) as browser:
        csrf = _login(browser, "bs.lan")
        page = browser.get("/admin/sync")
        assert page.status_code == 200 and f"Patient/{pid}" in page.text
        with node.store.db.read() as conn:
            [c] = st.conflicts(conn)
        # Every page of the node says where sync stands.
        assert "xung đột 1" in browser.get("/").text
        r = browser.post(f"/admin/sync/conflict/{c.pk}", data={"csrf": csrf, "choice": "theirs"},
                         follow_redirects=False)
        assert r.status_code == 303
        assert browser.get("/sync/status").json()["conflicts"] == 0
    node.round()
    assert hub.repo.read("Patient", pid).json()["gender"] == "female"
    with hub.store.db.read() as conn:
        assert st.conflicts(conn) == []
