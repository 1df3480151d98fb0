"""One local CA with its OCSP responder and CRL for the signing tests (a real HTTP responder on a
free port, in a thread), and SoftHSM2 tokens issued by it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from benhan.signing.local_ca import LocalCA, Responder
from benhan.signing.trust import TrustList, certificates_in
from tests.signing.token import init_softhsm


@pytest.fixture(scope="session")
def responder() -> Iterator[Responder]:
    with Responder() as r:
        r.ca = LocalCA(r.url)
        yield r


@pytest.fixture
def ca(responder: Responder) -> Iterator[LocalCA]:
    responder.answering = True
    yield responder.ca   # type: ignore[misc]
    responder.answering = True


@pytest.fixture
def trust(ca: LocalCA) -> TrustList:
    t = TrustList()
    for cert in certificates_in(ca.trust_pem()):
        t.add(cert)
    return t


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The SoftHSM2 module, configured with a token folder of this test session."""
    return init_softhsm(tmp_path_factory.mktemp("softhsm"))
