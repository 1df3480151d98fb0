"""The seal and the drawn signature in the clinician app, on both databases (the real app in-process,
real logins): the "Đóng dấu cơ sở" button is the director's, on the discharge paper only, never the
doctor's; without a seal configured the director is told so in her language (nothing stored); with
it the paper is sealed, says so, and the verify page lists the author's signature and the seal; a
drawn signature posted empty is refused in the reader's language, a real one is listed as a
confirmation by handwriting on the screen, never as a digital signature."""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.documents import paper, signing
from benhan.signing import keys
from benhan.web.app import create_app
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.signing.test_paper import FACILITY, SEAL_PASSWORD
from tests.signing.test_seal_and_pad import data_url, drawing


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _client(store, username: str) -> TestClient:  # noqa: ANN001
    c = TestClient(create_app(store.config, store), raise_server_exceptions=False)
    c.post("/login", data={"username": username, "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
    return c


@pytest.fixture
def signed(store, ca, trust):  # noqa: ANN001, ANN201
    (store.config.data_dir / "trust").mkdir(parents=True, exist_ok=True)
    (store.config.data_dir / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    repo, actor, eid = _world(store, "bacsi.web")
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    discharge = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)
    prescription = signing.sign_encounter_document(repo, actor, eid, "prescription", key, trust)
    users.create_user(store, "giamdoc", "Đỗ Văn Minh", ["director"], password=PASSWORD)
    return eid, discharge.document_reference_id, prescription.document_reference_id


def test_the_director_seals_the_discharge_paper_in_the_app(store, ca, signed, tmp_path, monkeypatch):  # noqa: ANN001
    eid, discharge, prescription = signed
    monkeypatch.delenv(paper.SEAL_PASSWORD_ENV, raising=False)
    with _client(store, "bacsi.web") as doctor:
        page = doctor.get(f"/ui/encounters/{eid}/documents").text
        assert "/seal" not in page and f"/ui/documents/{discharge}/pad" in page
        assert doctor.post(f"/ui/documents/{discharge}/seal", data={"csrf": _csrf(page)},
                           follow_redirects=False).status_code == 403
    with _client(store, "giamdoc") as director:
        page = director.get(f"/ui/encounters/{eid}/documents").text
        assert f"/ui/documents/{discharge}/seal" in page and f"/ui/documents/{prescription}/seal" not in page
        assert f"/ui/documents/{discharge}/verify" in page and "/pad" not in page
        refused = director.post(f"/ui/documents/{discharge}/seal", data={"csrf": _csrf(page)}, follow_redirects=False)
        assert refused.status_code == 409 and "Cơ sở chưa cấu hình con dấu số" in refused.text
        refused = director.post(f"/ui/documents/{discharge}/seal", data={"csrf": _csrf(page)},
                                headers={"Accept-Language": "en"}, follow_redirects=False)
        assert refused.status_code == 409 and "seal is not configured" in refused.text
        assert len(signing.signed_documents(_world_repo(store), eid)) == 2          # nothing stored

        p12, secret = tmp_path / "seal.p12", tmp_path / "seal.pass"
        p12.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
        secret.write_text(SEAL_PASSWORD + "\n", encoding="utf-8")
        store.config = store.config.replace(facility_seal_file=p12, facility_seal_password_file=secret)
        done = director.post(f"/ui/documents/{discharge}/seal", data={"csrf": _csrf(page)}, follow_redirects=False)
        assert done.status_code == 303, done.text[:500]
        sealed = done.headers["location"].split("sealed=")[1]
        page = director.get(done.headers["location"]).text
        assert "Đã đóng dấu số của cơ sở vào tài liệu." in page and "Đã đóng dấu số của cơ sở:" in page
        assert "/seal" not in page                                    # sealed once
        assert f"/ui/documents/{discharge}/verify" not in page        # the sealed version stands for it
        verified = director.get(f"/ui/documents/{sealed}/verify").text
        assert verified.count("Chữ ký số của người lập (PDF): Chữ ký hợp lệ") == 1
        assert verified.count("Con dấu số của cơ sở (PDF): Chữ ký hợp lệ") == 1
        assert verified.count("Con dấu số của cơ sở (FHIR): Chữ ký hợp lệ") == 1
        assert "Người bệnh chưa xác nhận tài liệu này." in verified
        again = director.post(f"/ui/documents/{discharge}/seal", data={"csrf": _csrf(page)}, follow_redirects=False)
        assert again.status_code == 400 and "đã có con dấu số" in again.text


def test_the_patient_signs_on_the_screen_in_the_app(store, signed):  # noqa: ANN001
    eid, discharge, _ = signed
    with _client(store, "bacsi.web") as doctor:
        page = doctor.get(f"/ui/documents/{discharge}/pad")
        assert page.status_code == 200 and 'id="signature-pad"' in page.text and "signature_pad.js" in page.text
        csrf = _csrf(page.text)
        empty = doctor.post(f"/ui/documents/{discharge}/pad", data={"csrf": csrf, "signature": "", "device": "Tab 1"})
        assert empty.status_code == 400 and "chưa có chữ ký trên màn hình" in empty.text
        assert 'value="Tab 1"' in empty.text                            # what was typed stays
        empty = doctor.post(f"/ui/documents/{discharge}/pad", data={"csrf": csrf, "signature": ""},
                            headers={"Accept-Language": "en"})
        assert empty.status_code == 400 and "nothing was signed on the screen" in empty.text
        done = doctor.post(f"/ui/documents/{discharge}/pad", follow_redirects=False,
                           data={"csrf": csrf, "signature": data_url(drawing()), "device": "Máy tính bảng khoa Nội"},
                           headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14; SM-X200)"})
        assert done.status_code == 303
        listed = doctor.get(done.headers["location"]).text
        assert "Người bệnh xác nhận bằng chữ ký tay trên màn hình lúc" in listed
        assert "(Máy tính bảng khoa Nội) — xác nhận điện tử, không phải chữ ký số" in listed
        verified = doctor.get(f"/ui/documents/{discharge}/verify").text
        assert "xác nhận bằng chữ ký tay trên màn hình, thiết bị: Máy tính bảng khoa Nội" in verified
        assert 'src="data:image/png;base64,' in verified and "Tài liệu không thay đổi từ khi xác nhận." in verified


def _world_repo(store):  # noqa: ANN001, ANN202
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    return Repository(store, Actor.system())


def test_the_visit_page_says_which_papers_are_signed_and_sealed(store, ca, signed, tmp_path):  # noqa: ANN001
    eid, discharge, _ = signed

    def rows(html: str) -> dict[str, str]:
        return {m.group(1): m.group(0) for m in re.finditer(r'print\?form=([a-z-]+)".*?</li>', html)}
    with _client(store, "bacsi.web") as doctor:
        shown = rows(doctor.get(f"/ui/encounters/{eid}").text)
        assert "Đã ký số bởi Lê Văn Hùng" in shown["discharge"] and "Đã ký số bởi Lê Văn Hùng" in shown["prescription"]
        assert "Đã ký số" not in shown["outpatient"] and "đã đóng dấu cơ sở" not in shown["discharge"]
    p12, secret = tmp_path / "seal.p12", tmp_path / "seal.pass"
    p12.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
    secret.write_text(SEAL_PASSWORD + "\n", encoding="utf-8")
    store.config = store.config.replace(facility_seal_file=p12, facility_seal_password_file=secret)
    with _client(store, "giamdoc") as director:
        page = director.get(f"/ui/encounters/{eid}/documents").text
        assert director.post(f"/ui/documents/{discharge}/seal", data={"csrf": _csrf(page)},
                             follow_redirects=False).status_code == 303
        shown = rows(director.get(f"/ui/encounters/{eid}").text)
        assert "Đã ký số bởi Lê Văn Hùng" in shown["discharge"] and "đã đóng dấu cơ sở" in shown["discharge"]
