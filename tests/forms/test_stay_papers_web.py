"""The stay's papers through the real app and the signing path: the visit page offers the death notice
only after a death; the print route draws 01/BV1, the discharge paper and the death notice with the
layout engine (audited); 01/BV1 and the death notice signed with the facility's seal verify, and the
seal's mark is printed in the head's block. SQLite and PostgreSQL (the stays of tests/forms/stay_seed.py)."""
from __future__ import annotations

import io

import pdfplumber
import pytest
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.documents import pdfa, signing, verify
from benhan.signing import keys
from benhan.signing.local_ca import LocalCA, Responder
from benhan.signing.trust import TrustList, certificates_in
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.clinical.test_inpatient_record import ward  # noqa: F401 - the ward fixture
from tests.forms import stay_seed
from tests.forms.test_web import PASSWORD, _login, _prints


def test_the_visit_page_offers_the_death_notice_only_after_a_death(ward):  # noqa: ANN001, F811
    store = ward["repo"].store
    lived, died = stay_seed.stay(ward), stay_seed.died(ward)
    users.create_user(store, "bs.hung", "Lê Văn Hùng", ["doctor"], practitioner_id=ward["staff"]["Lê Văn Hùng"],
                      password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        _login(ui, "bs.hung")
        assert "print.pdf?form=death" not in ui.get(f"/ui/encounters/{lived}").text
        page = ui.get(f"/ui/encounters/{died}")
        assert page.status_code == 200 and "print.pdf?form=death" in page.text and "Giấy báo tử" in page.text
        for eid, form, words in ((died, "death", ["GIẤY BÁO TỬ", "Nhồi máu cơ tim cấp"]),
                                 (lived, "inpatient", ["MS: 01/BV1", "Cấp cứu X", stay_seed.S["surgery"]]),
                                 (lived, "discharge", ["GIẤY RA VIỆN", stay_seed.S["method"]])):
            r = ui.get(f"/ui/encounters/{eid}/print.pdf", params={"form": form})
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", (form, r.text[:300])
            with pdfplumber.open(io.BytesIO(r.content)) as doc:
                text = "\n".join(p.extract_text() or "" for p in doc.pages)
            assert all(w in text for w in words), form
        assert sorted(p["form"] for p in _prints(store)) == ["death", "discharge", "inpatient"]


@pytest.fixture(scope="module")
def ca():  # noqa: ANN201
    with Responder() as r:
        r.ca = LocalCA(r.url)
        r.answering = True
        yield r.ca


@pytest.mark.parametrize("form", ["inpatient", "death"])
def test_signed_with_the_seal_it_verifies_and_the_mark_is_in_the_heads_block(ward, ca, form):  # noqa: ANN001, F811
    eid = stay_seed.died(ward)
    trust = TrustList()
    for cert in certificates_in(ca.trust_pem()):
        trust.add(cert)
    fac = ward["fac"].name
    key = keys.from_pkcs12(ca.issue(fac, organization=fac).pkcs12("p"), "p")
    repo = Repository(ward["repo"].store, Actor.system())
    done = signing.sign_encounter_document(repo, Actor.system(), eid, form, key, trust, role="seal",
                                           base_url="http://benhan.test")
    assert pdfa.pdfa_problems(done.pdf) == []
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok
    with pdfplumber.open(io.BytesIO(done.pdf)) as doc:
        page = next(p for p in doc.pages if "Đã ký số bởi:" in (p.extract_text() or ""))
        words = page.extract_words()
    head = next(w for w in words if w["text"] == "Trạm")          # the commune station's head: "Trạm trưởng"
    mark = next(w for w in words if w["text"] == "Đã")
    assert head["top"] < mark["top"] and abs(head["x0"] - mark["x0"]) < 80
