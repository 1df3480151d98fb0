"""Concurrent edits never overwrite each other silently: the version the hub holds keeps its
place, the other edit is set aside in the review queue at both ends, and resolving it makes a new
version everywhere. Append-only data merges without review. Same CCCD at two facilities: duplicate
candidates, never merged."""
from __future__ import annotations

from benhan.clinical import patient_link
from benhan.store import sync_tables as st
from benhan.sync import review
from tests import factories
from tests.sync.harness import versions


def _open(store) -> list:  # noqa: ANN001
    with store.db.read() as conn:
        return st.conflicts(conn, "open")


def _patient(node, hub, **extra):  # noqa: ANN001, ANN202
    p = node.repo.create("Patient", factories.patient(**extra))
    node.round()
    return p.res_id


def _edited_at_both_ends(node, hub) -> str:  # noqa: ANN001
    """A patient synced to the hub, then changed from the same version at the node (female) and at
    the hub (other), before the next round."""
    pid = _patient(node, hub)
    node.repo.update("Patient", pid, {**factories.patient(), "id": pid, "gender": "female"})
    hub.repo.update("Patient", pid, {**factories.patient(), "id": pid, "gender": "other"})
    return pid


def test_a_node_edit_and_a_hub_edit_of_the_same_version_are_both_kept_for_review(hub, make_node):
    node = make_node()
    pid = _edited_at_both_ends(node, hub)
    result = node.round()
    assert [c["id"] for c in result.conflicts] == [pid, pid]       # at the hub, then here
    # Nothing overwritten: both ends hold the hub's version 2; the node's edit waits in both queues.
    assert node.repo.read("Patient", pid).json()["gender"] == "other"
    assert hub.repo.read("Patient", pid).json()["gender"] == "other"
    for store in (node.store, hub.store):
        [c] = _open(store)
        assert (c.res_id, c.kept_version) == (pid, 2)
        assert b'"female"' in c.their_body


def test_resolving_at_the_node_makes_a_new_version_everywhere_and_closes_both_queues(hub, make_node):
    node = make_node()
    pid = _edited_at_both_ends(node, hub)
    node.round()
    [c] = _open(node.store)
    version = review.resolve_conflict(node.store, c.pk, "theirs", by="bs.lan")
    node.round()
    assert version == 3
    assert hub.repo.read("Patient", pid).json()["gender"] == "female"
    assert _open(node.store) == [] and _open(hub.store) == []
    assert versions(node.store)[("Patient", pid, 3)] == versions(hub.store)[("Patient", pid, 3)]


def test_resolving_at_the_hub_reaches_the_node_and_closes_its_queue(hub, make_node):
    node = make_node()
    pid = _edited_at_both_ends(node, hub)
    node.round()
    [c] = _open(hub.store)
    review.resolve_conflict(hub.store, c.pk, "kept", by="so-y-te")
    node.round()
    assert _open(node.store) == [] and _open(hub.store) == []
    assert node.repo.read("Patient", pid).version == 3


def test_two_nodes_editing_a_referred_patient_conflict_for_the_second(hub, make_node):
    a = make_node("tyt-a")
    b_org = hub.repo.create("Organization", {"resourceType": "Organization", "name": "TTYT huyện"}).res_id
    b = make_node("ttyt-b", organization_id=b_org)
    pid = _patient(a, hub)
    hub.repo.create("ServiceRequest", {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                                       "subject": {"reference": f"Patient/{pid}"},
                                       "performer": [{"reference": f"Organization/{b_org}"}]})
    b.round()
    assert b.repo.read("Patient", pid).version == 1
    a.repo.update("Patient", pid, {**factories.patient(), "id": pid, "gender": "female"})
    b.repo.update("Patient", pid, {**factories.patient(), "id": pid, "gender": "other"})
    a.round()
    result = b.round()
    assert result.conflicts
    assert b.repo.read("Patient", pid).json()["gender"] == "female"     # a's came first
    assert [c.origin_node for c in _open(hub.store)] == [b.store.node_id]
    assert len(_open(a.store)) == 0 and len(_open(b.store)) == 1


def test_concurrent_edits_of_an_observation_merge_without_review(hub, make_node):
    node = make_node()
    pid = _patient(node, hub)
    o = node.repo.create("Observation", factories.observation(f"Patient/{pid}"))
    node.round()
    node.repo.update("Observation", o.res_id, {**factories.observation(f"Patient/{pid}", value=80), "id": o.res_id})
    hub.repo.update("Observation", o.res_id, {**factories.observation(f"Patient/{pid}", value=81),
                                              "id": o.res_id, "status": "amended"})
    node.round()
    node.round()
    assert _open(node.store) == [] and _open(hub.store) == []
    at_node, at_hub = node.repo.read("Observation", o.res_id), hub.repo.read("Observation", o.res_id)
    assert at_node.version == at_hub.version == 3
    assert at_node.json()["valueQuantity"]["value"] == 80
    same = [k for k in versions(hub.store) if k[1] == o.res_id]
    assert {k: versions(node.store)[k] for k in same} == {k: versions(hub.store)[k] for k in same}


def test_the_same_cccd_registered_at_two_facilities_is_a_duplicate_candidate_not_a_merge(hub, make_node):
    a, b = make_node("tyt-a"), make_node("tyt-b")
    pa = a.repo.create("Patient", factories.patient(cccd="038090001234")).res_id
    pb = b.repo.create("Patient", factories.patient(cccd="038090001234", given=("Thị", "Mai"))).res_id
    a.round()
    b.round()
    with hub.store.db.read() as conn:
        [d] = st.duplicates(conn)
    assert {d.patient_a, d.patient_b} == {pa, pb} and d.value == "038090001234"
    assert hub.repo.read("Patient", pa).version == 1 and hub.repo.read("Patient", pb).version == 1
    review.review_duplicate(hub.store, d.pk, "same", by="so-y-te", link=patient_link.link)
    with hub.store.db.read() as conn:
        assert st.duplicates(conn) == []
