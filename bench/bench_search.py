"""Search latency on a database of a million resources, on SQLite and on PostgreSQL.

The data (bench/gen_search_data.py): 20,000 Vietnamese patients with 4–7 visits each (Encounter,
8 vital-sign Observations, a Condition: ≈ 56 resources a patient, ≈ 1.12 million resources) and one
"heavy" patient with 501 resources. It is generated once through Repository.prepare/commit and
cached under --data-dir (bench/data/, ignored by git); a PostgreSQL database is throwaway
(created, filled, dropped) unless --pg-keep.

For each query kind the script sends --requests requests with randomised values (a warm-up first,
not counted) and prints p50/p95/max, the SQL statements per request (a before_cursor_execute
listener on store.db.engine, counting the request's own thread only), the resources returned, and
the goal. In process through Repository.search_type (and compartments.everything), and over HTTP
to a `benhan serve` subprocess for a few. A query the server refuses (a feature not there yet) is
reported as "not supported yet", so the script can be re-run unchanged as features land.

For every query slower than its goal (or than --explain-ms without one) the slowest SQL statement
of its slowest request is shown with its plan: EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE,
BUFFERS) on PostgreSQL.

Usage:
    .venv/bin/python bench/bench_search.py --quick            # ≈ 20k resources, under two minutes
    .venv/bin/python bench/bench_search.py                    # ≈ 1.12M resources (generation ≈ 10 min per database, once)
    .venv/bin/python bench/bench_search.py --backend sqlite --sqlite-analyze   # + the same after ANALYZE
Options: --backend sqlite|postgresql|both, --data-dir, --pg-url, --pg-keep, --requests N,
--http-requests N, --patients N, --seed N, --json FILE, --explain-ms MS.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402

from _common import AUTH_HEADERS, install_bench_token, percentile, print_machine  # noqa: E402
from gen_search_data import (ALL_VITALS, FAMILY, MIDDLE_F, MIDDLE_M, build, heavy_patient,  # noqa: E402
                             patient_resources)

BENHAN = str(Path(sys.executable).with_name("benhan"))
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
LOINC = "http://loinc.org"


from benhan.vn.identifiers import CCCD_SYSTEM as CCCD  # noqa: E402


def fold(text: str) -> str:
    from benhan.fhir.text import fold as _fold
    return _fold(text)


# --- the queries ------------------------------------------------------------------------------------

@dataclass
class Sample:
    """What a query needs to know of a random patient (regenerated from the seed, not read back)."""
    id: str
    cccd: str
    family: str
    given: list[str]
    birth_year: int
    dates: list[str]          # visit dates (YYYY-MM-DD)


def samples(patients: int, seed: int, n: int, rng: random.Random) -> list[Sample]:
    out = []
    for number in rng.sample(range(patients), min(n, patients)):
        res = patient_resources(number, seed)
        p = res[0]
        out.append(Sample(p["id"], p["identifier"][0]["value"], p["name"][0]["family"], p["name"][0]["given"],
                          int(p["birthDate"][:4]),
                          sorted(r["period"]["start"][:10] for r in res if r["resourceType"] == "Encounter")))
    return out


@dataclass
class Query:
    name: str
    res_type: str                     # the type searched ("" for $everything)
    make: Callable[[random.Random, Sample], list[tuple[str, str]]]
    goal_ms: float | None = None
    http: bool = False                # also measured over HTTP
    compartment: bool = False         # Patient/{id}/{res_type}?…: compartments.search in process
    path: Callable[[Sample], str] | None = None   # HTTP path when not "{res_type}"


def _name(rng: random.Random, s: Sample) -> list[tuple[str, str]]:
    middle = rng.choice(MIDDLE_F + MIDDLE_M)
    return [("name", fold(f"{rng.choice(FAMILY)} {middle}"))]


def _year_range(rng: random.Random, s: Sample) -> list[tuple[str, str]]:
    y = rng.randint(1940, 2022)
    return [("birthdate", f"ge{y}-01-01"), ("birthdate", f"lt{y + 1}-01-01")]


def _obs_dates(rng: random.Random, s: Sample) -> list[tuple[str, str]]:
    d = rng.choice(s.dates)
    y = int(d[:4])
    return [("patient", f"Patient/{s.id}"), ("date", f"ge{y}-01-01"), ("date", f"lt{y + 1}-01-01")]


def _code(rng: random.Random) -> str:
    return f"{LOINC}|{rng.choice(ALL_VITALS)[0]}"


QUERIES = [
    Query("Patient?identifier=CCCD|n", "Patient", lambda rng, s: [("identifier", f"{CCCD}|{s.cccd}")],
          goal_ms=20, http=True),
    Query("Patient?identifier=n (no system)", "Patient", lambda rng, s: [("identifier", s.cccd)], goal_ms=20),
    Query("Patient?name=nguyen van (folded)", "Patient", _name, goal_ms=50, http=True),
    Query("Patient?family=tran", "Patient", lambda rng, s: [("family", fold(rng.choice(FAMILY)))], goal_ms=50),
    Query("Patient?birthdate=ge…&lt… (a year)", "Patient", _year_range),
    Query("Observation?patient&code", "Observation",
          lambda rng, s: [("patient", f"Patient/{s.id}"), ("code", _code(rng))], goal_ms=30, http=True),
    Query("Observation?patient&date (a year)", "Observation", _obs_dates),
    Query("Observation?patient&_sort=-date&_count=20", "Observation",
          lambda rng, s: [("patient", f"Patient/{s.id}"), ("_sort", "-date"), ("_count", "20")], http=True),
    Query("Observation?patient&_include=Observation:subject", "Observation",
          lambda rng, s: [("patient", f"Patient/{s.id}"), ("_include", "Observation:subject")], http=True),
    Query("Patient?identifier&_revinclude=Observation:subject", "Patient",
          lambda rng, s: [("identifier", f"{CCCD}|{s.cccd}"), ("_revinclude", "Observation:subject")], http=True),
    Query("Observation?subject:Patient.identifier=CCCD|n", "Observation",
          lambda rng, s: [("subject:Patient.identifier", f"{CCCD}|{s.cccd}")]),
    Query("Observation?encounter.subject:Patient.family=tran", "Observation",
          lambda rng, s: [("encounter.subject:Patient.family", fold(rng.choice(FAMILY)))]),
    Query("Patient/{id}/Observation?code (compartment)", "Observation",
          lambda rng, s: [("code", _code(rng))], http=True, compartment=True,
          path=lambda s: f"Patient/{s.id}/Observation"),
]
EVERYTHING = "Patient/{heavy}/$everything (501 resources)"
BUDGET_S = 60.0        # per query and mode: past it (and MIN_REQUESTS) a slow query stops early
MIN_REQUESTS = 20
EVERYTHING_GOAL_MS = 150


# --- measuring ----------------------------------------------------------------------------------------

class StatementCounter:
    """Counts (and times) the SQL statements run by one thread, from the engine's cursor events."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event
        self.engine = engine
        self.thread = threading.get_ident()
        self.statements: list[tuple[float, str, object]] = []
        self._start = 0.0
        self.current: tuple[str, object] | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if threading.get_ident() == self.thread:
            self._start = time.perf_counter()
            self.current = (statement, parameters)

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if threading.get_ident() == self.thread and not statement.lstrip().upper().startswith(("BEGIN", "EXPLAIN")):
            self.statements.append((time.perf_counter() - self._start, statement, parameters))

    def reset(self) -> None:
        self.statements = []
        self.current = None

    def close(self) -> None:
        from sqlalchemy import event
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


