"""What encryption at rest costs a SQLite node: read by id and create, plain vs SQLCipher.

Two stores in a temporary folder, one plain, one encrypted (a key file beside it, store/encryption.py),
each through the real path (Store, Repository: index rows, change log, audit). Both are filled with
--prefill patients (so the database outgrows the 4 MB page cache per connection and reads really
decrypt pages), then --units blocks of creates and of reads by random id run interleaved
plain, encrypted, encrypted, plain … so the shared machine's load favours neither. Prints rates per
mode and the encrypted/plain ratio.

Usage: .venv/bin/python bench/bench_encryption.py [--prefill 5000] [--creates 1200] [--reads 12000] [--units 8]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.clinical.demo import patients_bundle  # noqa: E402
from benhan.store import encryption  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402

ACTOR = Actor(name="bs.bench", kind="user", source_address="10.0.0.9", roles=("doctor",))


def open_store(folder: Path, encrypted: bool) -> Store:
    folder.mkdir(parents=True, mode=0o700)
    if encrypted:
        encryption.write_key_file(folder / "benhan.key", encryption.new_recovery()[0])
    store = Store.open(config_mod.load(env={}, data_dir=folder))
    assert store.db.encrypted is encrypted
    return store


def patient(template: dict, n: int) -> dict:
    """The demo patient with an identifier of its own (one person, one record: CCCD/BHYT are unique)."""
    return {**template, "identifier": [{"system": "urn:benhan:bench", "value": str(n)}]}


def abba(n: int) -> list[str]:
    cycle = ("plain", "encrypted", "encrypted", "plain")
    return [cycle[i % 4] for i in range(n)]


def raw_sqlite(tmp: Path, rows: int, reads: int, writes: int, units: int, rnd: random.Random) -> None:
    """The same work without benhan, to tell SQLCipher's encryption from its newer SQLite: stdlib
    sqlite3, SQLCipher's library with no key, and SQLCipher with a key; 1 KB rows, a 4 MB page
    cache, WAL, synchronous=FULL, one commit per insert."""
    import sqlite3
    sc = encryption.dbapi()
    key = encryption.new_recovery()[0]
    modes = {"sqlite3": (sqlite3, None), "sqlcipher no key": (sc, None), "sqlcipher key": (sc, key)}
    cons = {}
    for name, (module, k) in modes.items():
        path = tmp / f"raw-{name.replace(' ', '-')}.sqlite"
        con = module.connect(str(path), isolation_level=None)
        if k is not None:
            con.execute(f"PRAGMA key = \"x'{k.hex()}'\"")
        for pragma in ("journal_mode = WAL", "synchronous = FULL", "cache_size = -4000"):
            con.execute(f"PRAGMA {pragma}")
        con.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, body BLOB)")
        con.execute("BEGIN")
        con.executemany("INSERT INTO r (body) VALUES (?)", ((rnd.randbytes(1000),) for _ in range(rows)))
        con.execute("COMMIT")
        cons[name] = con
    seconds = {(op, m): 0.0 for m in modes for op in ("read", "insert")}
    schedule = (list(modes) + list(reversed(modes))) * max(1, units // 2)   # A B C C B A …: none favoured
    per_read, per_write = max(1, reads // units), max(1, writes // units)
    for name in schedule:
        con = cons[name]
        t0 = time.perf_counter()
        for _ in range(per_read):
            con.execute("SELECT body FROM r WHERE id = ?", (rnd.randrange(1, rows),)).fetchone()
        seconds[("read", name)] += time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(per_write):
            con.execute("INSERT INTO r (body) VALUES (?)", (rnd.randbytes(1000),))
        seconds[("insert", name)] += time.perf_counter() - t0
    for con in cons.values():
        con.close()
    for op, per in (("read", per_read), ("insert", per_write)):
        rates = {name: per * schedule.count(name) / seconds[(op, name)] for name in modes}
        base = rates["sqlite3"]
        print(f"raw {op:6s} " + "   ".join(f"{name} {rate:8.0f}/s ({rate / base:.2f})" for name, rate in rates.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prefill", type=int, default=5000, help="patients in each database before timing")
    ap.add_argument("--creates", type=int, default=1200, help="timed creates per mode")
    ap.add_argument("--reads", type=int, default=12000, help="timed reads by id per mode")
    ap.add_argument("--units", type=int, default=8, help="interleaved blocks (a multiple of 4)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--raw-rows", type=int, default=50000, help="rows of the raw SQLite comparison (0: skip it)")
    args = ap.parse_args()
    print_machine()
    con = encryption.dbapi().connect(":memory:")
    print(f"  sqlcipher   {con.execute('PRAGMA cipher_version').fetchone()[0]} "
          f"(its SQLite {encryption.dbapi().sqlite_version}; the plain store uses the interpreter's sqlite3)")
    con.close()
    rnd = random.Random(args.seed)
    one = patients_bundle(1, seed=args.seed)["entry"][0]["resource"]
    serial = iter(range(10**9))
    with tempfile.TemporaryDirectory(prefix="benhan-bench-enc-") as tmp:
        stores = {mode: open_store(Path(tmp) / mode, mode == "encrypted") for mode in ("plain", "encrypted")}
        repos = {mode: Repository(store, ACTOR) for mode, store in stores.items()}
        ids: dict[str, list[str]] = {mode: [] for mode in stores}
        try:
            for mode in stores:
                t0 = time.perf_counter()
                for _ in range(args.prefill):
                    ids[mode].append(repos[mode].create("Patient", patient(one, next(serial))).res_id)
                size = sum(p.stat().st_size for p in (Path(tmp) / mode).glob("benhan.sqlite*")) / 1e6
                print(f"prefill {mode}: {args.prefill} patients in {time.perf_counter() - t0:.1f} s, "
                      f"{size:.1f} MB on disk")
            seconds = {("create", m): 0.0 for m in stores} | {("read", m): 0.0 for m in stores}
            per_create = max(1, args.creates // args.units * 2)
            per_read = max(1, args.reads // args.units * 2)
            for mode in abba(args.units):
                repo = repos[mode]
                t0 = time.perf_counter()
                for _ in range(per_create):
                    ids[mode].append(repo.create("Patient", patient(one, next(serial))).res_id)
                seconds[("create", mode)] += time.perf_counter() - t0
                targets = [rnd.choice(ids[mode]) for _ in range(per_read)]
                t0 = time.perf_counter()
                for pid in targets:
                    repo.read("Patient", pid)
                seconds[("read", mode)] += time.perf_counter() - t0
            blocks = args.units // 2
            for op, per in (("create", per_create), ("read by id", per_read)):
                key = "create" if op == "create" else "read"
                rate = {m: per * blocks / seconds[(key, m)] for m in stores}
                print(f"{op:11s} plain {rate['plain']:8.0f}/s   encrypted {rate['encrypted']:8.0f}/s   "
                      f"encrypted/plain {rate['encrypted'] / rate['plain']:.2f}")
        finally:
            for store in stores.values():
                store.close()
        if args.raw_rows:
            raw_sqlite(Path(tmp), args.raw_rows, args.reads, args.creates, args.units, rnd)


if __name__ == "__main__":
    main()
