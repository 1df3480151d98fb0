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


def _conflict_on_phone_and_address(hub, make_node):  # noqa: ANN001, ANN202
    """The node changes the phone and the address, the hub the phone: the phone is a true conflict."""
    node = make_node()
    pid = node.repo.create("Patient", factories.patient(
        telecom=[{"system": "phone", "value": "0912000111"}], address=[{"line": ["12 Lê Lợi"], "city": "Huế"}])).res_id
    node.round()
    body = node.repo.read("Patient", pid).json()
    node.repo.update("Patient", pid, {**body, "telecom": [{"system": "phone", "value": "0922222222"}],
                                      "address": [{"line": ["7 Nguyễn Huệ"], "city": "Huế"}]})
    hub.repo.update("Patient", pid, {**body, "telecom": [{"system": "phone", "value": "0911111111"}]})
    node.round()
    return node, pid


def test_the_review_page_shows_both_versions_side_by_side_with_the_fields_that_differ(hub, make_node):
    node, pid = _conflict_on_phone_and_address(hub, make_node)
    users.create_user(hub.store, "bs.lan", "Bác sĩ Lan", ["doctor"], password=PASSWORD)
    with TestClient(create_app(hub.store.config, hub.store)) as browser:
        _login(browser, "bs.lan")
        page = browser.get("/admin/sync").text
        table = page[page.index('class="sync-diff"'):page.index("</table>")]
        # Vietnamese labels; the base value, the hub's and the node's side by side.
        assert "Số điện thoại / liên lạc" in table and "Địa chỉ" in table
        assert "phone: 0912000111" in table and "phone: 0911111111" in table and "phone: 0922222222" in table
        assert "7 Nguyễn Huệ, Huế" in table and "12 Lê Lợi, Huế" in table
        assert "Cả hai nơi cùng sửa" in table                  # the phone: changed at both ends
        assert table.count("<tr") == 3                          # header + the two fields that differ
        assert "Ngày sinh" not in table and "Giới tính" not in table
        english = browser.get("/admin/sync", headers={"accept-language": "en"}).text
        assert "Phone / contact" in english and "Address" in english and "Changed at both ends" in english


def test_a_reviewer_who_may_not_read_the_record_sees_no_values(hub, make_node):
    from benhan.auth import mfa
    node, pid = _conflict_on_phone_and_address(hub, make_node)
    secret = mfa.new_secret()
    users.create_user(hub.store, "quantri", "Quản trị", ["facility_admin"], password=PASSWORD, mfa_secret=secret)
    with TestClient(create_app(hub.store.config, hub.store)) as browser:
        page = browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        step = browser.post("/login", data={"username": "quantri", "password": PASSWORD, "csrf": csrf},
                            follow_redirects=False).headers["location"]
        page = browser.get(step)
        browser.post("/login/mfa", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page.text).group(1),
                                         "code": mfa.current_code(secret)})
        page = browser.get("/admin/sync")
        assert page.status_code == 200 and f"Patient/{pid}" in page.text
        assert "0922222222" not in page.text and "Nguyễn Huệ" not in page.text
        assert "Bạn không có quyền xem hồ sơ này" in page.text


def test_an_unreadable_set_aside_version_is_shown_as_such_not_as_an_error(hub, make_node):
    """Invalid versions (not JSON, not a resource) wait in the same queue: the page says so."""
    node, pid = _conflict_on_phone_and_address(hub, make_node)
    with hub.store.db.write() as conn:
        for body in (b"not json {", b"[1, 2]"):
            st.add_conflict(conn, res_type="Patient", res_id=pid, kind="invalid", origin_node="node-x",
                            base_version=1, kept_version=2, their_versions="9", their_deleted=False,
                            their_body=body, detected_at=1)
    users.create_user(hub.store, "bs.lan", "Bác sĩ Lan", ["doctor"], password=PASSWORD)
    with TestClient(create_app(hub.store.config, hub.store)) as browser:
        _login(browser, "bs.lan")
        page = browser.get("/admin/sync")
        assert page.status_code == 200
        assert page.text.count("không phải là dữ liệu FHIR hợp lệ") == 2
        with hub.store.db.read() as conn:
            invalid = [c for c in st.conflicts(conn) if c.kind == "invalid"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = browser.post(f"/admin/sync/conflict/{invalid[0].pk}", data={"csrf": csrf, "choice": "theirs"},
                         follow_redirects=False)
        assert r.status_code == 400                              # said, not a 500; nothing written
        assert hub.repo.read("Patient", pid).version == 2
        r = browser.post(f"/admin/sync/conflict/{invalid[0].pk}", data={"csrf": csrf, "choice": "kept"},
                         follow_redirects=False)
        assert r.status_code == 303
        with hub.store.db.read() as conn:
            assert [c for c in st.conflicts(conn) if c.res_id == pid] == []


def test_several_set_aside_versions_of_one_record_are_each_shown_and_taken_together(hub, make_node):
    node, pid = _conflict_on_phone_and_address(hub, make_node)
    body = node.repo.read("Patient", pid).json()
    node.repo.update("Patient", pid, {**body, "birthDate": "1985-03-16"})      # while the first waits
    node.round()
    users.create_user(hub.store, "bs.lan", "Bác sĩ Lan", ["doctor"], password=PASSWORD)
    with TestClient(create_app(hub.store.config, hub.store)) as browser:
        csrf = _login(browser, "bs.lan")
        page = browser.get("/admin/sync").text
        assert page.count('class="sync-conflict"') == 2
        assert page.count("Cơ sở này có 2 bản bị gác lại") == 2
        assert "Ngày sinh" in page and "Địa chỉ" in page
        with hub.store.db.read() as conn:
            first = min(c.pk for c in st.conflicts(conn))
        browser.post(f"/admin/sync/conflict/{first}", data={"csrf": csrf, "choice": "theirs"})
    got = hub.repo.read("Patient", pid).json()
    assert (got["telecom"][0]["value"], got["address"][0]["line"], got["birthDate"]) == \
        ("0922222222", ["7 Nguyễn Huệ"], "1985-03-16")
