"""The specialty record through the real app: on the stay's page the doctor chooses 05/BV1 Sản khoa,
then writes its items (texts, tick boxes, several vaccinations …); the printouts list then offers 05/BV1
instead of 01/BV1 and the print route draws it with what was typed; a change after the first save
needs a reason, an unknown form is refused with a message (400, nothing written); signed, the document
names its form. SQLite and PostgreSQL (the stay of tests/forms/stay_seed.py)."""
from __future__ import annotations

import io
import re

import pdfplumber
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import specialty_record as sr
from benhan.documents import signing
from benhan.signing import keys
from benhan.signing.local_ca import LocalCA, Responder
from benhan.signing.trust import TrustList, certificates_in
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.clinical.test_inpatient_record import ward  # noqa: F401 - the ward fixture
from tests.forms import stay_seed
from tests.forms.test_web import PASSWORD, _login


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _pdf_text(body: bytes) -> str:
    with pdfplumber.open(io.BytesIO(body)) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


def test_the_doctor_chooses_the_obstetric_record_writes_its_items_and_prints_it(ward):  # noqa: ANN001, F811
    store = ward["repo"].store
    eid = stay_seed.stay(ward)
    users.create_user(store, "bs.hung", "Lê Văn Hùng", ["doctor"], practitioner_id=ward["staff"]["Lê Văn Hùng"],
                      password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        _login(ui, "bs.hung")
        page = ui.get(f"/ui/encounters/{eid}").text
        assert 'id="specialty-form"' in page and "05/BV1 — Bệnh án Sản khoa" in page
        assert "print.pdf?form=inpatient\"" in page and "form=inpatient-obstetric" not in page
        # An unknown form: refused with a message, nothing written.
        bad = ui.post(f"/ui/encounters/{eid}/specialty", data={"csrf": _csrf(page), "sp_form": "x"},
                      follow_redirects=False)
        assert bad.status_code == 400 and "field-error" in bad.text
        assert sr.of_visit(ward["repo"], eid) is None
        # Step 1: the form. Its items then appear.
        r = ui.post(f"/ui/encounters/{eid}/specialty", data={"csrf": _csrf(page), "sp_form": "san-khoa"},
                    follow_redirects=False)
        assert r.status_code in (302, 303), r.text[:300]
        page = ui.get(f"/ui/encounters/{eid}").text
        assert "Tim thai (lần/phút)" in page and "form=inpatient-obstetric" in page
        assert "print.pdf?form=inpatient\"" not in page
        # Step 2: the items, with the reason the first save makes necessary.
        items = {"sp_form": "san-khoa", "sp_sk_tim_thai": "Một trăm bốn mươi hai", "sp_sk_do_lot": "Lọt thấp",
                 "sp_sk_oi": "da-vo", "sp_sk_tre_gioi": "female", "sp_sk_apgar": "9 – 10 – 10"}
        no_reason = ui.post(f"/ui/encounters/{eid}/specialty", data={"csrf": _csrf(page), **items},
                            follow_redirects=False)
        assert no_reason.status_code == 400 and 'id="e-sp_reason"' in no_reason.text
        assert sr.texts(sr.of_visit(ward["repo"], eid)) == {}
        r = ui.post(f"/ui/encounters/{eid}/specialty",
                    data={"csrf": _csrf(page), **items, "sp_reason": "Khám vào khoa sản"}, follow_redirects=False)
        assert r.status_code in (302, 303), r.text[:300]
        part = sr.of_visit(ward["repo"], eid)
        assert sr.choices(part) == {"sk-oi": ["da-vo"], "sk-tre-gioi": ["female"]}
        assert sr.specialty_of(part) == "san-khoa" and part["meta"]["versionId"] == "2"
        page = ui.get(f"/ui/encounters/{eid}").text
        assert 'value="Một trăm bốn mươi hai"' in page
        pdf = ui.get(f"/ui/encounters/{eid}/print.pdf", params={"form": "inpatient-obstetric"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = _pdf_text(pdf.content)
        for words in ("MS: 05/BV1", "BỆNH ÁN SẢN KHOA", "Một trăm bốn mươi hai", "Lọt thấp", "9 – 10 – 10"):
            assert words in text, words
        assert re.search(r"Đã vỡ\s*X", text) and not re.search(r"Chưa vỡ\s*X", text)
        view = ui.get(f"/ui/encounters/{eid}/print", params={"form": "inpatient-obstetric"})     # the HTML view
        assert view.status_code == 200 and "05/BV1" in view.text and "Một trăm bốn mươi hai" in view.text
        # The whole record's spine is the specialty record too.
        whole = ui.get(f"/ui/encounters/{eid}/record.pdf")
        assert whole.status_code == 200 and "MS: 05/BV1" in _pdf_text(whole.content)
        assert "MS: 01/BV1" not in _pdf_text(whole.content)


def test_a_signed_specialty_record_names_its_form(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    repo = Repository(ward["repo"].store, Actor.system())
    sr.save(repo, stay_seed.DOCTOR, repo.read("Encounter", eid).json(), {"sp_form": "nhi-khoa",
                                                                        "sp_nhi_vong_dau": "46"}, None)
    with Responder() as responder:
        ca = LocalCA(responder.url)
        responder.ca, responder.answering = ca, True
        trust = TrustList()
        for cert in certificates_in(ca.trust_pem()):
            trust.add(cert)
        fac = ward["fac"].name
        key = keys.from_pkcs12(ca.issue(fac, organization=fac).pkcs12("p"), "p")
        done = signing.sign_encounter_document(repo, Actor.system(), eid, "inpatient-paediatric", key, trust,
                                               role="seal", base_url="http://benhan.test")
    assert "MS: 02/BV1" in _pdf_text(done.pdf)
    [doc] = [d for d in signing.signed_documents(repo, eid)]
    assert doc["category"][0]["coding"][0] == {"system": signing.FORM_KEY_SYSTEM, "code": "inpatient-paediatric"}
    assert doc["type"]["coding"][0]["code"] == "11503-0"
