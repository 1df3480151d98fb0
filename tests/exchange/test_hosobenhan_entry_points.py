"""The HoSoBenhAn export where people reach it: the FHIR operation ($hosobenhan on an Encounter, a
Patient, or the server for a period), the command line (a real process), and the visit page's
buttons — each with the reader's access rules, an OperationOutcome / one line / a translated page
for bad input, and one audit event per export naming the patient."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from lxml import etree
from sqlalchemy import select
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical.load_demo import load_demo
from benhan.exchange.hosobenhan import schema
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from benhan.store.store import Store
from benhan.vn.identifiers import CCCD_SYSTEM
from benhan.web.app import create_app
from tests.auth_helpers import install_in_store, token_for
from tests.server_process import benhan_command

PASSWORD = "một câu mật khẩu thật dài"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):  # noqa: ANN001, ANN201
    """A small demo facility on SQLite (the values are checked on both databases in test_hosobenhan)."""
    s = Store.open(config_mod.load(env={}, data_dir=tmp_path_factory.mktemp("hsba") / "data"))
    load_demo(s, patients=3)
    users.create_user(s, "tiepdon", "Lê Văn Tiếp", ["registrar"], password=PASSWORD)
    # A doctor of the whole facility (no department named), and one of a department none of the
    # demo's visits belongs to.
    users.create_user(s, "bacsi", "Trần Thị Bác", ["doctor"], password=PASSWORD)
    repo = Repository(s, Actor.system("test"))
    ward = repo.create("Organization", {"resourceType": "Organization", "active": True, "name": "Khoa Nhi"}).res_id
    users.create_user(s, "bacsinhi", "Vũ Văn Nhi", ["doctor"], departments=[ward], password=PASSWORD)
    yield s
    s.close()


@pytest.fixture(scope="module")
def client(demo):  # noqa: ANN001, ANN201
    with TestClient(create_app(demo.config, demo), raise_server_exceptions=False) as c:
        c.headers.update(install_in_store(demo))
        yield c


def _visit(store: Store) -> tuple[dict, dict]:
    repo = Repository(store, Actor.system("test"))
    enc = next(m.json() for m in repo.search_type("Encounter", [("status", "finished"), ("_count", "50")]).matches)
    patient = repo.read("Patient", enc["subject"]["reference"].split("/")[1]).json()
    return enc, patient


def _exports(store: Store) -> list[dict]:
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event).where(audit_event.c.interaction == "export")
                            .where(audit_event.c.subtype == "hosobenhan")).mappings().all()
    return [dict(r) for r in rows]


def test_the_operation_answers_the_document_valid_and_audited(client, demo):  # noqa: ANN001
    enc, patient = _visit(demo)
    cccd = next(i["value"] for i in patient["identifier"] if i["system"] == CCCD_SYSTEM)
    before = len(_exports(demo))
    r = client.get(f"/fhir/Encounter/{enc['id']}/$hosobenhan?format=xml")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    assert "attachment" in r.headers["content-disposition"]
    doc = etree.fromstring(r.content)
    assert schema.xml_schema().validate(doc)
    assert doc.findtext("ThongTinBenhNhan/cccd_so") == cccd
    r = client.get(f"/fhir/Patient/{patient['id']}/$hosobenhan?format=json")
    assert r.status_code == 200, r.text
    records = r.json()["DanhSachHoSoBenhAn"]
    assert records and {x["ThongTinBenhNhan"]["mabenhnhan"] for x in records} == {patient["id"]}
    r = client.get("/fhir/$hosobenhan", params={"from": "2000-01-01", "to": "2100-12-31", "format": "json"})
    assert r.status_code == 200 and len(r.json()["DanhSachHoSoBenhAn"]) >= 1
    events = _exports(demo)[before:]
    assert len(events) == 3
    assert events[0]["res_type"] == "Encounter" and events[0]["res_id"] == enc["id"]
    assert json.loads(events[0]["detail"])["encounters"] == [enc["id"]]
    assert events[1]["res_type"] == "Patient" and events[1]["res_id"] == patient["id"]
    # The patient's own "who saw my record" lists the export (AuditEvent.entity names the patient).
    r = client.get("/fhir/AuditEvent", params={"patient": f"Patient/{patient['id']}", "subtype": "export"})
    assert r.status_code == 200
    assert len([e for e in r.json().get("entry", [])
                if any(c.get("code") == "hosobenhan" for c in e["resource"].get("subtype", []))]) >= 2


@pytest.mark.parametrize("url, status, code", [
    ("/fhir/Encounter/{eid}/$hosobenhan?format=pdf", 400, "BENHAN-1019"),
    ("/fhir/Encounter/{eid}/$hosobenhan?colour=red", 400, "BENHAN-1020"),
    ("/fhir/Encounter/khong-co/$hosobenhan", 404, "BENHAN-2001"),
    ("/fhir/Patient/khong-co/$hosobenhan", 404, "BENHAN-2001"),
    ("/fhir/$hosobenhan?from=2026-13-01&to=2026-12-31", 400, "BENHAN-1019"),
    ("/fhir/$hosobenhan?format=xml", 400, "BENHAN-1019"),
])
def test_bad_requests_are_operation_outcomes(client, demo, url, status, code):  # noqa: ANN001
    enc, _ = _visit(demo)
    r = client.get(url.format(eid=enc["id"]))
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert code in json.dumps(body)


def test_a_reader_who_may_not_see_the_clinical_record_is_refused(client, demo):  # noqa: ANN001
    enc, _ = _visit(demo)
    before = len(_exports(demo))
    lacking = token_for(demo, "system/Patient.rs system/Encounter.rs")
    r = client.get(f"/fhir/Encounter/{enc['id']}/$hosobenhan", headers=lacking)
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert len(_exports(demo)) == before          # nothing exported, nothing to record as exported


def run(store: Store, *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    return subprocess.run(benhan_command("record", "export-hsba", *args, "--data-dir", str(store.config.data_dir)),
                          capture_output=True, text=True, timeout=180, env=clean)


def test_the_command_line_writes_the_file_or_says_why_in_one_line(demo, tmp_path):  # noqa: ANN001
    enc, patient = _visit(demo)
    out = tmp_path / "hs.json"
    done = run(demo, enc["id"], "--user", "bacsinhi", "--format", "json", "--out", str(out))
    # The doctor of another department, with no care relationship, may not read this patient: refused.
    assert done.returncode == 1 and not out.exists()
    assert [ln for ln in done.stderr.splitlines() if ln.startswith("benhan: BENHAN-5003: ")], done.stderr
    done = run(demo, "--patient", patient["id"], "--user", "tiepdon", "--out", str(out))
    assert done.returncode == 1 and "BENHAN-5002" in done.stderr and not out.exists()   # a registrar: no diagnoses
    done = run(demo, "--from", "2026-01-01", "--user", "tiepdon", "--out", str(out))
    assert done.returncode == 1 and "BENHAN-1019" in done.stderr and "Traceback" not in done.stderr


def test_the_command_line_export_of_a_period(demo, tmp_path):  # noqa: ANN001
    enc, patient = _visit(demo)
    out = tmp_path / "ky.xml"
    done = run(demo, "--from", "2000-01-01", "--to", "2100-12-31", "--user", "bacsi", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"written: {out} (")
    doc = etree.fromstring(out.read_bytes())
    assert schema.xml_schema().validate(doc) and doc.tag == "DanhSachHoSoBenhAn"
    assert patient["id"] in [e.text for e in doc.findall("HoSoBenhAn/ThongTinBenhNhan/mabenhnhan")]


def _login(c: TestClient, username: str) -> None:
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    c.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})


def test_the_visit_page_has_the_download_buttons(demo):  # noqa: ANN001
    enc, patient = _visit(demo)
    with TestClient(create_app(demo.config, demo), raise_server_exceptions=False) as c:
        _login(c, "bacsi")
        page = c.get(f"/ui/encounters/{enc['id']}")
        assert page.status_code == 200, page.text
        assert "Xuất hồ sơ bệnh án điện tử (CV 365, XML)" in page.text
        links = re.findall(r'href="(/ui/encounters/[^"]+/hosobenhan\?format=(?:xml|json))"', page.text)
        assert len(links) == 2
        for link in links:
            r = c.get(link)
            assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        data = c.get(links[1]).json()["HoSoBenhAn"]
        assert data["ThongTinBenhNhan"]["hoten"] == patient["name"][0]["text"]
        bad = c.get(f"/ui/encounters/{enc['id']}/hosobenhan?format=pdf")
        assert bad.status_code == 400 and "Định dạng xuất phải là XML hoặc JSON." in bad.text
    with TestClient(create_app(demo.config, demo), raise_server_exceptions=False) as c:
        _login(c, "tiepdon")
        page = c.get(f"/ui/encounters/{enc['id']}")
        assert page.status_code == 200 and "/hosobenhan?" not in page.text     # no button a registrar cannot use
        r = c.get(f"/ui/encounters/{enc['id']}/hosobenhan?format=xml")
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
        assert patient["name"][0]["text"] not in r.text
