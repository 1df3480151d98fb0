"""What a bearer request pays for its token: `benhan.auth.tokens.lookup` (one primary-key query on
oauth_token joined to oauth_client), and `scopes.smart_permissions` on the token's scope.

Fills a fresh database with --tokens live tokens of --clients clients (so the index is not a toy),
then times --n lookups of random known tokens, --n of unknown ones, and smart_permissions.
SQLite in a temporary folder; with --postgres ADMIN_URL a throwaway database benhan_bench_tokens_PID
(dropped at the end).

Usage: .venv/bin/python bench/bench_token_lookup.py [--n 5000] [--tokens 100000]
                 [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from _common import percentile, print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth import scopes, tokens  # noqa: E402
from benhan.store.schema import oauth_client, oauth_token  # noqa: E402
from benhan.store.store import Store  # noqa: E402

SCOPE = "user/*.rs patient/Observation.cruds launch/patient offline_access"


def fill(store: Store, n_tokens: int, n_clients: int) -> list[str]:
    now = tokens.now_us()
    with store.db.write() as conn:
        conn.execute(insert(oauth_client), [{
            "client_id": f"c{i}", "name": f"client {i}", "kind": "app", "auth_method": "none", "jwks": None,
            "jwks_url": None, "secret_hash": None, "redirect_uris": "https://a.vn/cb", "scopes": SCOPE,
            "created": now, "disabled_at": None} for i in range(n_clients)])
    raws = [tokens.new_token() for _ in range(n_tokens)]
    for start in range(0, n_tokens, 10_000):
        with store.db.write() as conn:
            conn.execute(insert(oauth_token), [{
                "token_hash": tokens.token_hash(raw), "kind": "access", "client_id": f"c{i % n_clients}",
                "user_pk": None, "scope": SCOPE, "patient_id": None, "issued": now,
                "expires": now + 3_600_000_000, "revoked_at": None, "family": None}
                for i, raw in enumerate(raws[start:start + 10_000], start)])
    return raws


def timed(fn, args: list) -> tuple[list[float], float]:  # noqa: ANN001
    """Wall-clock µs per call (sorted) and this thread's CPU µs per call: on a busy machine the
    wall clock includes waiting for a core, the CPU time does not."""
    out = []
    cpu = time.thread_time()
    for a in args:
        t = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t) * 1e6)
    return sorted(out), (time.thread_time() - cpu) / len(args) * 1e6


def report(label: str, result: tuple[list[float], float]) -> None:
    us, cpu = result
    print(f"  {label:<30} p50 {percentile(us, 50):7.1f} µs  p95 {percentile(us, 95):7.1f} µs  "
          f"p99 {percentile(us, 99):7.1f} µs  CPU {cpu:6.1f} µs/call")


def run(store: Store, args: argparse.Namespace, label: str) -> None:
    raws = fill(store, args.tokens, args.clients)
    known = [random.choice(raws) for _ in range(args.n)]
    unknown = [tokens.new_token() for _ in range(args.n)]
    for raw in known[:200]:                      # warm the pool and the page cache
        tokens.lookup(store, raw)
    print(f"{label}: {args.tokens} tokens, {args.clients} clients, load average {os.getloadavg()[0]:.1f}")
    hits = timed(lambda r: tokens.lookup(store, r), known)
    assert tokens.lookup(store, known[0]) is not None
    report("lookup, live token", hits)
    report("lookup, unknown token", timed(lambda r: tokens.lookup(store, r), unknown))
    report("smart_permissions (cached)", timed(scopes.smart_permissions, [SCOPE] * args.n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    print_machine(args.postgres)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(config_mod.load(env={}, data_dir=Path(tmp)))
        try:
            run(store, args, "SQLite")
        finally:
            store.close()
    if args.postgres:
        name = f"benhan_bench_tokens_{os.getpid()}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.postgres.rsplit("/", 1)[0] + "/" + name
            with tempfile.TemporaryDirectory() as tmp:
                store = Store.open(config_mod.load(env={}, data_dir=Path(tmp), database_url=url))
                try:
                    run(store, args, "PostgreSQL")
                finally:
                    store.close()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
