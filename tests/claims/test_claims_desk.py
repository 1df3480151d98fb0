"""The BHYT desk (web/ui/claims_desk.py) without a browser, on both databases: the real app
in-process, real logins, the stand-in gateway on a free port, the facility's seal from a local CA.
The finished BHYT visits of a day with their claim state, the clerk's report, "Gửi" once and twice
(the stand-in counts what it receives per idempotency key), a refusal with the gateway's reasons,
and a desk whose gateway or seal is not configured."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth import users
from benhan.claims import service
from benhan.claims.standin import StandIn, State
from benhan.clinical.demo import facility_bundle
from benhan.store.store import Store
from benhan.web.app import create_app
from tests.billing.charges_world import XRAY, at, make_world
from tests.claims.conftest import PASSWORD, SEAL_PASSWORD
from tests.claims.test_record import DAY, bhyt_visit, ma_lk

STAFF_PASSWORD = "một câu mật khẩu thật dài"


def demo_facility_code() -> str:
    org = next(e["resource"] for e in facility_bundle()["entry"] if e["resource"]["resourceType"] == "Organization")
    return next(i["value"] for i in org["identifier"] if i["system"].endswith("ma-cskcb"))


class Staff:
    def __init__(self, app, username: str):  # noqa: ANN001
        self.http = TestClient(app, raise_server_exceptions=False)
        self.http.cookies.set("lang", "vi")
        page = self.http.get("/login")
        self.http.post("/login", data={"username": username, "password": STAFF_PASSWORD, "csrf": _csrf(page.text)})
        self.csrf = _csrf(self.http.get("/").text)

    def get(self, path: str):  # noqa: ANN201
        return self.http.get(path)

    def post(self, path: str, data: dict | None = None):  # noqa: ANN201
        return self.http.post(path, data={"csrf": self.csrf, **(data or {})}, follow_redirects=False)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def claims_config(base: config_mod.Config, tmp: Path, *, gateway: str = "", seal: Path | None = None,
                  **more) -> config_mod.Config:
    """The test database's configuration plus the claims settings (secrets in files, never the env)."""
    (tmp / "seal-password").write_text(SEAL_PASSWORD, encoding="utf-8")
    (tmp / "gateway-password").write_text(PASSWORD, encoding="utf-8")
    extra = {}
    if gateway:
        extra.update(bhxh_gateway_url=gateway, bhxh_password_file=tmp / "gateway-password")
    if seal is not None:
        extra.update(facility_seal_file=seal, facility_seal_password_file=tmp / "seal-password")
    return config_mod.load(env={}, data_dir=base.data_dir, database_url=base.values["database_url"] or None,
                           **extra, **more)


@contextmanager
def desk(cfg: config_mod.Config):  # noqa: ANN201
    store = Store.open(cfg)
    try:
        world = make_world(store)
        app = create_app(cfg, store)
        for username, name, role in (("thungan", "Vũ Thị Thu", "cashier"), ("giamdoc", "Phạm Văn Đức", "director"),
                                     ("bacsi", "Lê Văn Minh", "doctor")):
            users.create_user(store, username, name, [role], password=STAFF_PASSWORD)
        yield world, app
    finally:
        store.close()


@contextmanager
def standin_for(cert_pem: bytes):  # noqa: ANN201
    code = demo_facility_code()
    server = StandIn(State(f"{code}_BV", PASSWORD, code, cert_pem=cert_pem)).start()
    try:
        yield server
    finally:
        server.stop()


def undiagnosed_visit(world) -> str:  # noqa: ANN001
    pid = world.patient("001090123403", "Lê Thị Cúc", bhyt="DN4790123456702")
    eid = world.visit(pid, at(DAY, 13))
    world.order(eid, XRAY, at(DAY, 13, 30))
    world.end(eid, at(DAY, 14))
    return eid


