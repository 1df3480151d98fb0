"""Throughput, latency and memory of a real `benhan serve` process, on SQLite and on PostgreSQL.

For each database the script starts the server as a subprocess on localhost and measures, from
client processes (wrk, or httpx threads when wrk is missing):

- bundle ingest: transaction Bundles (Synthea-shaped, or `patients_bundle` with --bundles demo)
  POSTed to /fhir one after another, in resources per second;
- single create: POST /fhir/Patient at a few concurrencies, requests/s with p50/p95 latency;
- read by id: GET /fhir/{type}/{id} over the ingested resources, same figures;
- the physical floor: the same resource JSON inserted raw with SQLAlchemy executemany into a bare
  (id, body) table of the same kind of database (SQLite with the server's pragmas: WAL,
  synchronous=FULL), one transaction per bundle; the ingest figure is reported as our/floor;
- memory: VmRSS of the server after start-up, after the ingest and at the end (with VmHWM, the peak).

Every loop is bounded (a number of bundles, or a wrk run of a fixed duration) and everything runs
on 127.0.0.1. A throwaway PostgreSQL database is created for the run and dropped after it.

Usage:
    .venv/bin/python bench/bench_server.py --quick          # small sizes, under a minute
    .venv/bin/python bench/bench_server.py                  # full, a few minutes
    .venv/bin/python bench/bench_server.py --backend sqlite --profile /tmp/prof   # + py-spy per phase
Ingest Bundles: --bundles synthea (default: bench/synthea_like.py, Synthea-shaped, 100 to 4,000
entries, conditional creates and references) or --bundles demo (patients_bundle, as before).
Options: --backend sqlite|postgresql|both, --client wrk|httpx, --pg-url (server URL without the
database), --json FILE (figures as JSON), --profile DIR (py-spy collapsed stacks + top functions),
--workers N (the server's worker processes; CPU and memory are summed over them). On PostgreSQL the
CPU of the database's backends serving the run is printed beside the server's ("+ PostgreSQL").
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import (AUTH_HEADERS, NO_SCHEDULED_BACKUP, install_bench_token, percentile, print_machine,  # noqa: E402
                     rss_kib)
from benhan.clinical.demo import patients_bundle  # noqa: E402

BENHAN = str(Path(sys.executable).with_name("benhan"))
JSON_HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json", **AUTH_HEADERS}
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


@dataclass(frozen=True)
class Sizes:
    bundles: int            # transaction Bundles ingested
    patients: int           # patients per Bundle (about 13 resources each)
    seconds: float          # duration of each create/read run
    warmup: float           # unmeasured run before each
    concurrency: tuple[int, ...]
    commits: int            # one-row transactions of the floor (and in-process creates)
    reads: int              # in-process reads


QUICK = Sizes(bundles=3, patients=40, seconds=3, warmup=1, concurrency=(1, 8), commits=300, reads=2000)
FULL = Sizes(bundles=12, patients=60, seconds=10, warmup=2, concurrency=(1, 8, 32), commits=2000, reads=10000)


# --- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`benhan serve` in a subprocess, its output to a log file."""

    def __init__(self, data_dir: Path, database_url: str | None, env: dict[str, str] | None = None,
                 workers: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self.database_url = database_url
        cmd = [BENHAN, "serve", "--data-dir", str(data_dir), "--port", str(self.port)]
        if database_url:
            cmd += ["--database-url", database_url]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        self.command = cmd
        self.log = open(data_dir.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=data_dir.parent,
                                     env={**os.environ, **NO_SCHEDULED_BACKUP, **(env or {})})
        self._wait_ready(240)
        install_bench_token(database_url or f"sqlite:///{data_dir / 'benhan.sqlite'}")
        self.startup_s = time.perf_counter() - started

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.base}/metadata", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s; see {self.log.name}")

    def pids(self) -> list[int]:
        """The server and its worker processes (--workers), each process once."""
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                pass
        return found

    def cpu_s(self) -> float:
        """User + system CPU seconds the server has used so far (all its threads and worker processes)."""
        return sum(_proc_cpu_s(pid) for pid in self.pids())

    def db_cpu_s(self) -> float:
        """PostgreSQL: CPU seconds of the database's backends serving this server's connections
        (they share the machine's cores); 0 on SQLite or when /proc shows them not (another host)."""
        if not self.database_url:
            return 0.0
        from sqlalchemy import create_engine, text
        if not hasattr(self, "_admin"):
            self._admin = create_engine(self.database_url.rsplit("/", 1)[0] + "/postgres", poolclass=_null_pool())
        with self._admin.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                {"d": self.database_url.rsplit("/", 1)[1]}).scalars().all()
        seen = getattr(self, "_db_seen", {})
        now = {pid: _proc_cpu_s(pid) for pid in pids}
        self._db_total = getattr(self, "_db_total", 0.0) + sum(cpu - seen.get(pid, 0.0) for pid, cpu in now.items())
        self._db_seen = now
        return self._db_total

    def rss_mib(self) -> dict[str, float]:
        """Summed over the server and its worker processes."""
        total: dict[str, float] = {}
        for pid in self.pids():
            for k, v in rss_kib(pid).items():
                total[k] = total.get(k, 0.0) + v / 1024
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        if hasattr(self, "_admin"):
            self._admin.dispose()


