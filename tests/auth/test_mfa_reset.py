"""An admin who lost their phone: `benhan user reset --two-step` stops the old key and sends them to
enrol a new one at the next login."""
from __future__ import annotations

from benhan import config
from benhan.auth import mfa, users
from benhan.store.store import Store
from tests.server_process import run_benhan


def test_an_operator_resets_a_lost_two_step_key(tmp_path):
    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        secret = mfa.new_secret()
        _, one_time = users.create_user(store, "quantri2", "Ngô Văn Quản", ["facility_admin"], mfa_secret=secret)
        assert users.find_user(store, "quantri2").mfa_enabled
        assert users.authenticate(store, "quantri2", one_time).mfa_required
    finally:
        store.close()

    done = run_benhan("user", "reset", "quantri2", "--two-step", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert "two-step login reset" in done.stdout

    store = Store.open(config.load(env={}, data_dir=data))
    try:
        admin = users.find_user(store, "quantri2")
        assert not admin.mfa_enabled
        login = users.authenticate(store, "quantri2", one_time)
        # The password still works; the old key is gone, and an admin must enrol a new one first.
        assert (login.mfa_required, login.mfa_enrolment_required) == (False, True)
    finally:
        store.close()
