"""Correcting a signed document in the clinician app: "Sửa sau khi ký" asks for the reason and the
token's PIN, signs the corrected version, and the documents page then shows the old version as
superseded (no edit on it) and the new one as amendable; the chain page verifies both. No reason,
a wrong PIN or a replaced version is a translated message on the page, never an error page."""
from __future__ import annotations

import re
import uuid

import pytest
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.documents import signing
from benhan.signing import keys
from benhan.store.store import Store
from benhan.web.app import create_app
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.signing.token import USER_PIN, make_token


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def signed(tmp_path, ca, trust, softhsm):  # noqa: ANN001, ANN201
    data = tmp_path / "data"
    (data / "trust").mkdir(parents=True)
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    make_token(softhsm, f"BS-{uuid.uuid4().hex[:6]}", ca, "Lê Văn Hùng", f"CCCD:{DOCTOR_CCCD}")
    store = Store.open(config_mod.load(env={}, data_dir=data, pkcs11_module=softhsm))
    try:
        repo, actor, eid = _world(store, "bacsi.sua")
        key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
        v1 = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)
        with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
            c.post("/login", data={"username": "bacsi.sua", "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
            yield c, repo, eid, v1.document_reference_id
    finally:
        store.close()


def _amend(client: TestClient, doc_id: str, lang: str = "vi", **fields: str):  # noqa: ANN202
    csrf = _csrf(client.get(f"/ui/documents/{doc_id}/amend").text)
    return client.post(f"/ui/documents/{doc_id}/amend", data={"csrf": csrf, **fields},
                       headers={"Accept-Language": lang}, follow_redirects=False)


def _row(html: str, doc_id: str) -> str:
    found = re.search(rf'<tr id="doc-{doc_id}">(.*?)</tr>', html, re.S)
    assert found, html
    return found.group(1)


def test_a_doctor_amends_a_signed_document_in_the_browser(signed):  # noqa: ANN001
    client, repo, eid, v1 = signed
    page = client.get(f"/ui/encounters/{eid}/documents").text
    assert f'href="/ui/documents/{v1}/amend"' in _row(page, v1) and "Sửa sau khi ký" in page

    refused = _amend(client, v1, reason="   ", pin=USER_PIN)
    assert refused.status_code == 400 and "phải ghi lý do sửa đổi" in refused.text
    refused = _amend(client, v1, lang="en", reason="", pin=USER_PIN)
    assert refused.status_code == 400 and "needs its reason" in refused.text
    wrong = _amend(client, v1, reason="Sửa lời dặn", pin="000000")
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    assert len(signing.signed_documents(repo, eid)) == 1                    # nothing stored

    done = _amend(client, v1, reason="Sửa lời dặn khi ra viện", pin=USER_PIN)
    assert done.status_code == 303, done.text[:2000]
    v2 = done.headers["location"].split("signed=")[1]
    page = client.get(f"/ui/encounters/{eid}/documents").text
    old, new = _row(page, v1), _row(page, v2)
    assert "Đã được thay thế bởi bản sửa đổi" in old and "/amend" not in old
    assert f'href="/ui/documents/{v2}/amend"' in new and f'/ui/documents/{v2}/chain' in new

    chain = client.get(f"/ui/documents/{v1}/chain")
    assert chain.status_code == 200 and "Cả 2 bản và các liên kết giữa chúng đều hợp lệ" in chain.text
    assert "Sửa lời dặn khi ra viện" in chain.text and chain.text.count('class="card verify ok"') == 2
    english = client.get(f"/ui/documents/{v2}/chain", headers={"Accept-Language": "en"})
    assert "All 2 versions and the links between them are valid" in english.text
    assert f"/ui/documents/{v1}/chain" in client.get(f"/ui/documents/{v1}/verify").text

    again = _amend(client, v1, reason="sửa lần nữa", pin=USER_PIN)      # only the latest version is amended
    assert again.status_code == 400 and f"đã được thay thế bởi DocumentReference/{v2}" in again.text
    assert 'name="reason"' not in again.text and f'href="/ui/documents/{v2}/amend"' in again.text
