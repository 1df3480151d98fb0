"""Paper → electronic in the clinician app, on both databases: a doctor uploads a scan on the patient's
paper page (multipart, CSRF-checked); without a seal configured, with a file that is not a PDF/image or
one too large, the page answers in the reader's language (never a 500) and nothing is stored; with the
seal it redirects, lists the document on the paper page and on the patient page, and the signed
documents' PDF and "Kiểm tra chữ ký" routes serve it."""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from benhan.documents import paper
from benhan.web.app import create_app
from tests.signing.test_documents import PASSWORD, _world
from tests.signing.test_paper import FACILITY, SEAL_PASSWORD, _patient, jpeg, two_page_pdf


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def doctor(store):  # noqa: ANN001, ANN201
    repo, _, eid = _world(store, "bacsi.giay")
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        c.post("/login", data={"username": "bacsi.giay", "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
        yield c, _patient(repo, eid)


def _upload(client: TestClient, pid: str, data: bytes, name: str, lang: str = "vi", **fields: str):  # noqa: ANN202
    csrf = _csrf(client.get(f"/ui/patients/{pid}/paper").text)
    return client.post(f"/ui/patients/{pid}/paper", data={"csrf": csrf, "kind": "lab", "date": "03/05/2019", **fields},
                       files={"file": (name, data, "application/octet-stream")},
                       headers={"Accept-Language": lang}, follow_redirects=False)


def test_a_doctor_converts_a_scan_in_the_browser(store, doctor, ca, tmp_path, monkeypatch):  # noqa: ANN001
    client, pid = doctor
    monkeypatch.delenv(paper.SEAL_PASSWORD_ENV, raising=False)
    page = client.get(f"/ui/patients/{pid}")
    assert page.status_code == 200 and f"/ui/patients/{pid}/paper" in page.text

    refused = _upload(client, pid, jpeg(300, 400), "scan.jpg")
    assert refused.status_code == 409 and "chưa cấu hình con dấu số" in refused.text
    refused = _upload(client, pid, jpeg(300, 400), "scan.jpg", lang="en")
    assert refused.status_code == 409 and "seal is not configured" in refused.text
    refused = _upload(client, pid, b"PK\x03\x04 a word file", "ho-so.pdf")
    assert refused.status_code == 400 and "không phải PDF, JPEG hay PNG" in refused.text
    refused = _upload(client, pid, b"%PDF-1.7\n" + b"0" * paper.MAX_BYTES, "big.pdf")
    assert refused.status_code in (400, 413) and "quá lớn" in refused.text
    refused = _upload(client, pid, b"%PDF-1.7\n" + b"0" * (paper.MAX_BYTES + 512 * 1024), "huge.pdf", lang="en")
    assert refused.status_code == 413 and "too large" in refused.text               # refused before parsing
    refused = _upload(client, pid, jpeg(300, 400), "scan.jpg", date="31/02/2019")
    assert refused.status_code == 400 and "Ngày của văn bản gốc không hợp lệ" in refused.text
    no_csrf = client.post(f"/ui/patients/{pid}/paper", data={"kind": "lab", "date": "03/05/2019"},
                          files={"file": ("a.jpg", jpeg(10, 10), "image/jpeg")}, follow_redirects=False)
    assert no_csrf.status_code < 500 and no_csrf.status_code != 303
    assert '<tr id="paper-' not in client.get(f"/ui/patients/{pid}/paper").text    # nothing stored

    (store.config.data_dir / "trust").mkdir(parents=True, exist_ok=True)
    (store.config.data_dir / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
    secret = tmp_path / "seal-password"
    secret.write_text(SEAL_PASSWORD, encoding="utf-8")
    store.config = store.config.replace(facility_seal_file=p12, facility_seal_password_file=secret)
    done = _upload(client, pid, two_page_pdf(), "benh-an-2015.pdf", title="Bệnh án cũ 2015")
    assert done.status_code == 303, done.text
    doc_id = done.headers["location"].split("converted=")[1]
    listed = client.get(done.headers["location"])
    assert f'id="paper-{doc_id}"' in listed.text and "Bệnh án cũ 2015" in listed.text
    assert f"/ui/documents/{doc_id}/pdf" in client.get(f"/ui/patients/{pid}").text
    pdf = client.get(f"/ui/documents/{doc_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"/ByteRange" in pdf.content
    checked = client.get(f"/ui/documents/{doc_id}/verify")
    assert checked.status_code == 200 and "Chữ ký hợp lệ" in checked.text and FACILITY in checked.text
