"""Failures at every step of a round: the next round finishes the work, nothing is applied twice,
nothing is lost; a replayed batch changes nothing and gets the same answer."""
from __future__ import annotations

import pytest

from benhan.sync import wire
from tests import factories
from tests.sync.harness import Fault, change_rows, versions

STEPS = ["push:before-send", "push:after-send", "pull:after-receive", "pull:during-apply", "pull:after-commit"]


def _work(node, hub, n: int = 3) -> list[str]:
    ids = []
    for _ in range(n):
        p = node.repo.create("Patient", factories.patient())
        node.repo.create("Observation", factories.observation(f"Patient/{p.res_id}"))
        ids.append(p.res_id)
    hub.repo.create("Practitioner", {"resourceType": "Practitioner", "name": [{"family": "Lê"}]})
    return ids


def _converged(node, hub) -> None:
    mine = versions(node.store, origin=node.store.node_id)
    at_hub = versions(hub.store)
    assert {k: at_hub.get(k) for k in mine} == mine
    theirs = {k: v for k, v in at_hub.items() if k[0] == "Practitioner"}
    assert {k: versions(node.store).get(k) for k in theirs} == theirs
    for rows in (change_rows(node.store), change_rows(hub.store)):
        assert len(rows) == len(set(rows)), "a version was applied twice"


@pytest.mark.parametrize("step", STEPS)
def test_a_round_that_fails_at_any_step_is_finished_by_the_next(hub, make_node, step):
    node = make_node()
    _work(node, hub)
    node.faults.armed[step] = 1
    with pytest.raises(Fault):
        node.round()
    node.round()
    _converged(node, hub)
    assert node.round().pushed + node.round().pulled == 0     # and a further round has nothing to do


def test_every_batch_replayed_changes_nothing_and_gets_the_same_answer(hub, make_node):
    node = make_node()
    _work(node, hub, 4)
    sync = node.sync()
    sent = []
    original = sync.hub.push

    def recording(message):  # noqa: ANN001, ANN202
        answer = original(message)
        sent.append((message, answer))
        return answer
    sync.hub.push = recording
    sync.round()
    before = versions(hub.store), change_rows(hub.store)
    assert sent
    for message, answer in sent:
        assert original(wire.decode(wire.encode(message))) == answer
    assert (versions(hub.store), change_rows(hub.store)) == before


def test_a_batch_cut_differently_after_a_lost_answer_applies_only_what_is_new(hub, make_node):
    node = make_node()
    _work(node, hub, 2)
    node.faults.armed["push:after-send"] = 1
    with pytest.raises(Fault):
        node.round()
    _work(node, hub, 2)                    # the next batch starts at the same seq but goes further
    node.round()
    _converged(node, hub)


def test_the_push_cursor_moves_only_after_the_hub_answers(hub, make_node):
    from benhan.store import sync_tables as st
    node = make_node()
    _work(node, hub)
    node.faults.armed["push:after-send"] = 1
    with pytest.raises(Fault):
        node.round()
    with node.store.db.read() as conn:
        assert st.get_setting(conn, "sync.push_seq") is None