@dataclass
class Figures:
    name: str
    mode: str                          # in-process | HTTP
    goal_ms: float | None
    times_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)   # matches (+ included)
    status: str = "ok"
    slowest: tuple[float, str, object] | None = None   # slowest statement of the slowest request
    plan: str | None = None

    def summary(self) -> dict:
        t = sorted(self.times_ms)
        out = {"name": self.name, "mode": self.mode, "status": self.status, "goal_ms": self.goal_ms}
        if t:
            out.update(n=len(t), p50_ms=percentile(t, 50), p95_ms=percentile(t, 95), max_ms=t[-1],
                       statements=(sum(self.statements) / len(self.statements)) if self.statements else None,
                       returned=sum(self.returned) / len(self.returned) if self.returned else None)
        if self.plan:
            out["slowest_sql"] = self.slowest[1] if self.slowest else None
            out["plan"] = self.plan
        return out

    def verdict(self) -> str:
        if self.status != "ok" or not self.times_ms or self.goal_ms is None:
            return ""
        p95 = percentile(sorted(self.times_ms), 95)
        return "meets goal" if p95 <= self.goal_ms else f"MISSED by {p95 - self.goal_ms:.0f} ms ({p95 / self.goal_ms:.1f}×)"


def not_supported(exc: BaseException) -> str:
    return f"not supported yet ({type(exc).__name__}: {str(exc)[:140]})"


