"""One day of the treatment sheet (and of the nursing care sheet) is a document of its own (issue 13
item 1): the doctor signs "treatment-day:<day>"; the archival PDF holds that day's entries only, with
the signing mark in the treating doctor's block, and verifies; the document is typed Progress note
(LOINC 11506-3). In the app, the documents page offers each day with an entry to print and to sign.
On SQLite and PostgreSQL (the app's journey on SQLite, like the other signing pages)."""
from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pdfplumber
import pytest
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.clinical import notes
from benhan.documents import pdfa, signing, verify
from benhan.signing import keys
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.web.app import create_app
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.signing.token import USER_PIN, make_token

COURSE = "Sốt còn 38 độ, ho đờm vàng, phổi ran ẩm đáy phải"
ORDERS = "Ceftriaxon 1g tiêm tĩnh mạch 8 giờ và 20 giờ; chăm sóc cấp hai"
EARLIER = "Diễn biến của hôm trước: mệt, chán ăn"
CARE = "Đã lau mát, theo dõi nhiệt độ mỗi 4 giờ"


def _stay(store, username: str | None = None) -> tuple[Repository, Actor, str, str]:  # noqa: ANN001
    """A doctor's inpatient stay with a progress note and a nurse's note today, and a note of the day before."""
    repo, actor, eid = _world(store, username)
    system = Repository(store, Actor.system())
    enc = system.read("Encounter", eid).json()
    enc["class"] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
    system.update("Encounter", eid, enc)
    enc = repo.read("Encounter", eid).json()
    first = notes.add(repo, actor, enc, "progress", COURSE, ORDERS)
    day = system.read("ClinicalImpression", first).json()["date"][:10]
    nurse = notes.add(repo, actor, enc, "nursing", "Sốt 38 độ lúc 14 giờ", CARE)
    body = system.read("ClinicalImpression", nurse).json()
    body["date"] = body["effectiveDateTime"] = f"{day}T14:00:00.000+07:00"      # the same day, even past midnight
    system.update("ClinicalImpression", nurse, body)
    rid = notes.add(repo, actor, enc, "progress", EARLIER, "")
    body = system.read("ClinicalImpression", rid).json()
    before = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    body["date"] = body["effectiveDateTime"] = f"{before}T09:00:00.000+07:00"
    system.update("ClinicalImpression", rid, body)
    return repo, actor, eid, day


def test_a_doctor_signs_one_day_of_the_treatment_sheet(store, ca, trust):  # noqa: ANN001
    repo, actor, eid, day = _stay(store)
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    done = signing.sign_encounter_document(repo, actor, eid, f"treatment-day:{day}", key, trust)
    assert pdfa.pdfa_problems(done.pdf) == []
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok
    [document] = signing.signed_documents(repo, eid)
    assert document["type"]["coding"][0]["code"] == "11506-3" and document["type"]["text"] == "TỜ ĐIỀU TRỊ"
    bundle = signing.bundle_of(document)
    assert verify.verify_bundle(bundle, trust).ok
    composition = bundle["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "11506-3"
    with pdfplumber.open(io.BytesIO(done.pdf)) as pdf:
        words = pdf.pages[0].extract_words()
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert COURSE[:30] in text and "Ceftriaxon 1g tiêm tĩnh mạch" in text
    assert EARLIER not in text                                   # the day before is another document
    shown = dt.date.fromisoformat(day).strftime("%d/%m/%Y")
    assert shown in text and "Đã ký số bởi: Lê Văn Hùng" in text
    title = next(w for w in words if w["text"] == "Bác")       # "Bác sĩ điều trị", the day's signature block
    mark = next(w for w in words if w["text"] == "Đã" and w["top"] > title["top"])
    assert abs(mark["x0"] - title["x0"]) < 60 and 0 < mark["top"] - title["top"] < 60

    # A correction after signing redraws the same day (the document keeps its full form key).
    from benhan.documents import amendment
    fixed = amendment.amend_document(repo, actor, document["id"], key, trust, reason="Bổ sung y lệnh")
    with pdfplumber.open(io.BytesIO(fixed.pdf)) as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert COURSE[:30] in text and EARLIER not in text and "Bổ sung y lệnh" in text

    # The nursing care sheet of the same day is another document, signed the same way.
    done = signing.sign_encounter_document(repo, actor, eid, f"nursing-day:{day}", key, trust)
    with pdfplumber.open(io.BytesIO(done.pdf)) as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert "PHIẾU CHĂM SÓC" in text and CARE[:20] in text and COURSE[:30] not in text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def app(tmp_path, ca, softhsm):  # noqa: ANN001, ANN201
    data = tmp_path / "data"
    (data / "trust").mkdir(parents=True)
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    make_token(softhsm, f"BS-{uuid.uuid4().hex[:6]}", ca, "Lê Văn Hùng", f"CCCD:{DOCTOR_CCCD}")
    store = Store.open(config_mod.load(env={}, data_dir=data, pkcs11_module=softhsm))
    try:
        repo, _, eid, day = _stay(store, "bacsi.ngay")
        with TestClient(create_app(store.config, store), raise_server_exceptions=False) as c:
            c.post("/login", data={"username": "bacsi.ngay", "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
            yield c, repo, eid, day
    finally:
        store.close()


def test_the_documents_page_offers_each_day_to_print_and_sign(app):  # noqa: ANN001
    client, repo, eid, day = app
    before = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    page = client.get(f"/ui/encounters/{eid}/documents").text
    shown = dt.date.fromisoformat(day).strftime("%d/%m/%Y")
    assert f'<option value="treatment-day:{day}">Tờ điều trị ngày {shown}</option>' in page
    assert f'value="treatment-day:{before}"' in page and f'value="nursing-day:{day}"' in page
    assert f'value="nursing-day:{before}"' not in page            # no nurse wrote that day
    assert f'href="/ui/encounters/{eid}/print.pdf?form=treatment-day:{day}"' in page
    printed = client.get(f"/ui/encounters/{eid}/print.pdf", params={"form": f"treatment-day:{day}"})
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")
    whole = client.get(f"/ui/encounters/{eid}/print.pdf", params={"form": "treatment"})
    assert whole.status_code == 200 and whole.content.startswith(b"%PDF")
    signed = client.post(f"/ui/encounters/{eid}/sign", data={"csrf": _csrf(page), "form": f"treatment-day:{day}",
                                                             "pin": USER_PIN}, follow_redirects=False)
    assert signed.status_code in (302, 303), signed.text[:2000]
    [document] = signing.signed_documents(repo, eid)
    assert document["type"]["text"] == "TỜ ĐIỀU TRỊ" and document["type"]["coding"][0]["code"] == "11506-3"
    assert COURSE[:30] in " ".join((p.extract_text() or "") for p in
                                   pdfplumber.open(io.BytesIO(signing.pdf_of(document))).pages)
