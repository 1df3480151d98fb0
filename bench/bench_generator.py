"""Throughput of the synthetic-data bulk path (benhan.clinical.synth.bulk): patients and resources a
second, generated, validated, index-extracted and committed through the store's batched writer into
a new database — the work `benhan demo --patients N` does.

    .venv/bin/python bench/bench_generator.py --patients 10000 --data-dir bench/data/gen10k
    .venv/bin/python bench/bench_generator.py --patients 100000 --workers 2 --data-dir bench/data/gen100k

It prints the machine, the figures, the database size, and — when N is below 100,000 — the time
100,000 patients would take at the measured rate, labelled as an extrapolation.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("BENHAN_SRC") or str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402

from benhan.clinical.synth.bulk import generate  # noqa: E402
from benhan.config import load as load_config  # noqa: E402
from benhan.store.store import Store  # noqa: E402

GOAL_PATIENTS, GOAL_RESOURCES, GOAL_SECONDS = 100_000, 3_000_000, 30 * 60


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the worker processes)."""
    import resource
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _size(data_dir: Path, database_url: str | None) -> int | None:
    if database_url:
        return None
    return sum(p.stat().st_size for p in data_dir.glob("*.sqlite*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes that generate, prepare and commit (0: all in this one)")
    ap.add_argument("--data-dir", type=Path, required=True, help="a new, empty folder (bench/data is git-ignored)")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here as JSON too")
    args = ap.parse_args()
    machine = print_machine(args.database_url)
    store = Store.open(load_config(env={}, data_dir=args.data_dir, database_url=args.database_url))
    if not store.is_empty():
        store.close()
        sys.exit(f"{args.data_dir}: the database is not empty; give a new folder")
    load = os.getloadavg()[0]
    cpu_before = _cpu_seconds()

    def progress(f) -> None:  # noqa: ANN001
        print(f"  … {f.resources:,} resources in {f.seconds:,.0f} s, {f.per_second:,.0f}/s", flush=True)

    try:
        f = generate(store, patients=args.patients, seed=args.seed, workers=args.workers, progress=progress)
    finally:
        store.close()
    size = _size(args.data_dir, args.database_url)     # after close: SQLite has checkpointed its WAL
    cpu = _cpu_seconds() - cpu_before
    per_patient = f.resources / f.patients
    print(f"patients {f.patients:,}  resources {f.resources:,} ({per_patient:.1f} a patient)  workers {f.workers}")
    print(f"time {f.seconds:,.1f} s  →  {f.per_second:,.0f} resources/s, {f.patients / f.seconds:,.1f} patients/s")
    if f.index_seconds:
        print(f"  of which building the search indexes at the end (new database) {f.index_seconds:,.1f} s")
    print(f"commit time (summed over workers) {f.commit_seconds:,.1f} s; load average at start {load:.2f}, "
          f"at end {os.getloadavg()[0]:.2f}")
    cores = os.cpu_count() or 1
    print(f"CPU time (this process + workers, user+system) {cpu:,.1f} s = {cpu / f.resources * 1e6:,.0f} µs a "
          f"resource → ceiling on {cores} idle cores ≈ {cores * f.resources / cpu:,.0f} resources/s "
          "(an estimate: it ignores waits for the SQLite write lock and the disk)")
    if size:
        print(f"database {size / 2**30:.2f} GiB ({size / f.resources:,.0f} bytes a resource)")
    print("by type: " + ", ".join(f"{t} {n:,}" for t, n in sorted(f.by_type.items(), key=lambda kv: -kv[1])))
    if f.patients < GOAL_PATIENTS:
        est = GOAL_PATIENTS * per_patient / f.per_second
        print(f"EXTRAPOLATION (not measured): {GOAL_PATIENTS:,} patients ≈ {GOAL_PATIENTS * per_patient:,.0f} "
              f"resources ≈ {est / 60:,.0f} min at this rate (goal ≤ {GOAL_SECONDS // 60} min); a growing "
              "SQLite database commits more slowly, so the real figure is likely higher")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "patients": f.patients, "resources": f.resources,
                                         "seconds": f.seconds, "per_second": f.per_second, "workers": f.workers,
                                         "commit_seconds": f.commit_seconds,
                                         "index_seconds": f.index_seconds, "by_type": f.by_type, "cpu_seconds": cpu,
                                         "database_bytes": size}, indent=2) + "\n")


if __name__ == "__main__":
    main()