class Timeout:
    """A per-request time limit inside the database: SQLite's progress handler interrupts the
    statement, PostgreSQL's statement_timeout cancels it. Installed on new connections."""

    def __init__(self, db, seconds: float) -> None:  # noqa: ANN001
        from sqlalchemy import event
        self.seconds = seconds
        self.deadline: float | None = None
        self.db = db

        def on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
            if db.is_sqlite:
                dbapi_conn.set_progress_handler(self._expired, 20000)
            else:
                cur = dbapi_conn.cursor()
                cur.execute(f"SET statement_timeout = {int(seconds * 1000)}")
                cur.close()
                dbapi_conn.commit()
        event.listen(db.engine, "connect", on_connect)
        db.engine.dispose()          # pooled connections are made again, with the limit

    def _expired(self) -> int:
        return 1 if self.deadline is not None and time.perf_counter() > self.deadline else 0

    def arm(self) -> None:
        self.deadline = time.perf_counter() + self.seconds

    def disarm(self) -> None:
        self.deadline = None

    @staticmethod
    def is_timeout(exc: BaseException) -> bool:
        text = str(exc).lower()
        return "interrupted" in text or "statement timeout" in text or "canceling statement" in text


def measure(fig: Figures, call: Callable[[random.Random], int], rng: random.Random, n: int, warmup: int,
            counter: StatementCounter | None, timeout: Timeout | None) -> Figures:
    """Run call(rng) (which returns the number of resources it got) warm-up + n times, within the
    time budget; a refusal ends it as "not supported yet", a time-out as "timed out"."""
    from benhan import errors
    started = time.perf_counter()
    worst = -1.0
    i = 0
    while len(fig.times_ms) < n:
        elapsed = time.perf_counter() - started
        warming = i < warmup and elapsed < 5.0           # a slow query warms up with one request
        if not warming and elapsed > BUDGET_S and len(fig.times_ms) >= 5:
            break                                        # a slow query: fewer requests, see n
        i += 1
        if counter:
            counter.reset()
        if timeout:
            timeout.arm()
        t0 = time.perf_counter()
        try:
            got = call(rng)
        except (errors.BenhanError, ImportError, AttributeError) as exc:
            fig.status = not_supported(exc)
            break
        except Refused as exc:
            fig.status = str(exc)
            break
        except Exception as exc:  # noqa: BLE001
            if timeout and Timeout.is_timeout(exc):
                fig.status = f"timed out (a request took over {timeout.seconds:.0f} s)"
                if counter and counter.current:
                    fig.slowest = (timeout.seconds, *counter.current)
                break
            fig.status = f"failed ({type(exc).__name__}: {str(exc)[:160]})"
            break
        finally:
            if timeout:
                timeout.disarm()
        ms = (time.perf_counter() - t0) * 1000
        if warming:
            continue
        fig.times_ms.append(ms)
        fig.returned.append(got)
        if counter:
            fig.statements.append(len(counter.statements))
            if ms > worst and counter.statements:
                worst = ms
                fig.slowest = max(counter.statements, key=lambda st: st[0])
    return fig


def run_inprocess(store, queries: list[Query], smp: list[Sample], heavy_id: str, n: int, warmup: int,  # noqa: ANN001
                  seed: int, timeout: Timeout | None = None) -> list[Figures]:
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    repo = Repository(store, Actor.system("bench"))
    counter = StatementCounter(store.db.engine)
    out = []
    try:
        for q in queries:
            def call(rng: random.Random, q: Query = q) -> int:
                s = rng.choice(smp)
                if q.compartment:
                    from benhan.store import compartments
                    result = compartments.search(repo, s.id, q.res_type, q.make(rng, s))
                else:
                    result = repo.search_type(q.res_type, q.make(rng, s))
                return len(result.matches) + len(getattr(result, "included", []) or [])
            fig = measure(Figures(q.name, "in-process", q.goal_ms), call, random.Random(f"{seed}:{q.name}"),
                          n, warmup, counter, timeout)
            out.append(fig)
            print_row(fig)
        out.append(everything_inprocess(repo, counter, heavy_id, n, warmup, timeout))
        print_row(out[-1])
    finally:
        counter.close()
    return out


