"""The personal-data pages (web/ui/privacy.py): the registration desk records a consent per purpose
with its evidence and withdraws it; the data-protection officer (facility admin) registers a
data-subject request (its deadlines shown, overdue marked), answers it, records a breach (form 08,
72-hour deadline) and prints it; other roles are refused. One SQLite store (the pages are
store-agnostic; the storage tests run on both)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from benhan.auth import mfa, purposes, users
from tests.factories import patient
from tests.ui.test_role_pages import PASSWORD, Client


@pytest.fixture(scope="module")
def site(tmp_path_factory):  # noqa: ANN001, ANN201
    from benhan import config
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    from benhan.web.app import create_app
    store = Store.open(config.load(env={}, data_dir=tmp_path_factory.mktemp("privacy") / "data"))
    repo = Repository(store, Actor.system())
    pid = repo.create("Patient", patient()).res_id
    app = create_app(store.config, store)
    secret = mfa.new_secret()
    users.create_user(store, "dpo", "Trần Văn Bảo", ["facility_admin"], password=PASSWORD, mfa_secret=secret)
    users.create_user(store, "tiepdon", "Lê Thị Tiếp", ["registrar"], password=PASSWORD)
    users.create_user(store, "thungan", "Ngô Thu", ["cashier"], password=PASSWORD)
    yield {"store": store, "pid": pid, "dpo": Client(app, "dpo", "facility_admin", secret),
           "desk": Client(app, "tiepdon", "registrar", None), "cashier": Client(app, "thungan", "cashier", None)}
    store.close()


def test_the_desk_records_an_opt_in_with_evidence_and_withdraws_it(site):
    desk, pid, store = site["desk"], site["pid"], site["store"]
    page = desk.http.get(f"/ui/patients/{pid}/privacy")
    assert page.status_code == 200 and "Chưa có đồng ý" in page.text
    assert not purposes.decide(store, pid, purposes.SHARE_PROVIDERS).allowed
    r = desk.post(f"/ui/patients/{pid}/privacy", {"purpose": purposes.SHARE_PROVIDERS, "method": "written", "evidence": ""})
    assert r.status_code == 400 and "bằng chứng" in r.text
    r = desk.post(f"/ui/patients/{pid}/privacy", {"purpose": purposes.SHARE_PROVIDERS, "method": "written",
                                                  "evidence": "Phiếu số 12/2026, tủ hồ sơ A"})
    assert r.status_code == 303
    d = purposes.decide(store, pid, purposes.SHARE_PROVIDERS)
    assert d.allowed and not purposes.decide(store, pid, purposes.RESEARCH).allowed
    page = desk.http.get(f"/ui/patients/{pid}/privacy").text
    assert "Phiếu số 12/2026" in page and "Người bệnh đã đồng ý" in page
    assert desk.post(f"/ui/patients/{pid}/privacy", {"withdraw": d.consent_id}).status_code == 303
    assert purposes.decide(store, pid, purposes.SHARE_PROVIDERS).reason == "withdrawn"
    assert site["cashier"].post(f"/ui/patients/{pid}/privacy", {}).status_code == 403


def test_the_dpo_registers_answers_and_sees_overdue_requests(site):
    dpo = site["dpo"]
    old = date.today() - timedelta(days=30)
    r = dpo.post("/ui/privacy/requests", {"kind": "access", "requester": "Nguyễn Văn An", "received": old.isoformat(),
                                          "patient": site["pid"], "description": "Xin bản sao hồ sơ"})
    assert r.status_code == 303
    r = dpo.post("/ui/privacy/requests", {"kind": "deletion", "requester": "Trần B",
                                          "received": date.today().isoformat()})
    assert r.status_code == 303
    page = dpo.http.get("/ui/privacy").text
    rows = re.findall(r'<tr data-request="([^"]+)" class="([^"]*)">', page)
    assert len(rows) == 2 and [c for _, c in rows] == ["overdue", ""]
    assert (old + timedelta(days=10)).strftime("%d/%m/%Y") in page and "Quá hạn" in page
    assert (date.today() + timedelta(days=20)).strftime("%d/%m/%Y") in page
    late_id = rows[0][0]
    assert dpo.post(f"/ui/privacy/requests/{late_id}", {"status": "completed", "answer": ""}).status_code == 400
    assert dpo.post(f"/ui/privacy/requests/{late_id}", {"status": "completed", "answer": "Đã gửi bản sao",
                                                         "evidence": "Biên nhận 5"}).status_code == 303
    page = dpo.http.get("/ui/privacy").text
    assert "Đã gửi bản sao" in page and 'class="overdue"' not in page
    assert dpo.post("/ui/privacy/requests", {"kind": "x", "requester": "", "received": "2026-01-01"}).status_code == 400
    assert site["desk"].http.get("/ui/privacy").status_code == 403


def test_a_breach_is_recorded_with_its_72_hour_deadline_and_printed(site):
    dpo = site["dpo"]
    found = datetime.now().replace(second=0, microsecond=0) - timedelta(hours=5)
    values = {"occurred": (found - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
              "discovered": found.strftime("%Y-%m-%dT%H:%M"), "what": "Máy tính phòng khám bị mất trộm",
              "data_kinds": "Hồ sơ bệnh án", "people": "120", "consequences": "Lộ thông tin sức khỏe",
              "measures": "Khóa tài khoản, báo công an", "contact": "Trần Văn Bảo, 0912345678"}
    r = dpo.post("/ui/privacy/breaches", dict(values, people="nhiều"))
    assert r.status_code == 400 and "phải là một số" in r.text
    r = dpo.post("/ui/privacy/breaches", values)
    assert r.status_code == 303
    page = dpo.http.get(r.headers["location"])
    assert page.status_code == 200
    assert "Mẫu số 08" in page.text and "Máy tính phòng khám bị mất trộm" in page.text
    assert len(re.findall(r'data-section="', page.text)) == 4
    due = re.search(r'id="notify-by">([^<]+)<', page.text).group(1)
    assert due == (found + timedelta(hours=72)).strftime("%d/%m/%Y %H:%M")
    assert site["cashier"].http.get(r.headers["location"]).status_code == 403


def test_the_visit_page_shows_the_record_s_retention(site):
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    repo = Repository(site["store"], Actor.system())
    ended = date.today().replace(month=1, day=2)
    eid = repo.create("Encounter", {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{site['pid']}"},
        "period": {"start": f"{ended.isoformat()}T08:00:00+07:00", "end": f"{ended.isoformat()}T09:00:00+07:00"}}).res_id
    page = site["desk"].http.get(f"/ui/encounters/{eid}")
    assert page.status_code == 200
    line = re.search(r'<p class="small" id="retention">(.*?)</p>', page.text, re.S).group(1)
    assert f"31/12/{ended.year + 10}" in line and "Thông tư 33/2025" in line and "ngoại trú" in line
