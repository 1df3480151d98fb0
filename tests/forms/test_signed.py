"""A form the layout engine draws, signed with the facility's seal: the archival PDF is PDF/A, its
signature verifies, and the signing mark ("Đã ký số bởi …") is printed inside the facility
representative's signature block — under its title, above the dotted line of the name. On SQLite
and PostgreSQL, against a local CA with its OCSP responder."""
from __future__ import annotations

import io

import pdfplumber
import pytest

from benhan.auth.actor import Actor
from benhan.documents import pdfa, signing, verify
from benhan.signing import keys
from benhan.signing.local_ca import LocalCA, Responder
from benhan.signing.trust import TrustList, certificates_in
from benhan.store.repository import Repository
from tests.forms import seed


@pytest.fixture(scope="module")
def ca():  # noqa: ANN201
    with Responder() as r:
        r.ca = LocalCA(r.url)
        r.answering = True
        yield r.ca


@pytest.mark.parametrize("form", ["outpatient", "followup", "sickleave"])
def test_the_seal_mark_lands_in_the_representatives_block(store, ca, form):  # noqa: ANN001
    ids = seed.build(store)
    trust = TrustList()
    for cert in certificates_in(ca.trust_pem()):
        trust.add(cert)
    seal = ca.issue(seed.V["facility"], organization=seed.V["facility"])
    key = keys.from_pkcs12(seal.pkcs12("p"), "p")
    repo = Repository(store, Actor.system())
    done = signing.sign_encounter_document(repo, Actor.system(), ids["encounter"], form, key, trust, role="seal",
                                           base_url="http://benhan.test")     # now: the OCSP answer's own time
    assert pdfa.pdfa_problems(done.pdf) == []
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok
    with pdfplumber.open(io.BytesIO(done.pdf)) as doc:
        page = next(p for p in doc.pages if "Đã ký số bởi:" in (p.extract_text() or ""))
        words = page.extract_words()
    text = " ".join(w["text"] for w in words)
    assert "Đã ký số bởi:" in text and "Thời điểm ký:" in text and "Chứng thư số:" in text
    head = next(w for w in words if w["text"] == seed.V["head-title"].split()[0])
    mark = next(w for w in words if w["text"] == "Đã")
    assert head["top"] < mark["top"] and abs(head["x0"] - mark["x0"]) < 60      # in the left block, below its title
