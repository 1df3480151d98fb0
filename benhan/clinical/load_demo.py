"""Loading the demo facility through the ordinary transaction path (validated, indexed, audited)."""
from __future__ import annotations

from benhan.auth.actor import Actor
from benhan.clinical.demo import facility_bundle, patients_bundle
from benhan.store.bundles import transaction
from benhan.store.repository import Repository
from benhan.store.store import Store


def load_demo(store: Store, patients: int = 200) -> int:
    repo = Repository(store, Actor.system("demo-loader"))
    n = 0
    for bundle in (facility_bundle(), patients_bundle(patients)):
        n += len(transaction(repo, bundle, "")["entry"])
    return n


def load_demo_if_empty(store: Store) -> int:
    return load_demo(store) if store.is_empty() else 0
