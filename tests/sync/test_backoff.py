"""Issue 11 item 9: the runner's backoff measures how long the hub has been unreachable, so a round
that made progress (a batch acknowledged, a page applied) before its transfer was cut is retried
after the first pause, not after the long one the outage had built up. The clock is injected: the
runner's pauses are recorded, never slept."""
from __future__ import annotations

import pytest

from benhan.sync import runner as runner_mod
from benhan.sync.runner import SyncRunner
from tests import factories

OUTAGE = 6          # rounds that fail before anything gets through: 2, 4, 8, 16, 32, 64 s
INTERVAL = 60.0


def _run(node, rounds: int) -> list[float]:  # noqa: ANN001
    """Run the node's runner in this thread for `rounds` rounds; the pauses it asked for."""
    pauses: list[float] = []

    def wait(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) >= rounds:
            runner.stop()
    runner = SyncRunner(node.store, interval=INTERVAL, make=node.sync, wait=wait, jitter=lambda: 1.0)
    runner.run()
    return pauses


@pytest.mark.parametrize("progress", ["batch acknowledged", "page applied"])
def test_a_round_that_made_progress_resets_the_backoff(hub, make_node, progress):  # noqa: ANN001
    node = make_node()
    if progress == "batch acknowledged":
        # The node has work: the outage stops every push; then one push gets through and the
        # pull after it is cut.
        for _ in range(3):
            node.repo.create("Patient", factories.patient())
        node.faults.armed.update({"push:before-send": OUTAGE, "pull:after-receive": 1})
    else:
        # Only the hub has work: the outage loses every page; then one page is applied and the
        # link is cut just after.
        hub.repo.create("Practitioner", {"resourceType": "Practitioner", "name": [{"family": "Lê"}]})
        node.faults.armed.update({"pull:after-receive": OUTAGE, "pull:after-commit": 1})
    pauses = _run(node, OUTAGE + 2)
    outage = [runner_mod.backoff(n, 1.0) for n in range(1, OUTAGE + 1)]
    assert pauses[:OUTAGE] == outage == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    assert pauses[OUTAGE] == runner_mod.FIRST_RETRY_S, "progress was made: retry at once, not after the outage's pause"
    assert pauses[OUTAGE + 1] == INTERVAL          # and the round after it succeeded


def test_rounds_without_progress_back_off_to_the_cap(hub, make_node):  # noqa: ANN001
    node = make_node()
    node.repo.create("Patient", factories.patient())
    node.faults.armed["push:before-send"] = 12
    pauses = _run(node, 12)
    assert pauses == [min(runner_mod.MAX_BACKOFF_S, 2.0 * 2 ** n) for n in range(12)]
