"""Accounts at setup: a new installation's first administrator (one-time password printed once by
`benhan serve`), and the demo facility's staff, one per role."""
from __future__ import annotations

import re

from benhan.auth import mfa, setup, users
from benhan.auth.roles import ROLES
from tests.server_process import ServerProcess


def test_serve_on_a_new_database_prints_the_first_admins_one_time_password_once(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with ServerProcess(data) as server:
        said = server.log()
        password = re.search(r"first administrator: user 'admin', one-time password (\S+)", said).group(1)
        import httpx
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as browser:
            page = browser.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            r = browser.post("/login", data={"username": "admin", "password": password, "csrf": csrf, "next": "/"})
            assert r.status_code == 303
            # A one-time password: replaced before anything else.
            assert browser.get("/").headers["location"] == "/account/password"
        server.stop()
    with ServerProcess(data) as again:
        assert "first administrator" not in again.log().split("is running")[-2]


def test_the_demo_staff_cover_every_role_and_each_can_log_in(store):
    made = setup.demo_staff(store)
    assert {c.role for c in made} == set(ROLES)
    for c in made:
        result = users.authenticate(store, c.username, c.password)
        if c.role == "facility_admin":
            assert result.mfa_required and c.totp_secret
            users.second_step(store, result.user, mfa.current_code(c.totp_secret))
        else:
            assert not result.mfa_required
    assert setup.demo_staff(store) == []          # a second start creates nothing new
