"""What the audit trail costs: ingest and read throughput with audit on versus off, in-process
through the Repository (no HTTP), on SQLite and on PostgreSQL. Goal (issue 4): audit keeps ≥ 80 %
of the throughput.

"Off" replaces store.audit_log.write and the read buffer's add with no-ops for the run (here
only: there is deliberately no setting that turns the audit off). "On" is the real thing: every
write appends its events to the hash chain in its own transaction (head row locked, hashes,
event and audit_patient rows, head moved: on PostgreSQL one statement after the head's SELECT …
FOR UPDATE), every read is buffered and flushed in batches — the
flush's cost is inside the measured time (the buffer is flushed before the clock stops).

Both modes run on the same database, each phase cut into blocks run alternately with audit on
and off (on, off, off, on …): the database's growth and the machine's other work, which comes and
goes, then weigh on both alike. A rate is operations over the summed time of that mode's blocks. The process's CPU time per
operation is printed too: on SQLite it is all the work (the database runs in the process) and
barely moved by other programs on the machine, so it is the steadier of the two figures there.

Phases:
- ingest: transaction Bundles from `patients_bundle` (about 13 resources per patient), resources/s;
- create: single Patient creates, one transaction each (the write path at its most audited), /s;
- read: Repository.read of the ingested resources by id, on 1 and on 4 threads, reads/s;
- search: Repository.search_type(Observation, subject=…), searches/s (one audited event each).
Plus the chain's own CPU: link_hash per event.

With --versus REV a third mode, "base", runs the audit writer of another revision
(benhan/store/audit_log.py's `write` from git, swapped in for its blocks): a change to the writer
is then measured against the old one in the same run, block by block, which the machine's load
cannot favour (on, base, off, off, base, on …).

Usage:
    .venv/bin/python bench/bench_audit.py --quick           # under two minutes
    .venv/bin/python bench/bench_audit.py                   # the figures in docs/benchmarks.md
    .venv/bin/python bench/bench_audit.py --versus HEAD~1   # this writer against an earlier one
Options: --backend sqlite|postgresql|both, --units N (blocks per phase), --pg-url URL (server, without
the database), --versus REV.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import timeit
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.clinical.demo import patients_bundle  # noqa: E402
from benhan.store import audit_log, bundles  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
BASE = "http://bench.local/fhir"
ACTOR = Actor(name="bs.bench", kind="user", source_address="10.0.0.9", roles=("doctor",))


@dataclass(frozen=True)
class Sizes:
    patients: int       # per transaction Bundle (one Bundle per block)
    creates: int
    reads: int
    searches: int


QUICK = Sizes(patients=10, creates=240, reads=2400, searches=320)
FULL = Sizes(patients=20, creates=960, reads=9600, searches=1280)


BASE_WRITE = None      # --versus: the other revision's audit_log.write


def load_base_writer(rev: str):  # noqa: ANN201
    """audit_log.write as it was at `rev` (its module loaded from git under another name)."""
    import importlib.util
    import subprocess
    source = subprocess.run(["git", "show", f"{rev}:benhan/store/audit_log.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="benhan-bench-audit-base-")) / "base_audit_log.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("base_audit_log", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["base_audit_log"] = module
    spec.loader.exec_module(module)
    return module.write


@contextmanager
def audit_base():
    """The other revision's writer for the duration (reads too: the buffer's flush calls it)."""
    real = audit_log.write
    audit_log.write = BASE_WRITE
    try:
        yield
    finally:
        audit_log.write = real


@contextmanager
def audit_off(store: Store):
    """No audit rows at all for the duration (the benchmark's own switch)."""
    real_write, real_add = audit_log.write, store.read_audit.add
    audit_log.write = lambda conn, records: None
    store.read_audit.add = lambda record: None
    try:
        yield
    finally:
        audit_log.write, store.read_audit.add = real_write, real_add


@contextmanager
def fresh_store(backend: str, work: Path, pg_url: str):
    admin = name = None
    if backend == "postgresql":
        from sqlalchemy import create_engine, text
        name = f"benhan_bench_audit_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        cfg = config_mod.load(env={}, data_dir=work / name, database_url=f"{pg_url}/{name}")
    else:
        cfg = config_mod.load(env={}, data_dir=work / f"sqlite-{uuid.uuid4().hex[:6]}")
    store = Store.open(cfg)
    try:
        yield store
    finally:
        store.close()
        if admin is not None:
            from sqlalchemy import text
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def abba(n: int) -> list[str]:
    """on, off, off, on, on, off, off, on … (with --versus: on, base, off, off, base, on …): each
    mode as often early as late, so the database's growth and the machine's other work (load comes
    and goes) favour none."""
    cycle = ("on", "base", "off", "off", "base", "on") if BASE_WRITE else ("on", "off", "off", "on")
    return [cycle[k % len(cycle)] for k in range(n)]


def modes_run() -> tuple[str, ...]:
    return ("on", "base", "off") if BASE_WRITE else ("on", "off")


class Clock:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(modes_run(), 0.0)
        self.cpu = dict.fromkeys(modes_run(), 0.0)     # this process's CPU (all of it on SQLite; the client's on PostgreSQL)
        self.done = dict.fromkeys(modes_run(), 0)

    def run(self, store: Store, mode: str, n: int, work) -> None:  # noqa: ANN001
        """Time `work()` (n operations) in this mode; the read buffer is flushed inside the timing,
        so buffered audit work is paid for where it was caused."""
        t0, c0 = time.perf_counter(), time.process_time()
        if mode == "off":
            with audit_off(store):
                work()
        elif mode == "base":
            with audit_base():
                work()
                store.read_audit.flush()
        else:
            work()
            store.read_audit.flush()
        self.seconds[mode] += time.perf_counter() - t0
        self.cpu[mode] += time.process_time() - c0
        self.done[mode] += n

    def rates(self) -> dict[str, float]:
        out = {m: self.done[m] / self.seconds[m] for m in modes_run()}
        out.update({f"cpu_{m}": self.cpu[m] / self.done[m] * 1e6 for m in modes_run()})   # µs per operation
        return out


def run_phases(store: Store, sizes: Sizes, seed: int, units: int) -> dict[str, dict[str, float]]:
    """Every phase on this store, its work cut into `units` blocks run alternately with audit on
    and off; rates per second for each mode."""
    repo = Repository(store, ACTOR)
    made: list[tuple[str, str]] = []
    patients: list[str] = []
    out = {}
    modes = abba(units)

    clock = Clock()
    for k, mode in enumerate(modes):
        doc = patients_bundle(sizes.patients, seed=seed * 1000 + k)

        def ingest(doc=doc) -> None:  # noqa: ANN001
            for e in bundles.process_bundle(repo, doc, BASE)["entry"]:
                t, i = e["response"]["location"].split("/")[:2]
                made.append((t, i))
                if t == "Patient":
                    patients.append(i)
        clock.run(store, mode, len(doc["entry"]), ingest)
    out["ingest (resources)"] = clock.rates()

    one = patients_bundle(1, seed=seed)["entry"][0]["resource"]
    # A hospital record number, not the demo's CCCD and BHYT card: one current Patient only may
    # hold those, and every create after the first would be refused.
    one["identifier"] = [{"system": "urn:oid:1.2.3.4.5.6", "value": "MR-0000001"}]
    clock = Clock()
    per = max(1, sizes.creates // units)
    for mode in modes:
        clock.run(store, mode, per, lambda: [repo.create("Patient", one) for _ in range(per)])
    out["create"] = clock.rates()

    rng = random.Random(seed)
    per = max(1, sizes.reads // units)
    clock = Clock()
    for mode in modes:
        targets = [rng.choice(made) for _ in range(per)]
        clock.run(store, mode, per, lambda targets=targets: [repo.read(t, i) for t, i in targets])
    out["read"] = clock.rates()

    clock = Clock()
    for mode in modes:
        targets = [rng.choice(made) for _ in range(per)]

        def read_threads(targets=targets) -> None:  # noqa: ANN001
            threads = [threading.Thread(target=lambda p=targets[k::4]: [Repository(store, ACTOR).read(t, i)
                                                                         for t, i in p]) for k in range(4)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        clock.run(store, mode, per, read_threads)
    out["read, 4 threads"] = clock.rates()

    per = max(1, sizes.searches // units)
    clock = Clock()
    for mode in modes:
        queries = [[("subject", f"Patient/{rng.choice(patients)}")] for _ in range(per)]
        clock.run(store, mode, per, lambda queries=queries: [repo.search_type("Observation", q) for q in queries])
    out["search"] = clock.rates()
    return out


def bench_backend(backend: str, sizes: Sizes, units: int, pg_url: str, work: Path) -> dict:
    with fresh_store(backend, work, pg_url) as store:
        rates = run_phases(store, sizes, seed=1, units=units)
        from benhan.audit.verify import verify
        report = verify(store)
        assert report.intact, report.line()
        print(f"  {report.line()}")
    print(f"  {'phase':<20} {'audit on /s':>12} {'off /s':>10} {'kept':>7}   {'CPU µs/op on':>13} {'off':>7} {'kept':>6}"
          + (f"   {'base /s':>9} {'kept':>6} {'CPU µs/op':>10}" if BASE_WRITE else ""))
    kept = {}
    for k, r in rates.items():
        kept[k] = r["on"] / r["off"]
        cpu_kept = r["cpu_off"] / r["cpu_on"]
        base = (f"   {r['base']:>9,.0f} {r['base'] / r['off']:>6.0%} {r['cpu_base']:>10,.0f}" if BASE_WRITE else "")
        print(f"  {k:<20} {r['on']:>12,.0f} {r['off']:>10,.0f} {kept[k]:>6.0%}   {r['cpu_on']:>13,.0f} "
              f"{r['cpu_off']:>7,.0f} {cpu_kept:>5.0%}{base}{'' if kept[k] >= 0.8 else '   (wall < 80 % goal)'}",
              flush=True)
    return {"rates": rates, "kept": kept}


def chain_cpu() -> None:
    row = audit_log.AuditRecord(recorded=1_780_000_000_000_000, interaction="read", agent="bs.bench",
                                source_address="10.0.0.9", res_type="Observation",
                                res_id=str(uuid.uuid4()), version=3, patients=(str(uuid.uuid4()),),
                                role="doctor").row()
    row["chain_pos"] = 123456
    n = 20000
    us = timeit.timeit(lambda: audit_log.link_hash("0" * 64, row), number=n) / n * 1e6
    print(f"chain CPU: link_hash {us:.1f} µs per event (SHA-256 over the length-prefixed fields)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--units", type=int, default=None,
                        help="blocks per phase, alternating on/off (default 8 quick, 16 full)")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--versus", metavar="REV", default=None,
                        help="also run the audit writer of this git revision (mode 'base')")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.versus:
        global BASE_WRITE
        BASE_WRITE = load_base_writer(args.versus)
    units = args.units or ((12 if args.quick else 18) if args.versus else (8 if args.quick else 16))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print_machine(f"{args.pg_url}/postgres" if "postgresql" in backends else None)
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"sizes: {sizes}, blocks per phase: {units} ({', '.join(abba(4 if not BASE_WRITE else 6))} …)"
          + (f"; base: audit_log.write of {args.versus}" if BASE_WRITE else ""))
    chain_cpu()
    with tempfile.TemporaryDirectory(prefix="benhan-bench-audit-") as tmp:
        for backend in backends:
            print(f"\n[{backend}]")
            bench_backend(backend, sizes, units, args.pg_url, Path(tmp))
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
