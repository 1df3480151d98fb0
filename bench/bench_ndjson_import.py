"""NDJSON import (`benhan import ndjson`): resources per second into an empty database, the memory it
takes, and a second run of the same files (every line unchanged).

N synthetic patients (the demo generator's bulk path, ~34 resources each) are written into a source
SQLite database and exported with the Bulk Data export's writer (store.bulk_export.export_rows, the
files `benhan export --all` writes under resources/); those files are then imported through
store.ndjson_import — the code the command and `POST /fhir/$import` run — into a fresh SQLite (or
PostgreSQL, --database-url: an empty database) database.

Printed: resources and bytes, seconds and resources/s of the import and of the second run, RSS
before and peak during the import (peak reset after the fill, /proc/self/clear_refs), the load
average, and the machine.

    .venv/bin/python bench/bench_ndjson_import.py --patients 300
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.clinical.synth.bulk import generate  # noqa: E402
from benhan.store import bulk_export, ndjson_import  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--database-url", default=None, help="an EMPTY PostgreSQL database to import into")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        source = Store.open(config_mod.load(env={}, data_dir=work / "source"))
        generate(source, patients=args.patients, seed=11)
        written = bulk_export.export_rows(source, bulk_export.ExportRequest("system", None), work / "ndjson")
        source.close()
        lines = sum(f.count for f in written.files)
        size = sum(f.size for f in written.files)
        target = Store.open(config_mod.load(env={}, data_dir=work / "target", database_url=args.database_url))
        repo = Repository(target, Actor.system("bench-import"))
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass
        before = _rss_mb()
        started = time.perf_counter()
        first = ndjson_import.import_files(repo, [work / "ndjson"])
        seconds = time.perf_counter() - started
        peak = _peak_mb()
        started = time.perf_counter()
        again = ndjson_import.import_files(repo, [work / "ndjson"])
        seconds_again = time.perf_counter() - started
        target.close()
        print(f"patients {args.patients}: {lines} resources, {size / 1e6:.1f} MB of NDJSON "
              f"in {len(written.files)} files")
        print(f"import into an empty {'PostgreSQL' if args.database_url else 'SQLite'} database: {seconds:.1f} s, "
              f"{lines / seconds:.0f} resources/s; created {first.total('created')}, failed {first.failed}")
        print(f"second run (all unchanged): {seconds_again:.1f} s, {lines / seconds_again:.0f} lines/s; "
              f"unchanged {again.total('unchanged')}")
        print(f"RSS before {before:.0f} MB, peak during the import {peak:.0f} MB")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print_machine(args.database_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
