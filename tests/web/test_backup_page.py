"""Issue 17: the facility admin sees the last backup, the last restore test and the second place on
/admin/backup (and the recovery key once); every staff page's footer warns while the backups are
late, failed or never restore-tested — in Vietnamese and English."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth import mfa, users
from benhan.store import backup_crypto, backup_schedule as bs
from benhan.store.store import Store
from benhan.web.app import create_app

PASSWORD = "một câu mật khẩu thật dài"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(app, username: str, secret: str | None = None, lang: str = "vi") -> TestClient:  # noqa: ANN001
    c = TestClient(app, raise_server_exceptions=False)
    c.cookies.set("lang", lang)
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": _csrf(page.text)},
               follow_redirects=False)
    if secret:
        page = c.get(r.headers["location"])
        c.post("/login/mfa", data={"csrf": _csrf(page.text), "code": mfa.current_code(secret)})
    return c


@pytest.fixture
def site(tmp_path):  # noqa: ANN001, ANN201
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data", backup_copy_dir=str(tmp_path / "usb")))
    secret = mfa.new_secret()
    users.create_user(store, "quantri", "Ngô Văn Quản", ["facility_admin"], password=PASSWORD, mfa_secret=secret)
    users.create_user(store, "bacsi", "Lê Văn Hùng", ["doctor"], password=PASSWORD)
    app = create_app(store.config, store)
    with TestClient(app):
        yield store, app, secret
    store.close()


def test_footer_warns_until_a_tested_backup_exists_and_the_admin_page_shows_it(site):
    store, app, secret = site
    doctor = login(app, "bacsi")
    page = doctor.get("/").text
    assert "Bản sao lưu chưa từng được thử khôi phục" in page and "Sao lưu tự động bị trễ" in page
    doctor_en = login(app, "bacsi", lang="en")
    assert "The backups have never been restore-tested" in doctor_en.get("/").text
    assert doctor.get("/admin/backup").status_code == 403

    now = dt.datetime.now(dt.timezone.utc)
    assert "daily backup" in bs.run_round(store.db, store.config.data_dir, store.config.backups,
                                          bs.Policy.from_config(store.config), now)
    page = doctor.get("/").text
    assert "backup-warning" not in page

    admin = login(app, "quantri", secret)
    page = admin.get("/admin/backup").text
    key = re.search(r'id="recovery-key-text">([^<]+)<', page).group(1)
    assert backup_crypto.parse_recovery_key(key)
    assert "không thấy thư mục" in page and "usb" in page           # the USB disk is not plugged in
    assert re.search(r'id="last-restore-test">[^<]*· tốt', page)
    r = admin.post("/admin/backup/recovery-key-saved", data={"csrf": _csrf(page)}, follow_redirects=False)
    assert r.status_code == 303
    page = admin.get("/admin/backup").text
    assert "recovery-key-text" not in page and key not in page
    assert not (store.config.data_dir / backup_crypto.PENDING_RECOVERY_FILE).exists()
    # No CSRF token: refused, not a 500.
    assert admin.post("/admin/backup/recovery-key-saved", data={}).status_code in (400, 403)
