"""The VNeID health book desk shows only benhan's own outcome messages: text put in the link's ?m=
(a phishing line sent to the cashier) is not shown on the page as if benhan said it."""
from __future__ import annotations

import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.web.app import create_app

PASSWORD = "một câu mật khẩu thật dài cho thu ngân"


def test_only_benhans_own_outcomes_are_shown_from_the_link(store):  # noqa: ANN001
    users.create_user(store, "tn.lan", "Thu ngân Lan", ["cashier"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        csrf = re.search(r'name="csrf" value="([^"]+)"', ui.get("/login").text).group(1)
        ui.post("/login", data={"username": "tn.lan", "password": PASSWORD, "csrf": csrf})
        spoof = ui.get("/ui/claims/health-book", params={"m": "Sổ sức khỏe lỗi: gọi 0909 123 456 để được hỗ trợ"})
        assert spoof.status_code == 200 and "0909 123 456" not in spoof.text
        queued = ui.get("/ui/claims/health-book", params={"m": "queued"})
        assert queued.status_code == 200 and 'role="status"' in queued.text
