"""A node's changes reach the hub and the hub's reach the node: every version byte-identical at
both ends, each applied once, in order; deletes and corrections too."""
from __future__ import annotations

from tests import factories
from tests.sync.harness import versions


def test_a_node_s_new_patient_and_observations_reach_the_hub_version_for_version(hub, make_node):
    node = make_node()
    p = node.repo.create("Patient", factories.patient())
    for v in (70, 72, 75):
        node.repo.create("Observation", factories.observation(f"Patient/{p.res_id}", value=v))
    node.repo.update("Patient", p.res_id, {**factories.patient(), "id": p.res_id, "gender": "female"})
    result = node.round()
    assert result.pushed == 5
    mine = versions(node.store, origin=node.store.node_id)
    assert len(mine) == 5
    assert {k: v for k, v in versions(hub.store).items() if k in mine} == mine


def test_the_hub_s_edit_of_a_node_s_patient_reaches_the_node(hub, make_node):
    node = make_node()
    p = node.repo.create("Patient", factories.patient())
    node.round()
    hub.repo.update("Patient", p.res_id, {**factories.patient(), "id": p.res_id, "gender": "other"})
    result = node.round()
    assert result.pulled == 1
    assert node.repo.read("Patient", p.res_id).version == 2
    assert versions(node.store)[("Patient", p.res_id, 2)] == versions(hub.store)[("Patient", p.res_id, 2)]


def test_deletes_and_corrections_replicate_both_ways(hub, make_node):
    node = make_node()
    p = node.repo.create("Patient", factories.patient())
    o1 = node.repo.create("Observation", factories.observation(f"Patient/{p.res_id}"))
    o2 = node.repo.create("Observation", factories.observation(f"Patient/{p.res_id}"))
    node.round()
    node.repo.delete("Observation", o1.res_id)
    hub.repo.update("Observation", o2.res_id, {**factories.observation(f"Patient/{p.res_id}", value=99),
                                              "id": o2.res_id, "status": "amended"})
    node.round()
    assert versions(node.store).items() >= {k: v for k, v in versions(hub.store).items()
                                             if k[1] in (o1.res_id, o2.res_id)}.items()
    assert versions(hub.store)[("Observation", o1.res_id, 2)] == "deleted"
    assert node.repo.read("Observation", o2.res_id).json()["status"] == "amended"


def test_shared_registry_data_goes_to_every_node(hub, make_node):
    a, b = make_node("tyt-a"), make_node("tyt-b")
    org = hub.repo.create("Organization", {"resourceType": "Organization", "name": "Sở Y tế Thanh Hóa"})
    a.round()
    b.round()
    for n in (a, b):
        assert n.repo.read("Organization", org.res_id).version == 1
