"""Reads by id on PostgreSQL answered on the event loop (store/database.py LoopReads), in process (no
HTTP): each read alone on one of the loop's connections, against reads that arrive while every
connection is busy going to PostgreSQL together as one statement (LoopReads.fetch_batched), with 1,
2 or 4 connections per loop. What batching saves per read — server CPU (this process) and the
PostgreSQL backends' CPU (from /proc) — at 1, 8 and 32 reads in flight.

A fresh database gets --patients Patients; every mode then reads --reads of them (after a warm-up
that opens the connections and prepares the statements), the read audit on and flushed inside the
measured time. Modes alternate within each round, so a machine that slows down weighs on all of them.

Usage:
    .venv/bin/python bench/bench_loop_reads.py [--reads 6000] [--rounds 2] [--pg-url URL]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine, scratch_pg_database  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.store import database  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
MODES = (("alone", 4), ("batched", 4), ("batched", 2), ("batched", 1))
BATCHED = database._LoopPool.fetch_batched


async def _alone(self, sql_one, sql_many, group, key):  # noqa: ANN001, ANN202
    """Every read its own statement, waiting for a connection of its own (before batching)."""
    return await self.fetch_all(sql_one, (group, key))


def _backend_cpu_s(admin, name: str) -> float:  # noqa: ANN001
    """User + system CPU of the database's backends so far (their /proc stat; same machine)."""
    from sqlalchemy import text
    with admin.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": name}).scalars().all()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=6000)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server URL, without the database")
    args = parser.parse_args()
    print_machine(f"{args.pg_url}/postgres")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with scratch_pg_database(args.pg_url, "benhan_bench_lr") as (url, admin), tempfile.TemporaryDirectory() as work:
        name = url.rsplit("/", 1)[1]
        store = Store.open(config_mod.load(env={}, data_dir=Path(work) / "data", database_url=url))
        try:
            writer = Repository(store, Actor.system("bench"))
            ids = [writer.create("Patient", {"resourceType": "Patient", "name": [{"family": f"Nguyễn {i}"}]}).res_id
                   for i in range(args.patients)]
            reader = Repository(store, Actor.system("bench-reader"))

            async def reads(n: int, in_flight: int) -> None:
                gate = asyncio.Semaphore(in_flight)

                async def one(i: int) -> None:
                    async with gate:
                        await reader.read_on_loop("Patient", ids[i % len(ids)])
                await asyncio.gather(*(one(i) for i in range(n)))

            async def measured(in_flight: int) -> tuple[float, float, float]:
                await reads(200, in_flight)
                store.read_audit.flush()
                pg0, own0, t0 = _backend_cpu_s(admin, name), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                await reads(args.reads, in_flight)
                store.read_audit.flush()
                t1, own1, pg1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF), _backend_cpu_s(admin, name)
                store.db.loop_reads.close()
                return t1 - t0, own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime, pg1 - pg0

            print(f"{args.patients} Patients, {args.reads} reads per mode, read audit on\n")
            print(f"{'round':>5} {'mode':<16} {'in flight':>9} {'reads/s':>8} {'server µs':>10} {'PostgreSQL µs':>14}")
            for rnd in range(1, args.rounds + 1):
                for in_flight in (1, 8, 32):
                    for how, connections in MODES:
                        database._LoopPool.fetch_batched = BATCHED if how == "batched" else _alone
                        database.LOOP_READ_CONNECTIONS = connections
                        wall, own, pg = asyncio.run(measured(in_flight))
                        print(f"{rnd:>5} {f'{how}, {connections} conn':<16} {in_flight:>9} {args.reads / wall:>8.0f} "
                              f"{own / args.reads * 1e6:>10.0f} {pg / args.reads * 1e6:>14.0f}", flush=True)
        finally:
            database._LoopPool.fetch_batched = BATCHED
            store.close()
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
