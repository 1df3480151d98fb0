"""Statements (round trips) per request on PostgreSQL, counted by the server itself.

A throwaway database gets `log_statement = 'all'` (ALTER DATABASE … SET, so only its own sessions
log); a real `benhan serve` runs on it, and the script sends N reads by id, N single creates and one
transaction Bundle, reading the PostgreSQL log between them. Every line `statement:` / `execute …:`
of that database is one statement sent and one round trip waited for (psycopg 3 sends parse, bind
and execute together). The read-audit flush runs in the background about every second; its
statements are listed apart (they are shared by all the reads of that second).

Usage:
    .venv/bin/python bench/bench_pg_round_trips.py [--n 50] [--pg-url URL] [--log FILE] [--workers 2]
Needs the PostgreSQL log readable (Debian: /var/log/postgresql/postgresql-15-main.log, log_destination
stderr, the default prefix '%m [%p] %q%u@%d ').
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_server import DEFAULT_PG, JSON_HEADERS, Server  # noqa: E402
from _common import AUTH_HEADERS, print_machine  # noqa: E402
from benhan.clinical.demo import patients_bundle  # noqa: E402

_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (\S*)@(\S*) LOG:  (?:statement|execute [^:]*): (.*)$")


def _shape(sql: str) -> str:
    """The statement's first words, enough to tell them apart."""
    sql = " ".join(sql.split())
    sql = re.sub(r"'[^']*'", "'…'", sql)
    sql = re.sub(r"\b\d+\b", "N", sql)
    return sql[:110]


class Log:
    def __init__(self, path: Path, db: str):
        self.path, self.db = path, db
        self.offset = path.stat().st_size

    def take(self) -> list[tuple[int, str]]:
        """(backend pid, statement) of our database since the last call."""
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        out = []
        for line in data.decode("utf-8", "replace").splitlines():
            m = _LINE.match(line)
            if m and m.group(3) == self.db:
                out.append((int(m.group(1)), m.group(4)))
        return out


def report(name: str, statements: list[tuple[int, str]], n: int) -> None:
    shapes = Counter(_shape(s) for _, s in statements)
    print(f"\n{name}: {len(statements)} statements for {n} requests = {len(statements) / n:.2f} per request")
    for shape, count in shapes.most_common(20):
        print(f"  {count / n:6.2f}  {shape}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--log", type=Path, default=Path("/var/log/postgresql/postgresql-15-main.log"))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print_machine(f"{args.pg_url}/postgres")
    from sqlalchemy import create_engine, text
    db = f"benhan_rt_{os.getpid()}"
    admin = create_engine(f"{args.pg_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
        conn.execute(text(f"ALTER DATABASE \"{db}\" SET log_statement = 'all'"))
    env = {"BENHAN_LOG_LEVEL": "warning"}
    try:
        with tempfile.TemporaryDirectory(prefix="benhan-rt-") as tmp:
            data_dir = Path(tmp) / "data"
            data_dir.mkdir()
            server = Server(data_dir, f"{args.pg_url}/{db}", env, workers=args.workers)
            try:
                client = httpx.Client(timeout=60)
                bundle = patients_bundle(4, seed=3)
                r = client.post(f"{server.base}/", content=orjson.dumps(bundle), headers=JSON_HEADERS)
                r.raise_for_status()
                made = [e["response"]["location"].split("/_history/")[0] for e in r.json()["entry"]]
                for p in made[:10]:          # warm: first token lookup, prepared statements, pools
                    client.get(f"{server.base}/{p}", headers=AUTH_HEADERS).raise_for_status()
                time.sleep(2.5)              # the read-audit flush of the warm-up
                log = Log(args.log, db)
                for i in range(args.n):
                    client.get(f"{server.base}/{made[i % len(made)]}", headers=AUTH_HEADERS).raise_for_status()
                reads = log.take()
                time.sleep(2.5)
                flush = log.take()
                report("read by id (GET /fhir/T/id)", reads, args.n)
                report("  + the read-audit flush that followed (shared by those reads)", flush, args.n)
                patients = [orjson.dumps(patients_bundle(1, seed=100 + i)["entry"][0]["resource"])
                            for i in range(args.n)]     # each its own (the same twice is a 409: duplicate)
                log.take()
                for patient in patients:
                    client.post(f"{server.base}/Patient", content=patient, headers=JSON_HEADERS).raise_for_status()
                report("single create (POST /fhir/Patient)", log.take(), args.n)
                bundle = patients_bundle(4, seed=11)
                client.post(f"{server.base}/", content=orjson.dumps(bundle), headers=JSON_HEADERS).raise_for_status()
                report(f"transaction Bundle of {len(bundle['entry'])} resources (per resource)", log.take(),
                       len(bundle["entry"]))
            finally:
                server.stop()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
