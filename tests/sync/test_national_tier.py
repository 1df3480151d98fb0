"""A national tier by the same protocol (docs/scaling.md): a provincial hub is a node of a national
hub — invited there, enrolled with its own key, authenticated by a signed JWT assertion — and pushes
its whole change log up with POST /sync/push. Two benhan servers on two PostgreSQL databases, two
facility nodes on SQLite below the province: at the end the national hub holds exactly the
province's versions, byte for byte (SHA-256 of every version), numbered the same; a second sync
sends only what is new, and batches sent again (a lost answer) change nothing."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from benhan.sync import enrolment, upstream
from tests import factories
from tests.conftest import empty_pg, own_pg_database
from tests.sync.harness import HUB_URL, Hub, Node, change_rows, versions


@pytest.fixture
def national_db() -> Iterator[str]:
    yield from own_pg_database("benhan_national")


@pytest.fixture
def tiers(tmp_path: Path, pg_database: str, national_db: str) -> Iterator[tuple[Hub, Hub, list[Node]]]:
    province = Hub(tmp_path / "province", empty_pg(pg_database))
    national = Hub(tmp_path / "national", national_db)
    nodes: list[Node] = []
    try:
        for name in ("tyt-a", "ttyt-b"):
            org = province.repo.create("Organization", {"resourceType": "Organization", "name": f"Trạm {name}"})
            nodes.append(Node(tmp_path / "nodes", province, name, organization_id=org.res_id))
        yield province, national, nodes
    finally:
        for n in nodes:
            n.close()
        national.close()
        province.close()


def _facility_day(node: Node, patients: int = 3) -> list[str]:
    ids = []
    for _ in range(patients):
        p = node.repo.create("Patient", factories.patient())
        ids.append(p.res_id)
        for value in (36.8, 38.2):
            node.repo.create("Observation", factories.observation(f"Patient/{p.res_id}", value=value))
    return ids


def test_a_provincial_hub_pushes_its_whole_record_to_the_national_hub_byte_for_byte(tiers):
    province, national, (a, b) = tiers
    pa, pb = _facility_day(a), _facility_day(b)
    doomed = a.repo.create("Observation", factories.observation(f"Patient/{pa[0]}"))
    a.repo.delete("Observation", doomed.res_id)
    a.round()
    b.round()
    # The province's own edit of a facility's patient (origin: the provincial hub).
    province.repo.update("Patient", pb[0], {**factories.patient(), "id": pb[0], "gender": "female"})

    token = enrolment.invite(national.store, "province-38")
    upstream.enroll(province.store, HUB_URL, token, http=national.client)
    up = upstream.client(province.store, http=national.client)
    first = upstream.push_all(province.store, up)
    assert first["applied"] == len(change_rows(province.store))
    assert first["conflicts"] == first["refused"] == first["invalid"] == 0

    held = versions(province.store)
    assert versions(national.store) == held         # every version, same number, same SHA-256
    assert ("Observation", doomed.res_id, 2) in held and held[("Observation", doomed.res_id, 2)] == "deleted"
    origins = Counter(o for *_, o in change_rows(province.store))
    assert {a.store.node_id, b.store.node_id, province.store.node_id} <= set(origins)
    assert {o for *_, o in change_rows(national.store)} == {province.store.node_id}

    # The next day: only what is new goes up.
    a.repo.update("Patient", pa[1], {**factories.patient(), "id": pa[1], "gender": "other"})
    _facility_day(b, 1)
    a.round()
    b.round()
    second = upstream.push_all(province.store, up)
    assert second["applied"] == 4 and second["skipped"] == 0
    assert versions(national.store) == versions(province.store)

    # Every batch sent again, as after lost answers: recognised, nothing applied twice.
    rows_before = len(change_rows(national.store))
    with province.store.db.write() as conn:
        from benhan.store import sync_tables as st
        st.set_setting(conn, "upstream.push_seq", "0")
    again = upstream.push_all(province.store, up)
    assert again["batches"] >= 1 and again["applied"] == 0
    assert len(change_rows(national.store)) == rows_before
    assert versions(national.store) == versions(province.store)
    assert not [k for k, n in Counter((t, i, v) for t, i, v, _ in change_rows(national.store)).items() if n > 1]
