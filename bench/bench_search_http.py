"""Search over HTTP on the million-resource database: p50/p95 per query at one client and at eight.

bench_search.py measures in process (and a few queries over HTTP); this one sends every query of
its set, the compartment search `Patient/{id}/Observation?code=` and `$everything` included, to a
real `benhan serve` subprocess (free port; bearer-token authentication and the read audit on, as in
production; the token as bench/_common.install_bench_token writes it) over the database that
bench/gen_search_data.py made (the same cache directory bench_search.py uses). Per query: p50/p95
of the latency at c=1, the server's CPU per request (utime + stime of the server process and its
children, from /proc), and at c=8 the p50/p95 and requests/s.

A/B: `--versus DIR` starts a second server from another checkout of benhan (e.g. a `git worktree
add /tmp/x-base HEAD~1`; `--src DIR`: the other side, default this checkout) over the SAME database
and interleaves the two, round by round (the order alternating), so both see the same machine
load; medians of the rounds are printed side by side.

Usage:
    .venv/bin/python bench/bench_search.py --backend sqlite --requests 0 --http-requests 0   # makes the cache
    .venv/bin/python bench/gen_search_data.py --patients 20000 --workers 1 \\
        --data-dir bench/data/search-sqlite-p20000-s2026                                    # or directly
    .venv/bin/python bench/bench_search_http.py                                  # ≈ 1.12 M resources, SQLite
    .venv/bin/python bench/bench_search_http.py --versus /tmp/base --rounds 3 --requests 30
    .venv/bin/python bench/bench_search_http.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB \\
        --data-dir bench/data/search-postgresql-p2000-s2026
Options: --requests N (per query, round and server at c=1), --concurrency 1,8, --only SUBSTRING,
--json FILE.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402

from _common import AUTH_HEADERS, NO_SCHEDULED_BACKUP, install_bench_token, percentile, print_machine  # noqa: E402
from bench_search import EVERYTHING, EVERYTHING_GOAL_MS, QUERIES, Query, Sample, free_port, samples  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of pid and its children (uvicorn's --workers), in seconds."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


class Server:
    """`benhan serve` from a checkout (src: its root, put first on PYTHONPATH), in its own
    process group; stop() ends the whole group."""

    def __init__(self, label: str, src: Path, data_dir: Path, database_url: str | None, log_dir: Path,
                 workers: int = 1) -> None:
        self.label, self.src = label, src
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        start = "import sys; from benhan.cli import main; sys.argv[0] = 'benhan'; sys.exit(main())"
        cmd = [sys.executable, "-c", start, "serve", "--data-dir", str(data_dir), "--port", str(self.port)]
        if database_url:
            cmd += ["--database-url", database_url]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        env = {**os.environ, **NO_SCHEDULED_BACKUP, "PYTHONPATH": str(src)}
        self.log = open(log_dir / f"search-http-{label}-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=log_dir, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {label} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.base}/metadata", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server {label} not ready after 180 s; see {self.log.name}")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.log.close()


class Failed(Exception):
    pass


def _entries(bundle: dict) -> tuple[int, str | None]:
    entries = [e for e in bundle.get("entry", []) if e.get("search", {}).get("mode") != "outcome"]
    nxt = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
    return len(entries), nxt


def _get(client: httpx.Client, url: str, params: list | None = None) -> dict:
    resp = client.get(url, params=params)
    if resp.status_code != 200:
        raise Failed(f"HTTP {resp.status_code}: {resp.text[:200]}")
    return resp.json()


def request_fn(q: Query | None, heavy_id: str, smp: list[Sample]):  # noqa: ANN201
    """A function (client, rng) → entries received, for one query (None: $everything)."""
    if q is None:
        def everything(client: httpx.Client, rng: random.Random) -> int:
            url, got = f"/Patient/{heavy_id}/$everything?_count=1000", 0
            for _ in range(50):
                k, url = _entries(_get(client, url))
                got += k
                if not url:
                    break
            return got
        return everything

    def call(client: httpx.Client, rng: random.Random) -> int:
        s = rng.choice(smp)
        return _entries(_get(client, "/" + (q.path(s) if q.path else q.res_type), q.make(rng, s)))[0]
    return call


def _client(server: Server, timeout_s: float) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"Accept": "application/fhir+json", **AUTH_HEADERS},
                        timeout=timeout_s)


def run_c1(server: Server, fn, rng: random.Random, n: int, warmup: int, timeout_s: float,  # noqa: ANN001
           budget_s: float) -> dict:
    times, got = [], []
    with _client(server, timeout_s) as client:
        for _ in range(warmup):
            fn(client, rng)
        cpu0, started = server.cpu(), time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            got.append(fn(client, rng))
            times.append((time.perf_counter() - t) * 1000)
            if time.perf_counter() - started > budget_s and len(times) >= 5:
                break
        cpu = server.cpu() - cpu0
    return {"times": times, "cpu_ms": 1000 * cpu / len(times), "returned": statistics.mean(got)}


def run_cn(server: Server, fn, seed: str, n: int, conc: int, timeout_s: float) -> dict:  # noqa: ANN001
    times: list[float] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        rng = random.Random(f"{seed}:{k}")
        with _client(server, timeout_s) as client:
            fn(client, rng)                         # warm the connection
            for _ in range(n):
                t = time.perf_counter()
                fn(client, rng)
                with lock:
                    times.append((time.perf_counter() - t) * 1000)
    cpu0, started = server.cpu(), time.perf_counter()
    with ThreadPoolExecutor(conc) as pool:
        list(pool.map(worker, range(conc)))
    wall = time.perf_counter() - started
    return {"times": times, "per_s": len(times) / wall, "cpu_ms": 1000 * (server.cpu() - cpu0) / len(times)}


def _pct(times: list[float]) -> tuple[float, float]:
    t = sorted(times)
    return percentile(t, 50), percentile(t, 95)


def mark_index_current(data_dir: Path, database_url: str | None) -> None:
    """The generator extracts every index row as a write does, but a cache it made before it
    recorded the index version would make `benhan serve` reindex a million resources at start."""
    from benhan.config import load
    from benhan.store import index_version
    from benhan.store.store import Store
    store = Store.open(load(env={}, data_dir=data_dir, database_url=database_url))
    try:
        if index_version.stored(store) is None:
            index_version.mark_current(store)
            print("index version recorded as current (a cache from before the generator recorded it)")
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data" / "search-sqlite-p20000-s2026",
                    help="the generated database's directory (its manifest.json says patients and seed)")
    ap.add_argument("--database-url", default=None, help="PostgreSQL: the database the data dir's manifest describes")
    ap.add_argument("--src", type=Path, default=ROOT, help="the checkout the server runs (default: this one)")
    ap.add_argument("--versus", type=Path, default=None, help="another checkout's root: A/B, interleaved")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--requests", type=int, default=50, help="per query, round and server at c=1")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--concurrency", default="1,8", help="comma-separated; c>1 sends --requests per client")
    ap.add_argument("--cn-requests", type=int, default=10, help="per client at c>1")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes (PostgreSQL only)")
    ap.add_argument("--only", default=None, help="only the queries whose name contains this")
    ap.add_argument("--timeout-s", type=float, default=60.0)
    ap.add_argument("--budget-s", type=float, default=60.0, help="per query, round and server at c=1")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    args.data_dir = args.data_dir.resolve()         # the servers run in bench/data
    manifest = json.loads((args.data_dir / "manifest.json").read_text())
    patients, seed, heavy_id = manifest["ordinary_patients"], manifest["seed"], manifest["heavy_patient"]
    info = print_machine(args.database_url)
    print(f"database: {args.data_dir} ({manifest['resources']:,} resources, {manifest['database']})")
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    smp = samples(patients, seed, 400, random.Random(seed))
    queries: list[Query | None] = [*QUERIES, None]
    names = {id(q): (q.name if q else EVERYTHING) for q in queries}
    if args.only:
        queries = [q for q in queries if args.only.lower() in names[id(q)].lower()]
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    mark_index_current(args.data_dir, args.database_url)
    log_dir = ROOT / "bench" / "data"
    srcs = [("new", args.src.resolve())] + ([("base", args.versus.resolve())] if args.versus else [])
    servers: list[Server] = []
    results: dict = {"machine": info, "database": str(args.data_dir), "resources": manifest["resources"],
                     "queries": {}}
    try:
        for label, src in srcs:
            servers.append(Server(label, src, args.data_dir, args.database_url, log_dir, args.workers))
            print(f"server {label}: {src} on port {servers[-1].port} (pid {servers[-1].proc.pid})")
        # After the servers started (as bench_search.py does: a start may tidy the token table).
        install_bench_token(args.database_url or f"sqlite:///{args.data_dir / 'benhan.sqlite'}")
        print(f"{'query':<52} {'srv':<5} {'c=1 p50':>8} {'p95':>8} {'cpu/req':>8} "
              + "".join(f"{'c=' + str(c) + ' p50':>10} {'p95':>8} {'req/s':>7}" for c in levels if c > 1)
              + "  n  entries  goal")
        for q in queries:
            name = names[id(q)]
            goal = (q.goal_ms if q else EVERYTHING_GOAL_MS)
            if name.startswith("Patient/{id}/Observation?code"):
                goal = 30
            fn = request_fn(q, heavy_id, smp)
            per: dict[str, dict] = {s.label: {"rounds": [], "times": [], "cpu": [], "cn": {}} for s in servers}
            failed = None
            for r in range(args.rounds):
                order = servers if r % 2 == 0 else servers[::-1]
                for s in order:
                    try:
                        out = run_c1(s, fn, random.Random(f"{seed}:{name}:{r}"), args.requests, args.warmup,
                                     args.timeout_s, args.budget_s)
                    except (Failed, httpx.HTTPError) as exc:
                        failed = f"{s.label}: {type(exc).__name__} {str(exc)[:160]}"
                        break
                    p = per[s.label]
                    p["rounds"].append(_pct(out["times"]))
                    p["times"] += out["times"]
                    p["cpu"].append(out["cpu_ms"])
                    p["returned"] = out["returned"]
                    for c in levels:
                        if c > 1:
                            cn = run_cn(s, fn, f"{seed}:{name}:{r}:c{c}", args.cn_requests, c, args.timeout_s)
                            p["cn"].setdefault(c, []).append(cn)
                if failed:
                    break
            if failed:
                print(f"{name:<52} failed: {failed}")
                results["queries"][name] = {"failed": failed}
                continue
            results["queries"][name] = {}
            for s in servers:
                p = per[s.label]
                # The median of the rounds' percentiles (each round saw its own load).
                p50 = statistics.median(x[0] for x in p["rounds"])
                p95 = statistics.median(x[1] for x in p["rounds"])
                cpu = statistics.median(p["cpu"])
                line = f"{name[:52]:<52} {s.label:<5} {p50:8.1f} {p95:8.1f} {cpu:8.1f} "
                row = {"p50_ms": p50, "p95_ms": p95, "cpu_ms_per_request": cpu, "n": len(p["times"]),
                       "returned": p.get("returned")}
                for c in levels:
                    if c > 1:
                        runs = p["cn"][c]
                        cp50 = statistics.median(_pct(x["times"])[0] for x in runs)
                        cp95 = statistics.median(_pct(x["times"])[1] for x in runs)
                        rps = statistics.median(x["per_s"] for x in runs)
                        line += f"{cp50:10.1f} {cp95:8.1f} {rps:7.1f}"
                        row[f"c{c}"] = {"p50_ms": cp50, "p95_ms": cp95, "per_s": rps}
                verdict = "" if goal is None else ("ok" if p95 <= goal else "MISSED")
                target = "" if goal is None else f"≤ {goal:g} {verdict}"
                line += f" {len(p['times']):3d} {p.get('returned', 0):7.1f}  {target}"
                print(line, flush=True)
                results["queries"][name][s.label] = row
    finally:
        for s in servers:
            s.stop()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
