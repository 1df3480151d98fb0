"""Loading the demo facility: a district health centre with its departments, staff and 200
synthetic patients with their records (benhan.clinical.synth), written through the ordinary write
path (validated, indexed, audited as demo-generator).

The code lists the app needs (ICD-10 above all: no diagnosis can be recorded without it) are loaded
first when missing (terminology.load.ensure), from the files packaged with benhan.

Ids come from the seed and each resource is written as an update, so loading the demo again with
the same seed writes nothing new (every version is a no-op).
"""
from __future__ import annotations

from collections.abc import Callable

from benhan.clinical.synth.bulk import generate
from benhan.store.store import Store
from benhan.terminology.load import ensure as ensure_code_lists


def load_demo(store: Store, patients: int = 200, seed: int = 2026,
              progress: Callable[[str], None] | None = None) -> int:
    ensure_code_lists(store, progress)
    written = generate(store, patients=patients, seed=seed, facilities=1, workers=0, upsert=True).resources
    # The prescription form chooses from the facility's drug catalogue: the demo has one too.
    from benhan.clinical.demo_catalogue import load_demo_catalogue
    load_demo_catalogue(store)
    # Rooms and beds of its inpatient departments (clinical.beds): the ward board has something to show.
    from benhan.auth.actor import Actor
    from benhan.clinical.beds import load_demo_beds
    from benhan.store.repository import Repository
    load_demo_beds(Repository(store, Actor.system()), Actor.system())
    return written


def load_demo_if_empty(store: Store, progress: Callable[[str], None] | None = None) -> int:
    return load_demo(store, progress=progress) if store.is_empty() else 0
