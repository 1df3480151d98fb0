"""GET /health for a monitor: "ok", or "degraded" when a check of `benhan doctor` fails — nothing
else about the installation; /ui/admin/health shows the checks with their evidence and fixes to the
facility admin and the director (Vietnamese and English), and to no one else."""
from __future__ import annotations

import os

import pytest
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth import mfa, users
from benhan.store.store import Store
from benhan.web.app import create_app
from tests.web.test_backup_page import PASSWORD, login


@pytest.fixture
def site(tmp_path):  # noqa: ANN001, ANN201
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data"))
    secret = mfa.new_secret()
    users.create_user(store, "quantri", "Ngô Văn Quản", ["facility_admin"], password=PASSWORD, mfa_secret=secret)
    users.create_user(store, "giamdoc", "Trần Thị Lan", ["director"], password=PASSWORD)
    users.create_user(store, "bacsi", "Lê Văn Hùng", ["doctor"], password=PASSWORD)
    app = create_app(store.config, store)
    with TestClient(app):
        yield store, app, secret
    store.close()


def test_health_for_a_monitor_says_ok_or_degraded_and_nothing_more(site) -> None:  # noqa: ANN001
    store, app, _ = site
    anonymous = TestClient(app)
    r = anonymous.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "audit": {"ok": True, "waiting": 0}}
    os.chmod(store.config.data_dir / "benhan.sqlite", 0o644)     # a check now fails
    app.state.health_cache = None                                # (the page keeps a result a minute)
    r = anonymous.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "degraded"
    assert set(r.json()) == {"status", "audit"} and "benhan.sqlite" not in r.text


def test_the_admin_and_the_director_see_the_checks_and_fixes(site) -> None:  # noqa: ANN001
    store, app, secret = site
    admin = login(app, "quantri", secret)
    assert 'href="/ui/admin/health"' in admin.get("/").text          # linked from the home page
    assert 'href="/ui/admin/health"' not in login(app, "bacsi").get("/").text
    page = admin.get("/ui/admin/health")
    assert page.status_code == 200
    assert "Tình trạng hệ thống" in page.text and "Cơ sở dữ liệu: toàn vẹn" in page.text
    assert 'data-check="backup.age" class="status-warn"' in page.text          # never backed up
    assert "benhan backup" in page.text and "Cách khắc phục" in page.text
    os.chmod(store.config.data_dir / "benhan.sqlite", 0o644)
    page = admin.get("/ui/admin/health?refresh=1").text
    assert 'data-check="permissions" class="status-fail"' in page and "chmod 600" in page
    director = login(app, "giamdoc", lang="en")
    page = director.get("/ui/admin/health").text
    assert "System health" in page and "Database integrity" in page and "Some checks fail" in page
    assert login(app, "bacsi").get("/ui/admin/health").status_code == 403
    anonymous = TestClient(app, follow_redirects=False).get("/ui/admin/health")
    assert anonymous.status_code in (302, 303, 401) and "Cơ sở dữ liệu" not in anonymous.text