def _proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _null_pool():  # noqa: ANN202
    from sqlalchemy.pool import NullPool
    return NullPool


class Profiler:
    """py-spy recording the server during one phase (collapsed stacks, one line per stack)."""

    gil_only = False     # --profile-gil: only samples holding the GIL (Python CPU, no waits)

    def __init__(self, out_dir: Path | None, pid: int, name: str):
        self.proc = None
        self.path = out_dir / f"{name}.txt" if out_dir else None
        if out_dir is None:
            return
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--function",
                                      "--rate", "250", "--nonblocking", "-o", str(self.path)]
                                     + (["--gil"] if self.gil_only else []),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)   # let it attach

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.path and self.path.exists():
            summarise_profile(self.path)


def summarise_profile(path: Path, top: int = 25) -> None:
    """Top functions by own time and by inclusive time, from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")[1:]        # the first is the thread
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n
    if not total:
        return
    lines = [f"# {path.name}: {total} samples", "", "## own time"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]]
    lines += ["", "## inclusive time"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in sorted(incl.items(), key=lambda kv: -kv[1])[:top * 2]]
    path.with_suffix(".top.md").write_text("\n".join(lines) + "\n")
    print(f"    profile: {path.with_suffix('.top.md')}")


def create_body() -> dict:
    """The Patient POSTed again and again by the create runs: the demo's, with a hospital record
    number instead of its CCCD and BHYT card, which one current Patient only may hold (every
    create after the first was a 409 — and counted as a request — since ca9becb)."""
    patient = patients_bundle(1, seed=7)["entry"][0]["resource"]
    patient["identifier"] = [{"system": "urn:oid:1.2.3.4.5.6", "value": "MR-0000001"}]
    return patient


# --- load -----------------------------------------------------------------------------------------

BUNDLES = "synthea"      # --bundles: synthea (bench/synthea_like.py) or demo (patients_bundle)


def make_bundles(sizes: Sizes) -> list[tuple[bytes, list[bytes], int]]:
    """Each Bundle as request bytes, with its resources' JSON (for the floor) and its size.
    synthea: shaped like Synthea's R4 patient exports (bench/synthea_like.py: Claims and EOBs,
    conditional creates and references, 100 to 4,000 entries); demo: patients_bundle (~13
    small resources per patient, no conditional references)."""
    if BUNDLES == "synthea":
        from synthea_like import World, bundle_sizes, patient_bundle
        world = World(seed=1)
        out = []
        for i, n in enumerate(bundle_sizes(sizes.bundles, seed=1000)):
            bundle = patient_bundle(world, n, seed=1000 + i)
            out.append((orjson.dumps(bundle), [orjson.dumps(e["resource"]) for e in bundle["entry"]],
                        len(bundle["entry"])))
        return out
    out = []
    for i in range(sizes.bundles):
        bundle = patients_bundle(sizes.patients, seed=1000 + i)
        bodies = [orjson.dumps(e["resource"]) for e in bundle["entry"]]
        out.append((orjson.dumps(bundle), bodies, len(bundle["entry"])))
    return out


def ingest(server: Server, bundles: list[tuple[bytes, list[bytes], int]]) -> tuple[dict, list[str]]:
    """POST each Bundle in turn; the figure and the Type/id of every resource made."""
    made: list[str] = []
    times = []
    cpu_before, db_before = server.cpu_s(), server.db_cpu_s()
    with httpx.Client(timeout=300) as client:
        for body, _, _ in bundles:
            start = time.perf_counter()
            r = client.post(f"{server.base}/", content=body, headers=JSON_HEADERS)  # /fhir answers 307 to /fhir/
            times.append(time.perf_counter() - start)
            if r.status_code != 200:
                raise RuntimeError(f"ingest failed: {r.status_code} {r.text[:500]}")
            for e in r.json()["entry"]:
                made.append(e["response"]["location"].split("/_history/")[0])
    cpu = server.cpu_s() - cpu_before
    db_cpu = server.db_cpu_s() - db_before
    total = sum(n for _, _, n in bundles)
    return {"bundles": len(bundles), "resources": total, "resources_per_bundle": total // len(bundles),
            "seconds": sum(times), "per_s": total / sum(times), "server_cpu_us_per_resource": cpu / total * 1e6,
            "db_cpu_us_per_resource": db_cpu / total * 1e6,
            "bundle_p50_s": percentile(sorted(times), 50)}, made


WRK_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk_script_create(body: bytes) -> str:
    return ('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/fhir+json"\n'
            f'wrk.headers["Authorization"] = "{AUTH_HEADERS["Authorization"]}"\n'
            f"wrk.body = [==[{body.decode()}]==]\n" + WRK_DONE)


def wrk_script_read(paths: list[str]) -> str:
    listed = ",\n".join(json.dumps(p) for p in paths)
    return (f"local paths = {{\n{listed}\n}}\n"
            "local counter = 0\n"
            "setup = function(thread) counter = counter + 1; thread:set('seed', counter * 7919) end\n"
            "init = function(args) math.randomseed(seed) end\n"
            f'wrk.headers["Authorization"] = "{AUTH_HEADERS["Authorization"]}"\n'
            "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n" + WRK_DONE)


def run_wrk(url: str, script: str, concurrency: int, seconds: float, work: Path) -> dict:
    lua = work / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    lua.write_text(script)
    threads = min(concurrency, 2)
    cmd = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s",
           "--timeout", "30s", "-s", str(lua), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    lua.unlink()
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {out.stdout[-500:]} {out.stderr[-500:]}")
    d = json.loads(line[6:])
    return {"concurrency": concurrency, "requests": d["requests"], "per_s": d["requests"] / (d["duration_us"] / 1e6),
            "p50_ms": d["p50_us"] / 1000, "p95_ms": d["p95_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
            "errors": d["errors"] + d["non2xx"]}


def run_httpx(method: str, url_for, body: bytes | None, concurrency: int, seconds: float) -> dict:  # noqa: ANN001
    """The same measurement with httpx threads (used when wrk is not installed)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        mine, bad, i = [], 0, n
        with httpx.Client(timeout=30) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                r = client.request(method, url_for(i), content=body, headers=JSON_HEADERS if body else AUTH_HEADERS)
                mine.append(time.perf_counter() - start)
                bad += r.status_code >= 400
                i += concurrency
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"concurrency": concurrency, "requests": len(latencies), "per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000, "errors": errors[0]}


