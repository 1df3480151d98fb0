"""The documents page and "Kiểm tra chữ ký" show what the later certificate check found and the
timestamps, on both databases: a discharge paper signed offline with a timestamp is listed as "not
checked yet"; after the check it reads "valid when signing", and the verification page shows the
check, its time and the TSA's timestamp; in English too."""
from __future__ import annotations

import re

from starlette.testclient import TestClient

from benhan.documents import recheck, signing
from benhan.signing import keys, timestamps
from benhan.signing.local_tsa import LocalTSA, TsaServer
from benhan.web.app import create_app
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_the_pages_show_the_recheck_and_the_timestamp(store, ca, trust, responder):  # noqa: ANN001
    (store.config.data_dir / "trust").mkdir(parents=True, exist_ok=True)
    (store.config.data_dir / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    repo, actor, eid = _world(store, "bacsi.kiemtra")
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    with TsaServer(LocalTSA(ca, name="TSA bệnh viện")) as tsa:
        responder.answering = False
        done = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust,
                                               offline_policy="sign-and-recheck", tsa=timestamps.Tsa(tsa.url))
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
        c.post("/login", data={"username": "bacsi.kiemtra", "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
        listed = c.get(f"/ui/encounters/{eid}/documents")
        assert listed.status_code == 200 and "Chưa kiểm tra được trạng thái chứng thư" in listed.text

        responder.answering = True
        [outcome] = recheck.recheck_all(repo, trust)
        assert outcome.outcome == recheck.GOOD
        listed = c.get(f"/ui/encounters/{eid}/documents")
        assert "Đã kiểm tra lại: chứng thư hợp lệ tại thời điểm ký" in listed.text
        assert "Chưa kiểm tra được trạng thái chứng thư" not in listed.text

        checked = c.get(f"/ui/documents/{done.document_reference_id}/verify")
        assert checked.status_code == 200
        assert "Kiểm tra lại trạng thái chứng thư" in checked.text and "kiểm tra lúc" in checked.text
        assert "Dấu thời gian: " in checked.text and "TSA bệnh viện" in checked.text
        english = c.get(f"/ui/documents/{done.document_reference_id}/verify", headers={"Accept-Language": "en"})
        assert "Checked again: the certificate was valid when signing" in english.text
        assert "Timestamp: " in english.text
