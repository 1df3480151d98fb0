"""Loading synthetic data into each store: the demo facility (again: nothing new) and the bulk path."""
from __future__ import annotations

from benhan.auth.actor import Actor
from benhan.clinical.load_demo import load_demo
from benhan.clinical.synth.bulk import generate
from benhan.store.repository import Repository


def _count(store, res_type: str) -> int:  # noqa: ANN001
    return Repository(store, Actor.system("test")).search_type(res_type, [("_summary", "count")]).total


def test_the_demo_loads_and_loading_it_again_writes_no_new_version(store):  # noqa: ANN001
    n = load_demo(store, patients=12, seed=3)
    assert n > 12 * 10 and _count(store, "Patient") == 12
    repo = Repository(store, Actor.system("test"))
    patient = repo.search_type("Patient", [("_count", "1")]).matches[0]
    assert load_demo(store, patients=12, seed=3) == n
    assert repo.read("Patient", patient.res_id).version == patient.version == 1
    assert _count(store, "Patient") == 12


def test_the_bulk_path_writes_every_resource_in_worker_processes(store):  # noqa: ANN001
    figures = generate(store, patients=30, seed=9, workers=2, commit_every=300)
    total = sum(_count(store, t) for t in figures.by_type)
    assert total == figures.resources and figures.by_type["Patient"] == 30