def load_runs(server: Server, kind: str, sizes: Sizes, client: str, made: list[str], patient: bytes,
              work: Path) -> list[dict]:
    results = []
    for c in sizes.concurrency:
        for seconds, keep in ((sizes.warmup, False), (sizes.seconds, True)):
            cpu_before, db_before = server.cpu_s(), server.db_cpu_s()
            if client == "wrk":
                if kind == "create":
                    r = run_wrk(f"{server.base}/Patient", wrk_script_create(patient), c, seconds, work)
                else:
                    paths = [f"/fhir/{p}" for p in made]
                    r = run_wrk(server.base.rsplit("/fhir", 1)[0], wrk_script_read(paths), c, seconds, work)
            elif kind == "create":
                r = run_httpx("POST", lambda i: f"{server.base}/Patient", patient, c, seconds)
            else:
                r = run_httpx("GET", lambda i: f"{server.base}/{made[(i * 7919) % len(made)]}", None, c, seconds)
            r["server_cpu_us_per_req"] = (server.cpu_s() - cpu_before) / max(1, r["requests"]) * 1e6
            r["db_cpu_us_per_req"] = (server.db_cpu_s() - db_before) / max(1, r["requests"]) * 1e6
            if keep:
                results.append(r)
                db = f" + PostgreSQL {r['db_cpu_us_per_req']:4.0f}" if server.database_url else ""
                print(f"  {kind:<6} c={c:<3} {r['per_s']:8.0f} req/s   p50 {r['p50_ms']:7.2f} ms   "
                      f"p95 {r['p95_ms']:7.2f} ms   server CPU {r['server_cpu_us_per_req']:5.0f}{db} µs/req   "
                      f"({r['requests']} requests, {r['errors']} errors)")
                if r["errors"]:
                    print(f"  WARNING: {r['errors']} of {r['requests']} {kind} requests failed: the figure above "
                          "is not one of successful requests")
    return results


