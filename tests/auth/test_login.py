"""Logging in to the web UI, through real forms: password rules, lockout and unlock, access hours,
two-step login, admins' MFA enrolment, one-time passwords, inactivity, idle sessions, logout
everywhere, CSRF. Each refusal is a translated message; each attempt an audit event."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select, update

from benhan import errors
from benhan.auth import mfa, passwords, users
from benhan.store.schema import audit_event, user_account, user_session

PASSWORD = "một câu mật khẩu thật dài"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, username: str, password: str, next_: str = "/"):  # noqa: ANN001, ANN201
    page = client.get("/login", params={"next": next_})
    assert page.status_code == 200
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf_of(page.text),
                                       "next": next_}, follow_redirects=False)


def logged_in(client) -> bool:  # noqa: ANN001
    r = client.get("/", follow_redirects=False)
    return r.status_code == 200


def logins(store, username: str) -> list[str]:  # noqa: ANN001
    store.read_audit.flush()
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event.c.outcome, audit_event.c.detail)
                            .where(audit_event.c.subtype == "login").order_by(audit_event.c.seq)).all()
    return [o for o, d in rows if f'"user": "{username}"' in d]


@pytest.fixture
def doctor(store):  # noqa: ANN001, ANN201
    return users.create_user(store, "bs.hung", "Lê Văn Hùng", ["doctor"], password=PASSWORD)[0]


# --- passwords -----------------------------------------------------------------------------------

@pytest.mark.parametrize("password, mfa_on, ok", [
    ("ngắn quá", False, False),                   # 8 characters, no MFA: needs 14
    ("đủ mười bốn ký tự", False, True),
    ("tám ký tự", True, True),                    # with MFA, 8 suffice
    ("bảy ký ", True, False),
    ("bs.hung-mat-khau-dai", False, False),       # contains the user name
    ("aaaaaaaaaaaaaaaaaaaaa", False, False),      # one repeated character
    ("1234567890", True, False),                  # a well-known password
])
def test_password_rules(password, mfa_on, ok):
    check = lambda: passwords.check_rules(password, username="bs.hung", mfa=mfa_on,  # noqa: E731
                                          min_length=14, min_length_mfa=8)
    if ok:
        check()
    else:
        with pytest.raises(errors.PasswordRejected):
            check()


def test_a_password_typed_composed_or_decomposed_verifies_the_same():
    import unicodedata
    stored = passwords.hash_password("Bệnh viện Đa khoa Thanh Hóa")
    assert passwords.verify_password(stored, unicodedata.normalize("NFD", "Bệnh viện Đa khoa Thanh Hóa"))


# --- login, lockout ------------------------------------------------------------------------------

def test_login_then_logout(anonymous_client, store, doctor):
    assert anonymous_client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
    r = login(anonymous_client, "BS.Hung", PASSWORD)
    assert (r.status_code, r.headers["location"]) == (303, "/")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = anonymous_client.get("/")
    assert "Lê Văn Hùng" in home.text
    r = anonymous_client.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert r.headers["location"] == "/login"
    assert not logged_in(anonymous_client)
    assert logins(store, "bs.hung") == ["0"]


def test_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(anonymous_client, store, doctor):
    for _ in range(store.config.lockout_attempts):
        r = login(anonymous_client, "bs.hung", "sai mật khẩu rồi nhé")
        assert r.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng" in r.text
        assert 'value="bs.hung"' in r.text            # what was typed is kept (not the password)
    r = login(anonymous_client, "bs.hung", PASSWORD)   # the right password no longer helps
    assert r.status_code == 401 and "tạm khóa" in r.text
    users.unlock(store, users.find_user(store, "bs.hung"), by="admin")
    assert login(anonymous_client, "bs.hung", PASSWORD).status_code == 303
    assert logins(store, "bs.hung") == ["4"] * (store.config.lockout_attempts + 1) + ["0"]


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(anonymous_client, doctor):
    unknown = login(anonymous_client, "khong.ai", PASSWORD)
    wrong = login(anonymous_client, "bs.hung", "không phải mật khẩu")
    assert unknown.status_code == wrong.status_code == 401
    assert re.search(r'class="error"[^>]*>([^<]*)<', unknown.text).group(1) == \
        re.search(r'class="error"[^>]*>([^<]*)<', wrong.text).group(1)


def test_the_login_form_needs_its_csrf_token(anonymous_client, doctor):
    anonymous_client.get("/login")
    r = anonymous_client.post("/login", data={"username": "bs.hung", "password": PASSWORD, "csrf": "forged"},
                              follow_redirects=False)
    assert r.status_code == 403 and not logged_in(anonymous_client)


def test_after_login_the_user_goes_where_they_were_going_but_never_off_site(anonymous_client, doctor):
    assert login(anonymous_client, "bs.hung", PASSWORD, "/account/password").headers["location"] == "/account/password"
    anonymous_client.cookies.clear()
    assert login(anonymous_client, "bs.hung", PASSWORD, "//evil.example/x").headers["location"] == "/"


def test_messages_follow_the_chosen_language(anonymous_client, doctor):
    anonymous_client.get("/lang", params={"to": "en"})
    r = login(anonymous_client, "bs.hung", "không phải mật khẩu")
    assert "Wrong user name or password." in r.text


# --- access hours, inactivity --------------------------------------------------------------------

WEEK_US = 7 * 86_400 * 10**6
SATURDAY_NOON_US = 1795237200 * 10**6       # 2026-11-21 12:00 +07:00, a Saturday


@pytest.fixture
def saturday_noon(monkeypatch):  # noqa: ANN001, ANN201
    """The login and session clock moved forward (less than a week) to the next Saturday 12:00 in
    Vietnam, so that a window such as Mon-Fri is closed whatever day and hour the test runs."""
    real = users.now_us()
    shift = (SATURDAY_NOON_US - real) % WEEK_US
    clock = lambda: time.time_ns() // 1000 + shift  # noqa: E731
    from benhan.auth import sessions
    from benhan.web import authn
    for module in (users, sessions, authn):
        monkeypatch.setattr(module, "now_us", clock)
    return real + shift

def test_access_hours_allow_login_only_inside_the_window(anonymous_client, store, doctor, saturday_noon):
    from benhan.auth import access_hours
    now = time.time_ns() // 1000
    assert access_hours.allows("Mon-Sun 00:00-24:00", now, "+07:00")
    saturday_noon = 1795237200 * 10**6         # 2026-11-21 12:00 +07:00, a Saturday
    assert access_hours.allows("Mon-Sat 07:00-17:30", saturday_noon, "+07:00")
    assert not access_hours.allows("Mon-Fri 07:00-17:30", saturday_noon, "+07:00")
    assert not access_hours.allows("Mon-Sat 13:00-17:30", saturday_noon, "+07:00")
    with pytest.raises(errors.InvalidUserSetting):
        access_hours.parse("Mon-Xyz 07:00-17:30")
    # An account whose window is closed now (a Saturday noon): refused with its own message.
    assert not access_hours.allows("Mon-Fri 07:00-17:30", saturday_noon, "+07:00")
    users.set_access(store, doctor, by="admin", access_hours_text="Mon-Fri 07:00-17:30")
    r = login(anonymous_client, "bs.hung", PASSWORD)
    assert r.status_code == 401 and "khung giờ" in r.text
    # Open on Saturdays too: let in.
    users.set_access(store, doctor, by="admin", access_hours_text="Mon-Sat 07:00-17:30")
    assert login(anonymous_client, "bs.hung", PASSWORD).status_code == 303


def test_a_session_ends_when_the_window_closes(anonymous_client, store, doctor, saturday_noon):
    assert login(anonymous_client, "bs.hung", PASSWORD).status_code == 303
    users.set_access(store, doctor, by="admin", access_hours_text="Mon-Fri 07:00-17:30")
    assert not logged_in(anonymous_client)


def test_an_account_unused_for_45_days_is_disabled(anonymous_client, store, doctor):
    long_ago = time.time_ns() // 1000 - 46 * users.DAY_US
    with store.db.write() as conn:
        conn.execute(update(user_account).where(user_account.c.pk == doctor.pk).values(last_activity=long_ago))
    r = login(anonymous_client, "bs.hung", PASSWORD)
    assert r.status_code == 401 and "45 ngày" in r.text
    assert users.find_user(store, "bs.hung").disabled_reason == "inactive"
    users.enable(store, users.find_user(store, "bs.hung"), by="admin")
    assert login(anonymous_client, "bs.hung", PASSWORD).status_code == 303


def test_disable_inactive_sweeps_every_stale_account(store, doctor):
    other = users.create_user(store, "dd.mai", "Nguyễn Thị Mai", ["nurse"], password=PASSWORD)[0]
    with store.db.write() as conn:
        conn.execute(update(user_account).where(user_account.c.pk == other.pk)
                     .values(last_activity=time.time_ns() // 1000 - 60 * users.DAY_US))
    assert users.disable_inactive(store) == ["dd.mai"]


# --- sessions --------------------------------------------------------------------------------------

def test_an_idle_session_ends(anonymous_client, store, doctor):
    assert login(anonymous_client, "bs.hung", PASSWORD).status_code == 303
    idle = (store.config.session_idle_minutes + 1) * 60 * 10**6
    with store.db.write() as conn:
        conn.execute(update(user_session).values(last_seen=user_session.c.last_seen - idle))
    assert anonymous_client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_logout_everywhere_ends_every_session_and_token(store, doctor, client):
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    from tests.auth_helpers import token_for
    token = token_for(store, "user/*.rs", user_pk=doctor.pk)
    assert client.get("/fhir/Organization", headers=token).status_code == 200
    with TestClient(create_app(store.config, store)) as laptop, TestClient(create_app(store.config, store)) as pc:
        login(laptop, "bs.hung", PASSWORD)
        login(pc, "bs.hung", PASSWORD)
        home = pc.get("/")
        pc.post("/logout/everywhere", data={"csrf": csrf_of(home.text)})
        assert not logged_in(laptop) and not logged_in(pc)
    assert client.get("/fhir/Organization", headers=token).status_code == 401


def test_a_session_may_call_the_api_but_writes_need_the_csrf_header(anonymous_client, store, doctor):
    login(anonymous_client, "bs.hung", PASSWORD)
    assert anonymous_client.get("/fhir/Organization").status_code == 200
    org = {"resourceType": "Organization", "name": "x"}
    r = anonymous_client.post("/fhir/Organization", json=org)
    assert r.status_code == 403 and "BENHAN-5007" in r.text
    csrf = csrf_of(anonymous_client.get("/").text)
    r = anonymous_client.post("/fhir/Organization", json=org, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "BENHAN-5002" in r.text      # past CSRF: a doctor may not write Organizations


# --- one-time passwords, MFA ---------------------------------------------------------------------

def test_a_one_time_password_must_be_replaced_before_anything_else(anonymous_client, store):
    user, one_time = users.create_user(store, "tiep.don", "Phạm Thị Lan", ["registrar"])
    r = login(anonymous_client, "tiep.don", one_time)
    assert r.status_code == 303
    assert anonymous_client.get("/", follow_redirects=False).headers["location"] == "/account/password"
    assert anonymous_client.get("/fhir/Patient").status_code == 401
    page = anonymous_client.get("/account/password")
    r = anonymous_client.post("/account/password", data={"csrf": csrf_of(page.text), "current": one_time,
                                                          "new": "ngắn", "repeat": "ngắn"})
    assert r.status_code == 400 and "ít nhất 14 ký tự" in r.text
    r = anonymous_client.post("/account/password", data={"csrf": csrf_of(page.text), "current": one_time,
                                                          "new": PASSWORD, "repeat": PASSWORD}, follow_redirects=False)
    assert r.headers["location"] == "/"
    assert logged_in(anonymous_client)


def test_two_step_login_with_a_totp_code(anonymous_client, store):
    secret = mfa.new_secret()
    users.create_user(store, "bs.an", "Trần Văn An", ["doctor"], password="tám ký tự", mfa_secret=secret)
    r = login(anonymous_client, "bs.an", "tám ký tự", "/account/password")
    assert r.headers["location"] == "/login/mfa?next=/account/password"
    assert anonymous_client.get("/fhir/Patient").status_code == 401          # not yet
    page = anonymous_client.get(r.headers["location"])
    wrong = str((int(mfa.current_code(secret)) + 500000) % 1000000).zfill(6)
    r = anonymous_client.post("/login/mfa", data={"csrf": csrf_of(page.text), "code": wrong})
    assert r.status_code == 401 and "Mã xác thực không đúng" in r.text
    r = anonymous_client.post("/login/mfa", data={"csrf": csrf_of(page.text), "code": mfa.current_code(secret),
                                                  "next": "/account/password"}, follow_redirects=False)
    assert r.headers["location"] == "/account/password"       # where the user was going
    assert logged_in(anonymous_client)
    assert logins(store, "bs.an") == ["4", "0"]


def test_an_admin_must_enrol_two_step_login_first(anonymous_client, store):
    users.create_user(store, "quantri", "Ngô Văn Quản", ["facility_admin"], password=PASSWORD)
    login(anonymous_client, "quantri", PASSWORD)
    assert anonymous_client.get("/", follow_redirects=False).headers["location"] == "/account/mfa"
    page = anonymous_client.get("/account/mfa")
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)
    assert "otpauth://totp/" in page.text
    r = anonymous_client.post("/account/mfa", data={"csrf": csrf_of(page.text), "secret": secret,
                                                    "code": mfa.current_code(secret)}, follow_redirects=False)
    assert r.headers["location"] == "/"
    assert logged_in(anonymous_client)
    assert users.find_user(store, "quantri").mfa_enabled


# --- break-the-glass in the browser --------------------------------------------------------------

def test_break_the_glass_form_shows_a_banner_and_lands_in_the_review_list(anonymous_client, store, doctor):
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    users.create_user(store, "giamdoc", "Đỗ Văn Minh", ["director"], password=PASSWORD)
    _a_patient_called(store, "p-cap-cuu")
    login(anonymous_client, "bs.hung", PASSWORD)
    page = anonymous_client.get("/break-glass", params={"patient": "p-cap-cuu"})
    r = anonymous_client.post("/break-glass", data={"csrf": csrf_of(page.text), "patient": "p-cap-cuu", "reason": "gấp"})
    assert r.status_code == 400 and "ít nhất 10 ký tự" in r.text and "p-cap-cuu" in r.text
    anonymous_client.post("/break-glass", data={"csrf": csrf_of(page.text), "patient": "p-cap-cuu",
                                                "reason": "Cấp cứu ngừng tuần hoàn"})
    assert "Đang truy cập khẩn cấp hồ sơ p-cap-cuu" in anonymous_client.get("/").text
    with TestClient(create_app(store.config, store)) as director:
        login(director, "giamdoc", PASSWORD)
        review = director.get("/admin/break-glass")
        assert "Cấp cứu ngừng tuần hoàn" in review.text and "bs.hung" in review.text
        action = re.search(r'action="(/admin/break-glass/\d+/review)"', review.text).group(1)
        director.post(action, data={"csrf": csrf_of(review.text), "note": "Hợp lý"})
        assert "Hợp lý" in director.get("/admin/break-glass").text
    # A doctor may not see the review list.
    assert anonymous_client.get("/admin/break-glass").status_code == 403


def _a_patient_called(store, patient_id: str) -> None:  # noqa: ANN001
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    from tests.factories import patient
    Repository(store, Actor.system("test-setup")).update("Patient", patient_id, {**patient(), "id": patient_id})


@pytest.mark.parametrize("lang, words", [("vi", "Không có người bệnh nào mang mã"), ("en", "No patient has the id")])
def test_break_the_glass_for_a_patient_id_no_record_has_is_refused_in_the_users_language(
        anonymous_client, store, doctor, lang, words):
    login(anonymous_client, "bs.hung", PASSWORD)
    anonymous_client.cookies.set("lang", lang)
    page = anonymous_client.get("/break-glass")
    r = anonymous_client.post("/break-glass", data={"csrf": csrf_of(page.text), "patient": "khong-ton-tai",
                                                    "reason": "Cấp cứu ngừng tuần hoàn"})
    assert r.status_code == 404 and words in r.text and "khong-ton-tai" in r.text
    assert "Traceback" not in r.text
    assert "khong-ton-tai" not in anonymous_client.get("/").text      # no banner: nothing was granted
