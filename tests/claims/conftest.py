"""The facility's seal (a PKCS#12 from a local CA) and the stand-in gateway on a free port."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benhan.claims.standin import Card, StandIn, State
from benhan.signing import xmldsig
from benhan.signing.local_ca import LocalCA
from tests.claims.episodes import FACILITY

SEAL_PASSWORD = "con-dau-thu"
USERNAME, PASSWORD = f"{FACILITY}_BV", "mat-khau-cong"


@pytest.fixture(autouse=True)
def facility_in_viet_nam() -> Iterator[None]:
    """The tables write local times in the facility's zone (setting `timezone`, process-wide): these
    tests' facility is in Viet Nam whatever an earlier test set."""
    from benhan.fhir import datetimes
    before = datetimes.local_zone()
    datetimes.set_local_zone("+07:00")
    yield
    datetimes._local = before       # put back exactly what was there


@pytest.fixture(scope="session")
def local_ca() -> LocalCA:
    return LocalCA("http://127.0.0.1:9")      # no status checks here: only its certificates are used


@pytest.fixture(scope="session")
def seal_p12(local_ca: LocalCA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    issued = local_ca.issue("Bệnh viện Đa khoa Thử nghiệm", organization="Bệnh viện Đa khoa Thử nghiệm")
    path = tmp_path_factory.mktemp("seal") / "seal.p12"
    path.write_bytes(issued.pkcs12(SEAL_PASSWORD))
    return path


@pytest.fixture(scope="session")
def seal(seal_p12: Path) -> xmldsig.XmlKey:
    return xmldsig.key_from_pkcs12(seal_p12.read_bytes(), SEAL_PASSWORD)


@pytest.fixture
def standin(seal: xmldsig.XmlKey) -> Iterator[StandIn]:
    state = State(USERNAME, PASSWORD, FACILITY, cert_pem=seal.cert_pem,
                  cards={"GD3010123456780": Card("GD3010123456780", "Hoàng Thu Trang", "30/12/1975", "01/01/2026",
                                                 "31/12/2026", "01001", five_years="01/03/2024", area="K1")},
                  staff={"001080001111": "Đỗ Thị Lan"})
    server = StandIn(state).start()
    yield server
    server.stop()