def everything_inprocess(repo, counter: StatementCounter, heavy_id: str, n: int, warmup: int,  # noqa: ANN001
                         timeout: Timeout | None) -> Figures:
    fig = Figures(EVERYTHING, "in-process", EVERYTHING_GOAL_MS)
    try:
        from benhan.store import compartments
        everything = compartments.everything
    except (ImportError, AttributeError) as exc:
        fig.status = not_supported(exc)
        return fig

    def call(rng: random.Random) -> int:
        got, cursor = 0, None
        for _ in range(50):               # bounded: follow the pages
            page = everything(repo, heavy_id, count=1000, cursor=cursor)
            got += len(page.entries)
            cursor = page.next_cursor
            if cursor is None:
                break
        return got
    return measure(fig, call, random.Random(0), max(10, n // 4), warmup, counter, timeout)


# --- HTTP ----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, database_url: str | None, log_dir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        cmd = [BENHAN, "serve", "--data-dir", str(data_dir), "--port", str(self.port)]
        if database_url:
            cmd += ["--database-url", database_url]
        self.log = open(log_dir / f"search-server-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=log_dir)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.base}/metadata", timeout=2).status_code == 200:
                    install_bench_token(database_url or f"sqlite:///{data_dir / 'benhan.sqlite'}")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready after 120 s; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def _refusal(resp: httpx.Response) -> str:
    try:
        issue = resp.json()["issue"][0]
        text = issue.get("diagnostics") or issue.get("details", {}).get("text") or ""
    except Exception:  # noqa: BLE001
        text = resp.text[:140]
    return f"not supported yet (HTTP {resp.status_code}: {text[:140]})"


def _count_entries(bundle: dict) -> tuple[int, str | None]:
    entries = [e for e in bundle.get("entry", []) if e.get("search", {}).get("mode") != "outcome"]
    nxt = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
    return len(entries), nxt


class Refused(Exception):
    """The server answered a query with an error status (a feature not there yet)."""


def run_http(server: Server, queries: list[Query], smp: list[Sample], heavy_id: str, n: int, warmup: int,
             seed: int, skip: dict[str, str], limit_s: float) -> list[Figures]:
    """Sequential requests from one client. Queries that timed out in process are skipped: the
    server would go on computing them after the client gave up."""
    out = []
    headers = {"Accept": "application/fhir+json", **AUTH_HEADERS}

    def get(client: httpx.Client, url: str, params: list | None = None) -> dict:
        resp = client.get(url, params=params)
        if resp.status_code != 200:
            raise Refused(_refusal(resp))
        return resp.json()

    with httpx.Client(base_url=server.base, headers=headers, timeout=limit_s * 3) as client:
        for q in [q for q in queries if q.http]:
            fig = Figures(q.name, "HTTP", q.goal_ms)
            if q.name in skip:
                fig.status = skip[q.name]
            else:
                def call(rng: random.Random, q: Query = q) -> int:
                    s = rng.choice(smp)
                    return _count_entries(get(client, "/" + (q.path(s) if q.path else q.res_type), q.make(rng, s)))[0]
                measure(fig, call, random.Random(f"{seed}:http:{q.name}"), n, warmup, None, None)
            out.append(fig)
            print_row(fig)

        def everything(rng: random.Random) -> int:
            url, got = f"/Patient/{heavy_id}/$everything?_count=1000", 0
            for _ in range(50):               # bounded: follow the pages
                k, url = _count_entries(get(client, url))
                got += k
                if not url:
                    break
            return got
        fig = Figures(EVERYTHING, "HTTP", EVERYTHING_GOAL_MS)
        if EVERYTHING in skip:
            fig.status = skip[EVERYTHING]
        else:
            measure(fig, everything, random.Random(0), max(10, n // 2), warmup, None, None)
        out.append(fig)
        print_row(fig)
    return out


# --- plans -----------------------------------------------------------------------------------------------

def explain(store, statement: str, parameters: object, analyze: bool = True) -> str:  # noqa: ANN001
    with store.db.engine.connect() as conn:
        if store.db.is_sqlite:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            # (id, parent, notused, detail): indent by depth
            depth: dict[int, int] = {0: -1}
            lines = []
            for rid, parent, _, detail in rows:
                depth[rid] = depth.get(parent, -1) + 1
                lines.append("  " * depth[rid] + detail)
            return "\n".join(lines)
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        conn.rollback()
        return "\n".join(r[0] for r in rows)


def literal_sql(statement: str, parameters: object) -> str:
    """The statement with its parameters written in, for reading (not for running)."""
    text = " ".join(statement.split())
    if isinstance(parameters, dict):
        for k, v in sorted(parameters.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(f"%({k})s", repr(v))
    elif isinstance(parameters, (list, tuple)):
        for v in parameters:
            text = text.replace("?", repr(v), 1)
    return text


def add_plans(store, figs: list[Figures], explain_ms: float) -> None:  # noqa: ANN001
    for fig in figs:
        timed_out = fig.status.startswith("timed out")
        if fig.slowest is None or not (timed_out or (fig.status == "ok" and fig.times_ms)):
            continue
        p95 = percentile(sorted(fig.times_ms), 95) if fig.times_ms else float("inf")
        if not timed_out and p95 <= (fig.goal_ms if fig.goal_ms is not None else explain_ms):
            continue
        try:
            fig.plan = explain(store, fig.slowest[1], fig.slowest[2], analyze=not timed_out)
        except Exception as exc:  # noqa: BLE001
            fig.plan = f"(EXPLAIN failed: {type(exc).__name__}: {exc})"
        took = "timed out" if timed_out else f"p95 {p95:.1f} ms; slowest statement {fig.slowest[0] * 1000:.1f} ms"
        print(f"\n  ▸ {fig.name}: {took}:")
        print("    " + literal_sql(fig.slowest[1], fig.slowest[2])[:1500])
        print("    plan:")
        print("\n".join("      " + line for line in fig.plan.splitlines()))


# --- other query shapes -------------------------------------------------------------------------------
# The same questions as SQL of another shape, timed on the same data: what a change to
# benhan/store/search.py would buy. `IN (SELECT resource_pk …)` is evaluated once and drives the
# outer query from the index, where a correlated EXISTS is probed once per row of the type.

_REF = ("SELECT resource_pk FROM idx_reference WHERE res_type = :t AND param = :rp "
        "AND target_type = 'Patient' AND target_id = :pid")
_CODE = ("SELECT resource_pk FROM idx_token WHERE res_type = :t AND param = 'code' "
         "AND system = :sys AND code = :code")
SHAPES = {
    "Patient?identifier=CCCD|n": [
        ("IN (SELECT resource_pk …) without res_type",
         "SELECT r.pk FROM resource r WHERE r.deleted = :f AND r.pk IN (SELECT resource_pk FROM idx_token "
         "WHERE res_type = 'Patient' AND param = 'identifier' AND system = :idsys AND code = :cccd) "
         "ORDER BY r.pk LIMIT 21"),
    ],
    "Patient?name=nguyen van (folded)": [
        ("IN (SELECT resource_pk … value LIKE 'x%'), without res_type",
         "SELECT r.pk FROM resource r WHERE r.deleted = :f AND r.pk IN (SELECT resource_pk FROM idx_string "
         "WHERE res_type = 'Patient' AND param = 'name' AND value LIKE :prefix) ORDER BY r.pk LIMIT 21"),
        ("the same with value >= 'x' AND value < 'x\uffff' instead of LIKE",
         "SELECT r.pk FROM resource r WHERE r.deleted = :f AND r.pk IN (SELECT resource_pk FROM idx_string "
         "WHERE res_type = 'Patient' AND param = 'name' AND value >= :lo AND value < :hi) ORDER BY r.pk LIMIT 21"),
    ],
    "Patient?family=tran": [
        ("correlated EXISTS as now, pk order streams to LIMIT [SQLite: +res_type]",
         "SELECT r.pk FROM resource r WHERE +r.res_type = 'Patient' AND r.deleted = :f AND EXISTS (SELECT 1 "
         "FROM idx_string s WHERE s.resource_pk = r.pk AND s.res_type = 'Patient' AND s.param = 'family' "
         "AND s.value LIKE :famprefix) ORDER BY r.pk LIMIT 21"),
    ],
    "Observation?encounter.subject:Patient.family=tran": [
        ("correlated EXISTS as now, pk order streams to LIMIT [SQLite: +res_type]",
         "SELECT r.pk FROM resource r WHERE +r.res_type = 'Observation' AND r.deleted = :f AND EXISTS (SELECT 1 "
         "FROM idx_reference e WHERE e.resource_pk = r.pk AND e.res_type = 'Observation' AND e.param = 'encounter' "
         "AND e.target_type = 'Encounter' AND e.target_id IN (SELECT x.res_id FROM resource x WHERE "
         "x.res_type = 'Encounter' AND x.deleted = :f AND EXISTS (SELECT 1 FROM idx_reference ps WHERE "
         "ps.resource_pk = x.pk AND ps.param = 'subject' AND ps.target_type = 'Patient' AND ps.target_id IN ("
         "SELECT p.res_id FROM resource p WHERE p.res_type = 'Patient' AND p.deleted = :f AND p.pk IN ("
         "SELECT resource_pk FROM idx_string WHERE res_type = 'Patient' AND param = 'family' "
         "AND value >= :fam AND value < :famhi))))) ORDER BY r.pk LIMIT 21"),
    ],
    "Observation?patient&code": [
        ("IN (SELECT resource_pk …) per criterion",
         f"SELECT r.pk FROM resource r WHERE r.res_type = :t AND r.deleted = :f AND r.pk IN ({_REF}) "
         f"AND r.pk IN ({_CODE}) ORDER BY r.pk LIMIT 21"),
        ("the same without resource.res_type = ? (rowid IN drives)",
         f"SELECT r.pk FROM resource r WHERE r.deleted = :f AND r.pk IN ({_REF}) "
         f"AND r.pk IN ({_CODE}) ORDER BY r.pk LIMIT 21"),
        ("the patient's rows drive, the code an EXISTS probed by resource_pk [SQLite: +res_type]",
         f"SELECT r.pk FROM resource r WHERE r.deleted = :f AND r.pk IN ({_REF}) "
         "AND EXISTS (SELECT 1 FROM idx_token k WHERE k.resource_pk = r.pk AND +k.res_type = :t "
         "AND k.param = 'code' AND k.system = :sys AND k.code = :code) ORDER BY r.pk LIMIT 21"),
        ("join from the reference index, EXISTS for the code",
         "SELECT r.pk FROM idx_reference x JOIN resource r ON r.pk = x.resource_pk "
         "WHERE x.res_type = :t AND x.param = :rp AND x.target_type = 'Patient' AND x.target_id = :pid "
         "AND r.res_type = :t AND r.deleted = :f AND EXISTS (SELECT 1 FROM idx_token k WHERE k.resource_pk = r.pk "
         "AND k.res_type = :t AND k.param = 'code' AND k.system = :sys AND k.code = :code) "
         "ORDER BY r.pk LIMIT 21"),
    ],
    "Observation?patient&_sort=-date&_count=20": [
        ("IN (SELECT resource_pk …) without res_type, sort key subquery",
         f"SELECT pk FROM (SELECT r.pk, (SELECT max(d.high) FROM idx_date d WHERE d.resource_pk = r.pk "
         f"AND d.param = 'date') AS k FROM resource r WHERE r.deleted = :f AND r.pk IN ({_REF})) s "
         f"ORDER BY k IS NULL, k DESC, pk LIMIT 21"),
    ],
    "Observation?subject:Patient.identifier=CCCD|n": [
        ("IN (SELECT resource_pk …) at each level, without res_type",
         "SELECT r.pk FROM resource r WHERE r.deleted = :f AND r.pk IN ("
         "SELECT resource_pk FROM idx_reference WHERE res_type = :t AND param = 'subject' AND target_type = 'Patient' "
         "AND target_id IN (SELECT p.res_id FROM resource p WHERE p.deleted = :f AND p.pk IN ("
         "SELECT resource_pk FROM idx_token WHERE res_type = 'Patient' AND param = 'identifier' "
         "AND system = :idsys AND code = :cccd))) ORDER BY r.pk LIMIT 21"),
    ],
}


def shape_params(rng: random.Random, s: Sample) -> dict:
    name = fold(f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F + MIDDLE_M)}")
    fam = fold(rng.choice(FAMILY))
    return {"t": "Observation", "rp": "patient", "pid": s.id, "f": False, "sys": LOINC,
            "code": rng.choice(ALL_VITALS)[0], "idsys": CCCD, "cccd": s.cccd,
            "prefix": name + "%", "lo": name, "hi": name + "\uffff", "fam": fam, "famprefix": fam + "%",
            "famhi": fam + "\uffff"}


def run_shapes(store, smp: list[Sample], n: int, seed: int, plans: bool) -> list[dict]:  # noqa: ANN001
    from sqlalchemy import text
    out = []
    print(f"\n  the same questions in other SQL shapes ({n} each; hand-written SQL, not benhan's):")
    for query, variants in SHAPES.items():
        for label, sql in variants:
            if "[SQLite" in label and not store.db.is_sqlite:
                continue
            rng = random.Random(f"{seed}:shape:{query}")
            times = []
            stmt = text(sql)
            try:
                with store.db.read() as conn:
                    for i in range(n + 5):
                        params = shape_params(rng, rng.choice(smp))
                        t0 = time.perf_counter()
                        conn.execute(stmt, params).all()
                        if i >= 5:
                            times.append((time.perf_counter() - t0) * 1000)
            except Exception as exc:  # noqa: BLE001 - a hand-written experiment, not the product
                print(f"  {query:<46} {label:<56} failed: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            times.sort()
            row = {"query": query, "shape": label, "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}
            print(f"  {query:<46} {label:<56} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms", flush=True)
            if plans:
                compiled = stmt.compile(dialect=store.db.engine.dialect)
                raw = compiled.construct_params(params)
                ps = tuple(raw[k] for k in compiled.positiontup) if compiled.positional else raw
                row["plan"] = explain(store, str(compiled), ps)
                print("\n".join("      " + line for line in row["plan"].splitlines()))
            out.append(row)
    return out


# --- printing ------------------------------------------------------------------------------------------

def header() -> None:
    print(f"  {'query':<54} {'mode':<10} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL/req':>7} "
          f"{'returned':>8}  goal")


def print_row(fig: Figures) -> None:
    if fig.status != "ok" or not fig.times_ms:
        print(f"  {fig.name:<54} {fig.mode:<10} {fig.status}", flush=True)
        return
    s = fig.summary()
    stm = f"{s['statements']:.1f}" if s.get("statements") is not None else "–"
    goal = f"≤ {fig.goal_ms:.0f} ms: {fig.verdict()}" if fig.goal_ms else ""
    print(f"  {fig.name:<54} {fig.mode:<10} {s['n']:4d} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} {s['max_ms']:8.1f} {stm:>7} "
          f"{s['returned']:8.1f}  {goal}", flush=True)


# --- databases ------------------------------------------------------------------------------------------

def reconcile_schema(store) -> list[str]:  # noqa: ANN001
    """Bring a cached database's tables to this checkout's schema.py where that is cheap (a new
    nullable column, a new index), so a cache generated by an earlier version still serves; the
    index rows themselves are not recomputed (the queries here use none of what changed)."""
    from sqlalchemy import inspect

    from benhan.store.schema import metadata
    done = []
    insp = inspect(store.db.engine)
    with store.db.engine.begin() as conn:
        for table in metadata.sorted_tables:
            if not insp.has_table(table.name):
                continue
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have:
                    if not col.nullable:
                        raise RuntimeError(f"cached database lacks {table.name}.{col.name} (NOT NULL): regenerate it")
                    ctype = col.type.compile(dialect=store.db.engine.dialect)
                    conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN {col.name} {ctype}')
                    done.append(f"added column {table.name}.{col.name}")
            indexes = {i["name"] for i in insp.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in indexes:
                    t = time.perf_counter()
                    index.create(conn)
                    done.append(f"created index {index.name} ({time.perf_counter() - t:.0f} s)")
    return done


def open_store(data_dir: Path, url: str | None):  # noqa: ANN201
    from benhan.config import load
    from benhan.store.store import Store
    return Store.open(load(env={}, data_dir=data_dir, database_url=url))


def ensure_sqlite(cache: Path, patients: int, seed: int) -> dict:
    manifest = cache / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())
    if cache.exists():
        shutil.rmtree(cache)          # an interrupted generation
    print(f"  generating {cache} (once) …", flush=True)
    return build(cache, None, patients, seed)


def pg_admin(pg_url: str):  # noqa: ANN201
    from sqlalchemy import create_engine
    return create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")


def pg_database_exists(pg_url: str, name: str) -> bool:
    from sqlalchemy import text
    admin = pg_admin(pg_url)
    try:
        with admin.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    finally:
        admin.dispose()


def pg_create(pg_url: str, name: str, drop_first: bool = False) -> None:
    from sqlalchemy import text
    admin = pg_admin(pg_url)
    try:
        with admin.connect() as conn:
            if drop_first:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def pg_drop(pg_url: str, name: str) -> None:
    from sqlalchemy import text
    admin = pg_admin(pg_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def print_generation(m: dict) -> None:
    rows = m.get("rows", {})
    print(f"  data: {m['resources']:,} resources from {m['patients']:,} patients "
          f"(heavy patient {m['heavy_patient']}); database {m['database_bytes'] / 2**30:.2f} GiB "
          f"({m['database_bytes'] / m['resources']:.0f} bytes/resource)")
    print(f"  generated at {m['per_s']:,.0f} resources/s ({m['seconds']:.0f} s; commit {m['commit_seconds']:.0f} s"
          f"{'; ' + m['note'] if m.get('note') else ''})")
    if rows:
        print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items() if v))


# --- one database ---------------------------------------------------------------------------------------

def bench_backend(backend: str, args: argparse.Namespace, patients: int) -> dict:
    print(f"\n[{backend}]", flush=True)
    tag = f"p{patients}-s{args.seed}"
    throwaway = None
    url = None
    if backend == "sqlite":
        data_dir = args.data_dir / f"search-sqlite-{tag}"
        manifest = ensure_sqlite(data_dir, patients, args.seed)
    else:
        data_dir = args.data_dir / f"search-postgresql-{tag}"
        if args.pg_keep:
            name = f"benhan_bench_search_{tag}"
            mf = data_dir / "manifest.json"
            if mf.exists() and pg_database_exists(args.pg_url, name):
                manifest = json.loads(mf.read_text())
                url = f"{args.pg_url}/{name}"
            else:
                if mf.exists():
                    mf.unlink()
                pg_create(args.pg_url, name, drop_first=True)
                url = f"{args.pg_url}/{name}"
                print(f"  generating into {name} (kept) …", flush=True)
                manifest = build(data_dir, url, patients, args.seed)
        else:
            throwaway = f"benhan_bench_search_{os.getpid()}"
            data_dir = args.data_dir / f"search-postgresql-{os.getpid()}"
            pg_create(args.pg_url, throwaway)
            url = f"{args.pg_url}/{throwaway}"
            print(f"  generating into {throwaway} (dropped at the end) …", flush=True)
            manifest = build(data_dir, url, patients, args.seed)
    result: dict = {"backend": backend, "generation": manifest}
    try:
        print_generation(manifest)
        store = open_store(data_dir, url)
        try:
            for line in reconcile_schema(store):
                print(f"  cache: {line}")
            if not store.db.is_sqlite:
                t = time.perf_counter()
                with store.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE")
                print(f"  ANALYZE ({time.perf_counter() - t:.0f} s) — autovacuum would do the same after a bulk load")
            skip: dict[str, str] = {}
            rng = random.Random(args.seed)
            smp = samples(patients, args.seed, 400, rng)
            heavy_id = heavy_patient(args.seed)[0]["id"]
            print(f"\n  in process ({args.requests} requests each, {args.warmup} warm-up):")
            header()
            timeout = Timeout(store.db, args.timeout_s)
            figs = run_inprocess(store, QUERIES, smp, heavy_id, args.requests, args.warmup, args.seed, timeout)
            add_plans(store, figs, args.explain_ms)
            result["inprocess"] = [f.summary() for f in figs]
            for f in figs:
                if f.status.startswith("timed out"):
                    skip[f.name] = "skipped: timed out in process"
                elif f.times_ms and percentile(sorted(f.times_ms), 95) > 1000 * args.timeout_s / 4:
                    skip[f.name] = f"skipped: p95 in process {percentile(sorted(f.times_ms), 95) / 1000:.1f} s"
            result["shapes"] = run_shapes(store, smp, max(10, args.requests // 10), args.seed, plans=True)
            if args.sqlite_analyze and store.db.is_sqlite:
                result["inprocess_analyzed"] = sqlite_analyzed(store, smp, heavy_id, args, timeout)
        finally:
            store.close()
        if args.http_requests:
            print(f"\n  over HTTP (`benhan serve`, {args.http_requests} requests each, sequential):")
            server = Server(data_dir, url, args.data_dir)
            try:
                header()
                figs = run_http(server, QUERIES, smp, heavy_id, args.http_requests, args.warmup, args.seed,
                                skip, args.timeout_s)
                result["http"] = [f.summary() for f in figs]
            finally:
                server.stop()
    finally:
        if throwaway:
            pg_drop(args.pg_url, throwaway)
            shutil.rmtree(data_dir, ignore_errors=True)
    return result


def sqlite_analyzed(store, smp: list[Sample], heavy_id: str, args: argparse.Namespace,  # noqa: ANN001
                    timeout: Timeout) -> list[dict]:
    """The same queries after `PRAGMA analysis_limit=1000; ANALYZE` (what `PRAGMA optimize` does);
    the statistics are then deleted, leaving the cache as benhan makes it."""
    t = time.perf_counter()
    with store.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    store.db.engine.dispose()         # fresh connections read the new statistics
    print(f"\n  in process after ANALYZE (analysis_limit=1000, {time.perf_counter() - t:.1f} s):")
    header()
    try:
        figs = run_inprocess(store, QUERIES, smp, heavy_id, args.requests, args.warmup, args.seed, timeout)
        add_plans(store, figs, args.explain_ms)
    finally:
        with store.db.engine.connect() as conn:
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")
            conn.commit()
        store.db.engine.dispose()
    return [f.summary() for f in figs]


def main() -> None:
    global BUDGET_S
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="≈ 20k resources, fewer requests")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--pg-keep", action="store_true",
                    help="keep the PostgreSQL database (benhan_bench_search_p<N>-s<seed>) and reuse it next time")
    ap.add_argument("--patients", type=int, default=None, help="ordinary patients (default 20000, quick 350)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--requests", type=int, default=None, help="per query in process (default 200, quick 40)")
    ap.add_argument("--http-requests", type=int, default=None, help="per query over HTTP (default 100, quick 20)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--timeout-s", type=float, default=10.0,
                    help="a request's SQL is interrupted past this; the query is reported as timed out")
    ap.add_argument("--budget-s", type=float, default=60.0,
                    help="per query and mode: stop after this many seconds (at least 20 requests)")
    ap.add_argument("--explain-ms", type=float, default=20, help="plan queries without a goal slower than this (p95)")
    ap.add_argument("--sqlite-analyze", action="store_true", help="also measure after ANALYZE (then removed)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    patients = args.patients or (350 if args.quick else 20000)
    args.requests = args.requests if args.requests is not None else (40 if args.quick else 200)
    args.http_requests = args.http_requests if args.http_requests is not None else (20 if args.quick else 100)
    if args.quick:
        args.warmup = min(args.warmup, 5)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    BUDGET_S = args.budget_s
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    info = print_machine(args.pg_url + "/postgres" if "postgresql" in backends else None)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    results = {"machine": info, "patients": patients, "seed": args.seed, "backends": []}
    for backend in backends:
        results["backends"].append(bench_backend(backend, args, patients))
    print(f"\nload average: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