# --- the physical floor ---------------------------------------------------------------------------

def floor(url: str, bundles: list[tuple[bytes, list[bytes], int]], commits: int) -> dict:
    """The same JSON, raw, into a bare (id, body) table: one transaction and one executemany per Bundle."""
    from sqlalchemy import Column, LargeBinary, MetaData, String, Table, create_engine, event, insert

    engine = create_engine(url)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001 - the server's own pragmas
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
            cur.close()
    meta = MetaData()
    table = Table("bench_floor", meta, Column("id", String(64), primary_key=True), Column("body", LargeBinary))
    meta.drop_all(engine)
    meta.create_all(engine)
    times = []
    try:
        for _, bodies, _ in bundles:
            rows = [{"id": str(uuid.uuid4()), "body": b} for b in bodies]
            start = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(insert(table), rows)
            times.append(time.perf_counter() - start)
        # The floor of a single create: one row per durable commit, one after another.
        one_body = bundles[0][1][0]
        start = time.perf_counter()
        for _ in range(commits):
            with engine.begin() as conn:
                conn.execute(insert(table), [{"id": str(uuid.uuid4()), "body": one_body}])
        commit_s = time.perf_counter() - start
        meta.drop_all(engine)
    finally:
        engine.dispose()
    total = sum(n for _, _, n in bundles)
    return {"resources": total, "seconds": sum(times), "per_s": total / sum(times),
            "commits": commits, "commits_per_s": commits / commit_s}


# --- one database ------------------------------------------------------------------------------

def bench_backend(backend: str, sizes: Sizes, client: str, pg_url: str, work: Path,
                  profile_dir: Path | None, env: dict[str, str], workers: int = 1) -> dict:
    data_dir = work / backend
    data_dir.mkdir()
    db_name = f"benhan_bench_{os.getpid()}"
    admin = None
    if backend == "postgresql":
        from sqlalchemy import create_engine, text
        admin = create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        database_url = f"{pg_url}/{db_name}"
        floor_url = database_url
    else:
        database_url = None
        floor_url = f"sqlite:///{data_dir / 'floor.sqlite'}"
    print(f"\n[{backend}]")
    bundles = make_bundles(sizes)
    patient = orjson.dumps(create_body())
    server = Server(data_dir, database_url, env, workers)
    result: dict = {"backend": backend, "command": " ".join(server.command), "startup_s": server.startup_s}
    try:
        time.sleep(1.0)
        result["rss_idle_mib"] = server.rss_mib()
        print(f"  start-up {server.startup_s:.1f} s, idle RSS {result['rss_idle_mib']['VmRSS']:.0f} MiB")
        spy = Profiler(profile_dir, server.pid, f"{backend}-ingest")
        result["ingest"], made = ingest(server, bundles)
        spy.stop()
        i = result["ingest"]
        print(f"  ingest {i['bundles']} Bundles of ~{i['resources_per_bundle']} resources: "
              f"{i['per_s']:8.0f} resources/s ({i['seconds']:.1f} s, {i['bundle_p50_s'] * 1000:.0f} ms per Bundle, "
              f"server CPU {i['server_cpu_us_per_resource']:.0f} µs/resource"
              + (f" + PostgreSQL {i['db_cpu_us_per_resource']:.0f}" if server.database_url else "") + ")")
        time.sleep(1.5)   # the read-audit buffer flushes within a second
        result["rss_after_ingest_mib"] = server.rss_mib()
        print(f"  RSS after ingest {result['rss_after_ingest_mib']['VmRSS']:.0f} MiB")
        spy = Profiler(profile_dir, server.pid, f"{backend}-create")
        result["create"] = load_runs(server, "create", sizes, client, made, patient, work)
        spy.stop()
        spy = Profiler(profile_dir, server.pid, f"{backend}-read")
        result["read"] = load_runs(server, "read", sizes, client, made, patient, work)
        spy.stop()
        result["rss_end_mib"] = server.rss_mib()
        print(f"  RSS at the end {result['rss_end_mib']['VmRSS']:.0f} MiB (peak {result['rss_end_mib']['VmHWM']:.0f} MiB)")
    finally:
        server.stop()
    try:
        result["floor"] = floor(floor_url, bundles, sizes.commits)
        result["ingest_vs_floor"] = result["ingest"]["per_s"] / result["floor"]["per_s"]
        print(f"  floor (raw executemany, same JSON): {result['floor']['per_s']:8.0f} resources/s → "
              f"ours/floor = {result['ingest_vs_floor']:.3f} ({1 / result['ingest_vs_floor']:.0f}× slower)")
        print(f"  floor of a single create (one-row durable commits, sequential): "
              f"{result['floor']['commits_per_s']:8.0f} commits/s")
    finally:
        if admin is not None:
            from sqlalchemy import text
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()
    return result


