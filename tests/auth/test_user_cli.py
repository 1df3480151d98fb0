"""`benhan user …` from the command line: what an operator types, what they see, what is stored."""
from __future__ import annotations

import re

import pytest

from benhan import config, errors
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.vn.identifiers import CCHN_SYSTEM
from tests.server_process import run_benhan


WEDNESDAY_10_00 = 1794970800 * 10**6    # 2026-11-18 10:00 +07:00
SUNDAY_10_00 = WEDNESDAY_10_00 + 4 * 86_400 * 10**6


def one_line_error(done, code: str) -> None:  # noqa: ANN001
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith(f"benhan: {code}: ") and len(done.stderr.strip().splitlines()) == 1


def test_an_operator_manages_an_account_from_the_command_line(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    done = run_benhan("user", "add", "dd.mai", "--name", "Nguyễn Thị Mai", "--role", "nurse",
                      "--licence", "000123/HNO-CCHN", "--hours", "Mon-Sat 07:00-17:30", *data)
    assert done.returncode == 0, done.stderr
    one_time = re.search(r"one-time password: (\S+)", done.stdout).group(1)
    store = Store.open(config.load(env={}, data_dir=tmp_path / "data"))
    try:
        mai = users.find_user(store, "dd.mai")
        assert (mai.roles, mai.access_hours, mai.must_change_password) == (("nurse",), "Mon-Sat 07:00-17:30", True)
        prac = Repository(store, Actor.system()).read("Practitioner", mai.practitioner_id).json()
        assert prac["identifier"] == [{"system": CCHN_SYSTEM, "value": "000123/HNO-CCHN"}]
        assert prac["name"][0]["text"] == "Nguyễn Thị Mai"
        roles = Repository(store, Actor.system()).search_type(
            "PractitionerRole", [("practitioner", f"Practitioner/{mai.practitioner_id}")])
        assert [r.json()["code"][0]["coding"][0]["code"] for r in roles.matches] == ["nurse"]
        # Inside her hours whatever day and hour the test runs (issue 11 item 20: it failed on Sundays).
        assert users.authenticate(store, "dd.mai", one_time, now=WEDNESDAY_10_00).user.pk == mai.pk
        with pytest.raises(errors.LoginRefused, match="outside-hours"):
            users.authenticate(store, "dd.mai", one_time, now=SUNDAY_10_00)
    finally:
        store.close()
    listed = run_benhan("user", "list", *data)
    assert re.search(r"^dd\.mai\tNguyễn Thị Mai\tnurse\t\*\tno-mfa\t", listed.stdout, re.M)
    assert run_benhan("user", "disable", "dd.mai", "--reason", "nghỉ việc", *data).returncode == 0
    assert "\tdisabled" in run_benhan("user", "list", *data).stdout
    assert run_benhan("user", "enable", "dd.mai", *data).returncode == 0
    reset = run_benhan("user", "reset", "dd.mai", *data)
    assert re.search(r"one-time password: \S+", reset.stdout) and one_time not in reset.stdout
    assert run_benhan("user", "set", "dd.mai", "--role", "nurse", "--role", "doctor", *data).returncode == 0
    assert "\tnurse doctor\t" in run_benhan("user", "list", *data).stdout


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    one_line_error(run_benhan("user", "add", "Tên Sai", "--name", "x", "--role", "nurse", *data), "BENHAN-5009")
    one_line_error(run_benhan("user", "add", "ok.name", "--name", "x", "--role", "surgeon", *data), "BENHAN-5009")
    one_line_error(run_benhan("user", "add", "ok.name", "--name", "x", "--role", "nurse", "--hours", "daily", *data),
                   "BENHAN-5009")
    one_line_error(run_benhan("user", "disable", "khong.co", *data), "BENHAN-5006")
    assert run_benhan("user", "add", "ok.name", "--name", "x", "--role", "nurse", *data).returncode == 0
    one_line_error(run_benhan("user", "add", "ok.name", "--name", "x", "--role", "nurse", *data), "BENHAN-5008")
