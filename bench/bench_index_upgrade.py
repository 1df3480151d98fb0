"""What the search-index upgrade to revision 2 costs at start-up: deleting the derived parameters'
rows (store/index_version.py drop_derived_rows) against re-reading every resource (store/reindex.py).

A SQLite database is filled with Synthea-shaped transaction Bundles (bench/synthea_like.py) indexed
the way revision 1 did (every parameter with rows of its own: fhir/derived_params switched off while
loading), and copied; the upgrade that `benhan serve` runs is timed on one copy, a full reindex on
the other. Both must leave the same index rows (checked by count). Prints the machine, the sizes
and the seconds of each.

Usage:
    .venv/bin/python bench/bench_index_upgrade.py [--bundles 40] [--work DIR]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select  # noqa: E402

from _common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.fhir.derived_params import derivations_off  # noqa: E402
from benhan.store import bundles, index_version  # noqa: E402
from benhan.store.reindex import reindex  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.schema import INDEX_TABLES, resource  # noqa: E402
from benhan.store.store import Store  # noqa: E402


def _open(data_dir: Path) -> Store:
    return Store.open(config_mod.load(env={}, data_dir=data_dir))


def _counts(store: Store) -> tuple[int, int]:
    with store.db.read() as conn:
        resources = conn.execute(select(func.count()).select_from(resource)).scalar()
        rows = sum(conn.execute(select(func.count()).select_from(t)).scalar() for t in INDEX_TABLES.values())
    return resources, rows


def _load(data_dir: Path, count: int) -> tuple[int, int, float]:
    """The Synthea-shaped Bundles into a new database; (resources, index rows, seconds)."""
    from synthea_like import World, bundle_sizes, patient_bundle
    store = _open(data_dir)
    try:
        repo = Repository(store, Actor.system("bench"))
        world = World(seed=1)
        start = time.perf_counter()
        for i, n in enumerate(bundle_sizes(count, seed=1000)):
            bundles.process_bundle(repo, patient_bundle(world, n, seed=1000 + i), "http://localhost/fhir")
        return (*_counts(store), time.perf_counter() - start)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", type=int, default=40, help="Synthea-shaped Bundles (100 to 4,000 entries)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the databases (a temporary one)")
    args = parser.parse_args()
    print_machine()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-index-upgrade-"))

    with derivations_off():         # every parameter with rows of its own, as revision 1 indexed
        resources, rows_before, seconds = _load(work / "upgrade", args.bundles)
    print(f"loaded {resources} resources with revision 1's {rows_before} index rows in {seconds:.0f} s")
    shutil.copytree(work / "upgrade", work / "rebuild")

    store = _open(work / "upgrade")
    start = time.perf_counter()
    gone = index_version.drop_derived_rows(store)
    upgrade_s = time.perf_counter() - start
    _, rows_after = _counts(store)
    store.close()

    store = _open(work / "rebuild")
    start = time.perf_counter()
    done = reindex(store)
    rebuild_s = time.perf_counter() - start
    _, rows_rebuilt = _counts(store)
    store.close()

    print(f"upgrade (delete the derived rows): {upgrade_s:6.1f} s, {gone} rows deleted, "
          f"{rows_after} left ({rows_after / resources:.1f} per resource)")
    print(f"full reindex:                      {rebuild_s:6.1f} s, {done} resources re-read, {rows_rebuilt} rows")
    if rows_after != rows_rebuilt:
        sys.exit(f"the two indexes differ: {rows_after} rows against {rows_rebuilt}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