# --- in-process: the same work without HTTP ---------------------------------------------------------

def inprocess(backend: str, sizes: Sizes, pg_url: str, work: Path, cprofile_dir: Path | None) -> dict:
    """Ingest, create and read straight through Repository / bundles.transaction, no HTTP: what the
    HTTP stack costs is the difference from the server's figures. With --cprofile, one pstats file and
    a top-30 listing per phase."""
    import cProfile
    import io
    import pstats

    from benhan.auth.actor import Actor
    from benhan.config import load
    from benhan.fhir.indexing import extract
    from benhan.fhir.resource_json import content_hash
    from benhan.store.bundles import transaction
    from benhan.store.repository import Repository
    from benhan.store.store import Store

    data_dir = work / f"inprocess-{backend}"
    data_dir.mkdir()
    db_name = f"benhan_bench_ip_{os.getpid()}"
    admin = None
    database_url = ""
    if backend == "postgresql":
        from sqlalchemy import create_engine, text
        admin = create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        database_url = f"{pg_url}/{db_name}"
    print(f"\n[{backend}, in-process]")
    store = Store.open(load(env={}, data_dir=data_dir, database_url=database_url))
    repo = Repository(store, Actor.system("bench"))
    bundles = make_bundles(sizes)
    patient = create_body()
    out: dict = {"backend": backend}

    def phase(name: str, fn):  # noqa: ANN001, ANN202
        prof = cProfile.Profile() if cprofile_dir else None
        start = time.perf_counter()
        if prof:
            prof.enable()
        value = fn()
        if prof:
            prof.disable()
        elapsed = time.perf_counter() - start
        if prof:
            stats_path = cprofile_dir / f"inprocess-{backend}-{name}.pstats"
            prof.dump_stats(stats_path)
            text_out = io.StringIO()
            st = pstats.Stats(prof, stream=text_out)
            st.sort_stats("tottime").print_stats(30)
            st.sort_stats("cumulative").print_stats(40)
            stats_path.with_suffix(".txt").write_text(text_out.getvalue())
            print(f"    cProfile: {stats_path.with_suffix('.txt')}")
        return value, elapsed

    try:
        parsed = [orjson.loads(body) for body, _, _ in bundles]
        # What the write path does before any database work, per resource.
        resources = [e["resource"] for body, _, _ in bundles for e in orjson.loads(body)["entry"]]
        for label, fn in (("validate", store.validate), ("extract", extract), ("hash", content_hash)):
            start = time.perf_counter()
            for r in resources:
                fn(r)
            us = (time.perf_counter() - start) / len(resources) * 1e6
            out[f"{label}_us"] = us
        print("  per resource, no database: " + ", ".join(f"{k[:-3]} {out[k]:.0f} µs"
                                                          for k in ("validate_us", "extract_us", "hash_us")))
        made: list[str] = []

        def do_ingest() -> None:
            for b in parsed:
                resp = transaction(repo, b, "http://bench/fhir")
                made.extend(e["response"]["location"].split("/_history/")[0] for e in resp["entry"])
        _, secs = phase("ingest", do_ingest)
        total = sum(n for _, _, n in bundles)
        out["ingest_per_s"] = total / secs
        print(f"  ingest {total} resources: {out['ingest_per_s']:8.0f} resources/s")

        _, secs = phase("create", lambda: [repo.create("Patient", patient) for _ in range(sizes.commits)])
        out["create_per_s"] = sizes.commits / secs
        print(f"  create x{sizes.commits} (sequential): {out['create_per_s']:8.0f} /s")

        def do_read() -> None:
            for i in range(sizes.reads):
                t, _, rid = made[(i * 7919) % len(made)].partition("/")
                repo.read(t, rid)
        _, secs = phase("read", do_read)
        out["read_per_s"] = sizes.reads / secs
        print(f"  read x{sizes.reads} (sequential): {out['read_per_s']:8.0f} /s")
    finally:
        store.close()
        if admin is not None:
            from sqlalchemy import text
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()
    return out


