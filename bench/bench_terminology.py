"""Type-ahead over ICD-10: how long ValueSet/$expand with a filter takes.

Loads ICD-10 (TT 06/2026, ~15.7k concepts) into a fresh SQLite database (or, with --postgres ADMIN_URL,
a throwaway PostgreSQL database benhan_bench_terminology_PID, dropped at the end), then times `filter=viem phoi&count=20`, and every keystroke of typing it
("v", "vi", … "viem phoi"), three ways:
  function  terminology.operations.expand() called directly (index + ranking + JSON-ready dict);
  asgi      GET through the Starlette app in this process (routing, version check query, JSON);
  server    GET against a real `benhan serve` subprocess on localhost over HTTP (with --server).
The first call's time (parse the stored CodeSystem and build the index) is printed separately.

Usage: .venv/bin/python bench/bench_terminology.py [--n 500] [--server]
                 [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from _common import AUTH_HEADERS, install_bench_token, percentile, print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402
from benhan.terminology import operations  # noqa: E402
from benhan.terminology.load import load  # noqa: E402
from benhan.terminology.params import from_query  # noqa: E402
from benhan.web.app import create_app  # noqa: E402

VS = "https://benhan.vn/fhir/ValueSet/vn-icd10"
QUERY = "viem phoi"
KEYSTROKES = [QUERY[:i] for i in range(1, len(QUERY) + 1)]


def stats(label: str, times_ms: list[float]) -> None:
    t = sorted(times_ms)
    print(f"  {label:<34} n={len(t):<5} p50 {percentile(t, 50):7.2f} ms   p95 {percentile(t, 95):7.2f} ms   "
          f"max {t[-1]:7.2f} ms")


def timed(call, n: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def params(filter_text: str) -> list[tuple[str, str]]:
    return [("url", VS), ("filter", filter_text), ("count", "20")]


def run_function(store: Store, n: int) -> None:
    repo = Repository(store, Actor.system("bench"))
    print("function (operations.expand):")
    stats(f"filter={QUERY!r}", timed(lambda: operations.expand(repo, from_query(params(QUERY))), n))
    per_key = []
    for prefix in KEYSTROKES:
        per_key += timed(lambda p=prefix: operations.expand(repo, from_query(params(p))), max(1, n // len(KEYSTROKES)))
    stats("each keystroke of typing it", per_key)


def run_http(label: str, get, n: int) -> None:  # noqa: ANN001
    print(f"{label}:")
    stats(f"filter={QUERY!r}", timed(lambda: get(params(QUERY)), n))
    per_key = []
    for prefix in KEYSTROKES:
        per_key += timed(lambda p=prefix: get(params(p)), max(1, n // len(KEYSTROKES)))
    stats("each keystroke of typing it", per_key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_server(data_dir: Path, database_url: str | None, n: int) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "benhan.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    if database_url:
        cmd += ["--database-url", database_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/fhir", timeout=30, headers=AUTH_HEADERS) as http:
            for _ in range(300):
                try:
                    http.get("/metadata")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            install_bench_token(database_url or f"sqlite:///{data_dir / 'benhan.sqlite'}")
            start = time.perf_counter()
            first = http.get("/ValueSet/$expand", params=params(QUERY))
            first.raise_for_status()
            print(f"server: first call (index built in the server) {(time.perf_counter() - start) * 1e3:.0f} ms")

            def get(p):  # noqa: ANN001, ANN202
                r = http.get("/ValueSet/$expand", params=p)
                r.raise_for_status()
            run_http("server (benhan serve, HTTP on localhost)", get, n)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--server", action="store_true", help="also time a real `benhan serve` subprocess")
    ap.add_argument("--postgres", default=None, metavar="ADMIN_URL",
                    help="run on PostgreSQL, in a database of its own created through this URL")
    args = ap.parse_args()
    database_url = throwaway_database(args.postgres) if args.postgres else None
    print_machine(database_url)
    tmp = Path(tempfile.mkdtemp(prefix="bench_terminology_"))
    try:
        cfg = config_mod.load(env={}, data_dir=tmp / "data", database_url=database_url)
        store = Store.open(cfg)
        start = time.perf_counter()
        load(store, ["icd10-tt06"])
        print(f"load icd10-tt06 (CodeSystem + ValueSet): {(time.perf_counter() - start):.2f} s")
        repo = Repository(store, Actor.system("bench"))
        start = time.perf_counter()
        first = operations.expand(repo, from_query(params(QUERY)))
        print(f"first $expand (parse the stored CodeSystem, build the index): {(time.perf_counter() - start) * 1e3:.0f} ms; "
              f"total matches for {QUERY!r}: {first['expansion']['total']}")
        run_function(store, args.n)
        install_bench_token(store.config.sqlalchemy_url)       # the API needs a token since issue 4
        with TestClient(create_app(store.config, store)) as client:
            def get(p):  # noqa: ANN001, ANN202
                r = client.get("/fhir/ValueSet/$expand", params=p, headers=AUTH_HEADERS)
                assert r.status_code == 200, r.text
            run_http("asgi (Starlette app in-process)", get, args.n)
        store.close()
        if args.server:
            run_server(tmp / "data", database_url, args.n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if args.postgres:
            drop_database(args.postgres, database_url)


def _admin(admin_url: str):  # noqa: ANN202
    from sqlalchemy import create_engine
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


def throwaway_database(admin_url: str) -> str:
    from sqlalchemy import text
    name = f"benhan_bench_terminology_{os.getpid()}"
    engine = _admin(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, url: str) -> None:
    from sqlalchemy import text
    engine = _admin(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main()
