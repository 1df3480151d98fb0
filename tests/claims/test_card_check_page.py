"""The registrar checks a BHYT card (thông tuyến) from the registration form: the gateway's answer is
shown, a valid card's dates and registered facility fill the empty fields, nothing typed is lost,
and a gateway that does not answer does not block the registration."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth import users
from benhan.clinical.demo import facility_bundle
from benhan.auth.actor import Actor
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.web.app import create_app
from tests.claims.conftest import PASSWORD as GATEWAY_PASSWORD, USERNAME

USER_PASSWORD = "mật khẩu đủ dài cho bệnh viện"


def client_for(tmp_path: Path, gateway_url: str, monkeypatch) -> Iterator[TestClient]:  # noqa: ANN001
    monkeypatch.setenv("BENHAN_BHXH_PASSWORD", GATEWAY_PASSWORD)
    cfg = config_mod.load(env={"BENHAN_BHXH_GATEWAY_URL": gateway_url, "BENHAN_BHXH_USERNAME": USERNAME},
                          data_dir=tmp_path / "data")
    store = Store.open(cfg)
    process_bundle(Repository(store, Actor.system("test")), facility_bundle(), "http://localhost/fhir")
    users.create_user(store, "tiepdon", "Đỗ Thị Lan", ["registrar"], password=USER_PASSWORD)
    try:
        with TestClient(create_app(cfg, store), raise_server_exceptions=False) as c:
            page = c.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            c.post("/login", data={"username": "tiepdon", "password": USER_PASSWORD, "csrf": csrf})
            yield c
    finally:
        store.close()


@pytest.fixture
def desk(tmp_path, standin, monkeypatch) -> Iterator[TestClient]:  # noqa: ANN001
    standin.state.staff = {}           # the stand-in does not check the clerk's ID here (no CCCD on accounts yet)
    yield from client_for(tmp_path, standin.url, monkeypatch)


def form_of(client: TestClient, **values: str) -> dict[str, str]:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/register").text).group(1)
    return {"csrf": csrf, "action": "card_check", **values}


def test_a_valid_card_is_shown_and_fills_the_empty_fields(desk) -> None:  # noqa: ANN001
    page = desk.get("/ui/register")
    assert "Tra cứu thẻ BHYT (thông tuyến)" in page.text
    assert desk.app.state.claims_runner is not None          # the app runs the outbox worker with a gateway set
    r = desk.post("/ui/register/patient", data=form_of(desk, name="Hoàng Thu Trang", birth_date="30/12/1975",
                                                      bhyt="GD3010123456780", cccd="001175012345", phone="0912345678"))
    assert r.status_code == 200
    assert "Cổng BHXH trả lời mã 000: Thẻ đúng, còn giá trị sử dụng." in r.text
    assert ("Thẻ GD3010123456780 có giá trị từ 01/01/2026 đến 31/12/2026; nơi đăng ký KCB ban đầu 01001; "
            "đủ 5 năm liên tục từ 01/03/2024.") in r.text
    assert 'value="01/01/2026"' in r.text and 'value="31/12/2026"' in r.text and 'value="01001"' in r.text
    assert 'value="001175012345"' in r.text and 'value="0912345678"' in r.text      # nothing typed is lost


def test_a_wrong_birth_date_is_said_plainly(desk) -> None:  # noqa: ANN001
    r = desk.post("/ui/register/patient", data=form_of(desk, name="Hoàng Thu Trang", birth_date="31/12/1975",
                                                      bhyt="GD3010123456780"))
    assert "Cổng BHXH trả lời mã 070: Ngày sinh sai." in r.text
    assert 'value="01/01/2026"' not in r.text


def test_the_check_needs_the_card_the_name_and_the_birth_date(desk) -> None:  # noqa: ANN001
    r = desk.post("/ui/register/patient", data=form_of(desk, bhyt="GD3010123456780"))
    assert "Nhập mã thẻ BHYT (hoặc số CCCD), họ tên và ngày sinh để tra cứu." in r.text


def test_a_gateway_that_does_not_answer_does_not_block_the_desk(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from tests.server_process import free_port
    for client in client_for(tmp_path, f"http://127.0.0.1:{free_port()}", monkeypatch):
        r = client.post("/ui/register/patient", data=form_of(client, name="A B", birth_date="01/01/1990",
                                                            bhyt="GD3010123456780"))
        assert r.status_code == 200
        assert "Vẫn tiếp nhận người bệnh và tra cứu lại sau." in r.text
        assert "Traceback" not in r.text