def test_the_desk_lists_the_days_bhyt_visits_checks_and_sends_each_claim_once(db_config, tmp_path, seal_p12,
                                                                             seal) -> None:  # noqa: ANN001
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, app):
        good, to_fix = bhyt_visit(world), undiagnosed_visit(world)
        no_card = world.visit(world.patient("001090123404", "Võ Văn Dũng"), at(DAY, 15))
        world.end(no_card, at(DAY, 15, 30))
        cashier = Staff(app, "thungan")

        day = cashier.get(f"/ui/claims?day={DAY.isoformat()}")
        assert day.status_code == 200
        rows = dict(re.findall(r'<tr data-ma-lk="([^"]+)" class="state-([a-z\-]+)"', day.text))
        assert rows == {ma_lk(world, good): "not-queued", ma_lk(world, to_fix): "to-fix"}   # no card: no claim
        assert "Nguyễn Văn An" in day.text and "Lê Thị Cúc" in day.text and "Võ Văn Dũng" not in day.text
        problems = int(re.search(r"Cần sửa \((\d+) lỗi\)", day.text).group(1))

        report = cashier.get(f"/ui/claims/{ma_lk(world, to_fix)}").text
        assert f"Hồ sơ {ma_lk(world, to_fix)} — người bệnh Lê Thị Cúc" in report
        assert "XML1 dòng 1, trường mã bệnh chính (MA_BENH_CHINH): bắt buộc nhưng đang để trống." in report
        assert len(re.findall(r"\n  \d+\. XML", report)) == problems          # the same count as on the day's list
        refused = cashier.post(f"/ui/claims/{ma_lk(world, to_fix)}/send")
        assert refused.status_code == 422 and "Hồ sơ còn lỗi" in refused.text
        assert gateway.state.stats()["received"] == {}

        sent = cashier.post(f"/ui/claims/{ma_lk(world, good)}/send")
        assert sent.status_code == 303, sent.text[:500]
        page = cashier.get(sent.headers["location"]).text
        assert "Cổng đã tiếp nhận" in page and "Mã giao dịch: " in page
        assert gateway.state.stats()["accepted"] == [ma_lk(world, good)]
        first = gateway.state.stats()["received"]
        assert sorted(first.values()) == [1, 1]                       # the check-in and the claim, once each

        assert cashier.post(f"/ui/claims/{ma_lk(world, good)}/send").status_code == 303    # a second "Gửi"
        assert gateway.state.stats()["received"] == first and gateway.state.stats()["accepted"] == [ma_lk(world, good)]
        day = cashier.get(f"/ui/claims?day={DAY.isoformat()}").text
        assert f'data-ma-lk="{ma_lk(world, good)}" class="state-accepted"' in day
        assert re.search(r'<table class="compact per-day">.*?<td class="num">1</td><td class="num">1</td>', day, re.S)

        cashier.http.cookies.set("lang", "en")
        english = cashier.get(f"/ui/claims?day={DAY.isoformat()}").text
        assert "BHYT claims desk" in english and "Accepted by the gateway" in english and "To fix" in english
        cashier.http.cookies.set("lang", "vi")

        director = Staff(app, "giamdoc")
        seen = director.get(f"/ui/claims/{ma_lk(world, good)}")
        assert seen.status_code == 200 and "Cổng đã tiếp nhận" in seen.text and "/send" not in seen.text
        assert director.post(f"/ui/claims/{ma_lk(world, good)}/send").status_code == 403
        assert Staff(app, "bacsi").get("/ui/claims").status_code == 403


def test_a_claim_the_gateway_refuses_shows_its_reasons(db_config, tmp_path, seal_p12, local_ca) -> None:  # noqa: ANN001
    other = local_ca.issue("Một cơ sở khác", organization="Một cơ sở khác")     # not the registered certificate
    from benhan.signing import xmldsig
    registered = xmldsig.key_from_pkcs12(other.pkcs12("x"), "x").cert_pem
    with standin_for(registered) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                seal=seal_p12)) as (world, app):
        eid = bhyt_visit(world)
        cashier = Staff(app, "thungan")
        assert cashier.post(f"/ui/claims/{ma_lk(world, eid)}/send").status_code == 303
        page = cashier.get(f"/ui/claims/{ma_lk(world, eid)}").text
        assert "Cổng từ chối" in page and "GIAMDINHHS CHUKYDONVI — chữ ký không hợp lệ" in page
        day = cashier.get(f"/ui/claims?day={DAY.isoformat()}").text
        assert f'class="state-refused"' in day and "chữ ký không hợp lệ" in day
        assert "GIAMDINHHS.CHUKYDONVI: 1" in day                        # the day report's reasons


def test_without_a_gateway_the_desk_says_so_and_queues_nothing(db_config, tmp_path, seal_p12) -> None:  # noqa: ANN001
    with desk(claims_config(db_config, tmp_path, seal=seal_p12)) as (world, app):
        eid = bhyt_visit(world)
        cashier = Staff(app, "thungan")
        r = cashier.post(f"/ui/claims/{ma_lk(world, eid)}/send")
        assert r.status_code == 409 and "Chưa cấu hình cổng giám định BHXH" in r.text
        assert cashier.get(f"/ui/claims?day={DAY.isoformat()}").text.count('class="state-not-queued"') == 1
        assert cashier.post("/ui/claims/khong%20co/send").status_code == 404
        assert cashier.get("/ui/claims/KHONGCO").status_code == 404
        bad_day = cashier.get("/ui/claims?day=20-11-2026x")
        assert bad_day.status_code == 400 and "Ngày không hợp lệ" in bad_day.text