GOALS = {"ingest": 2000, "create": 500, "read": 2000, "rss": 150}


def print_goals(res: dict) -> None:
    best_create = max(r["per_s"] for r in res["create"])
    best_read = max(r["per_s"] for r in res["read"])
    rows = [("bundle ingest, resources/s", GOALS["ingest"], res["ingest"]["per_s"], True),
            ("single create, req/s (best concurrency)", GOALS["create"], best_create, True),
            ("read by id, req/s (best concurrency)", GOALS["read"], best_read, True),
            ("idle RSS, MiB", GOALS["rss"], res["rss_idle_mib"]["VmRSS"], False)]
    print(f"\ngoals ({res['backend']}):")
    for name, goal, got, higher in rows:
        ok = got >= goal if higher else got <= goal
        print(f"  {name:<42} goal {goal:>6}  measured {got:8.0f}  {'met' if ok else 'SHORT'}"
              f"{'' if ok else f' ({got / goal:.0%} of goal)' if higher else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--client", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server URL, without the database")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the server (e.g. BENHAN_LOG_LEVEL=warning); repeatable")
    parser.add_argument("--workers", type=int, default=1, help="the server's --workers (worker processes)")
    parser.add_argument("--bundles", choices=("synthea", "demo"), default="synthea",
                        help="ingest Bundles shaped like Synthea's R4 exports (bench/synthea_like.py, the default) "
                             "or the demo's patients_bundle (the figures before December 2026)")
    parser.add_argument("--profile", type=Path, help="record each server phase with py-spy into this folder")
    parser.add_argument("--profile-gil", action="store_true",
                        help="with --profile: keep only samples holding the GIL (where the Python CPU goes)")
    parser.add_argument("--inprocess", action="store_true",
                        help="also run ingest/create/read in-process (no HTTP) for the HTTP overhead")
    parser.add_argument("--cprofile", type=Path, help="cProfile the in-process phases into this folder")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    global BUNDLES
    BUNDLES = args.bundles
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    info = print_machine(f"{args.pg_url}/postgres" if "postgresql" in backends else None)
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          "(other work on the machine skews every figure)")
    print(f"client: {args.client} ({'wrk 4, C, ' if args.client == 'wrk' else 'httpx threads, '}"
          f"same machine); sizes: {sizes}; bundles: {BUNDLES}")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        Profiler.gil_only = args.profile_gil
    results = []
    with tempfile.TemporaryDirectory(prefix="benhan-bench-") as tmp:
        for backend in backends:
            results.append(bench_backend(backend, sizes, args.client, args.pg_url, Path(tmp), args.profile,
                                         dict(kv.split("=", 1) for kv in args.server_env), args.workers))
        if args.inprocess or args.cprofile:
            if args.cprofile:
                args.cprofile.mkdir(parents=True, exist_ok=True)
            for res, backend in zip(results, backends):
                res["inprocess"] = inprocess(backend, sizes, args.pg_url, Path(tmp), args.cprofile)
    for res in results:
        print_goals(res)
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "client": args.client, "sizes": sizes.__dict__,
                                         "load_before": load_before, "load_after": load_after,
                                         "server_env": args.server_env,
                                         "results": results}, indent=2))


if __name__ == "__main__":
    main()