def test_without_the_seal_the_desk_says_so(db_config, tmp_path) -> None:  # noqa: ANN001
    with desk(claims_config(db_config, tmp_path, gateway="http://127.0.0.1:9/")) as (world, app):
        eid = bhyt_visit(world)
        r = Staff(app, "thungan").post(f"/ui/claims/{ma_lk(world, eid)}/send")
        assert r.status_code == 409 and "Chưa cấu hình con dấu số của cơ sở" in r.text


def test_a_gateway_that_fails_leaves_the_claim_waiting_for_the_worker(db_config, tmp_path, seal_p12,
                                                                     seal) -> None:  # noqa: ANN001
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, app):
        eid = bhyt_visit(world)
        gateway.state.faults.append({"status": 503, "count": 2})          # the gateway is down for two calls
        cashier = Staff(app, "thungan")
        assert cashier.post(f"/ui/claims/{ma_lk(world, eid)}/send").status_code == 303
        page = cashier.get(f"/ui/claims/{ma_lk(world, eid)}").text
        assert page.count("Đang chờ gửi") == 2 and "Lần gửi trước chưa được, sẽ gửi lại sau" in page
        assert gateway.state.stats()["received"] == {}                      # refused before it was read
        assert cashier.post(f"/ui/claims/{ma_lk(world, eid)}/send").status_code == 303
        assert gateway.state.stats()["received"] == {}                      # the backoff holds, not the clerk's click


def test_gui_again_puts_a_claim_given_up_on_back_in_the_queue(db_config, tmp_path, seal_p12,
                                                              seal) -> None:  # noqa: ANN001
    from benhan.claims.gateway import Gateway
    from benhan.outbox.queue import Backoff, Outbox
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, app):
        eid = bhyt_visit(world)
        cashier = Staff(app, "thungan")
        gateway.state.faults.append({"status": 503, "count": 2})
        assert cashier.post(f"/ui/claims/{ma_lk(world, eid)}/send").status_code == 303
        # A worker that gives up after one attempt, made due at once: the gateway still down.
        code = demo_facility_code()
        worker = Outbox(world.store.db, backoff=Backoff(max_attempts=1),
                        clock=lambda: datetime.now(timezone.utc) + timedelta(days=1))
        gateway.state.faults.append({"status": 503, "count": 2})
        assert worker.run_once(service.senders(Gateway(gateway.url, f"{code}_BV", PASSWORD, code, ""))) == 2
        assert cashier.get(f"/ui/claims/{ma_lk(world, eid)}").text.count("Đã ngừng gửi lại") == 2
        assert cashier.post(f"/ui/claims/{ma_lk(world, eid)}/send").status_code == 303    # the gateway is back
        page = cashier.get(f"/ui/claims/{ma_lk(world, eid)}").text
        assert page.count("Cổng đã tiếp nhận") == 2 and gateway.state.stats()["accepted"] == [ma_lk(world, eid)]


def test_the_desk_downloads_the_monthly_summary(db_config, tmp_path, seal_p12) -> None:  # noqa: ANN001
    import io

    from openpyxl import load_workbook
    with desk(claims_config(db_config, tmp_path, seal=seal_p12)) as (world, app):
        good = bhyt_visit(world)
        cashier = Staff(app, "thungan")
        assert 'action="/ui/claims/monthly.xlsx"' in cashier.get("/ui/claims").text
        got = cashier.get(f"/ui/claims/monthly.xlsx?month={DAY:%Y-%m}&source=built")
        assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert f"01-BH-{DAY:%Y-%m}" in got.headers["content-disposition"]
        book = load_workbook(io.BytesIO(got.content), read_only=True)
        cells = {str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row}
        assert ma_lk(world, good) in cells                       # the month's claim is counted, by its MA_LK
        bad = cashier.get("/ui/claims/monthly.xlsx?month=tháng-mười")
        assert bad.status_code == 400 and "2026-Q4 (quý)" in bad.text
        assert Staff(app, "bacsi").get(f"/ui/claims/monthly.xlsx?month={DAY:%Y-%m}").status_code == 403
