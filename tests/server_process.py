"""A real `benhan serve` in a subprocess, the writers that load it, and the checks on what it wrote.

The server runs as `python -m benhan.cli serve` from this interpreter, so the process we hold is
the server itself (one uvicorn worker, no supervisor in between): SIGKILL stops it mid-write, the
way a power cut or the OOM killer would.

The durability, backup and migration tests share these; the checks read the tables directly
(benhan/store/schema.py), not through the code under test.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from benhan.store.schema import (INDEX_TABLES, audit_event, change_log, resource,
                                 resource_version)
from benhan.store.writer import decode_body
from tests import factories
from tests.auth_helpers import AUTH, install_at
from tests.factories import FHIR_JSON


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_client(timeout: float = 30, **kw) -> httpx.Client:  # noqa: ANN003
    """An HTTP client carrying the test suite's bearer token (tests/auth_helpers.py)."""
    return httpx.Client(timeout=timeout, headers=AUTH, **kw)


def benhan_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benhan.cli", *args]


def run_benhan(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run one `benhan …` command to completion; its stdout and stderr as text."""
    return subprocess.run(benhan_command(*args), capture_output=True, text=True, timeout=timeout,
                          env=_environment())


# --- every process a test starts, and its whole process group, is ended ----------------------------
# A server with --workers N forks N workers and a multiprocessing tracker; killing only the process
# we hold leaves them running. So every test process starts in a session (process group) of its own
# and is ended by group; tests/conftest.py fails the run if any group started here outlives it.

_GROUPS: set[int] = set()         # process group ids started by this test session


def spawn(args: list[str], **popen: object) -> subprocess.Popen:
    """subprocess.Popen in a new session (its own process group), remembered so that the test
    session can check at its end that nothing it started is still running."""
    process = subprocess.Popen(args, start_new_session=True, **popen)  # type: ignore[call-overload]
    _GROUPS.add(process.pid)
    return process


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    return [pid for pid, (_, group, state, _) in _processes().items() if group == pgid and state != "Z"]


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """pid → (parent pid, process group, state, command line) of every process we can see."""
    out: dict[int, tuple[int, int, str, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:             # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(entry)] = (int(fields[1]), int(fields[2]), fields[0], cmd.strip()[:200])
    return out


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def end(process: subprocess.Popen, timeout: float = 15, *, graceful: bool = True) -> None:
    """End a process started with spawn() and everything in its group: SIGTERM to the group (unless
    not graceful) and wait; SIGKILL to whatever is left, and wait until the group is empty."""
    pgid = process.pid
    if graceful and process.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(pgid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while group_members(pgid) and time.monotonic() < deadline:
        _signal_group(pgid, signal.SIGKILL)
        time.sleep(0.05)
    _GROUPS.discard(pgid)
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def terminate(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM and wait for a clean shutdown; SIGKILL if it does not come. A process from spawn()
    is ended with its whole group."""
    if process.pid in _GROUPS:
        end(process, timeout)
        return
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def leftover_processes(grace: float = 10.0) -> list[str]:
    """What this test session started and is still running: members of the groups spawn() made and
    descendants of this process (waited for up to `grace` seconds: some are just exiting)."""
    me = os.getpid()
    deadline = time.monotonic() + grace
    while True:
        table = _processes()
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _, _) in table.items():
            children.setdefault(parent, []).append(pid)
        descendants, todo = set(), list(children.get(me, []))
        while todo:
            pid = todo.pop()
            if pid not in descendants:
                descendants.add(pid)
                todo += children.get(pid, [])
        left = sorted({pid for pid, (_, group, state, _) in table.items()
                       if state != "Z" and (group in _GROUPS or pid in descendants)})
        if not left or time.monotonic() >= deadline:
            return [f"{pid} {table[pid][3]}" for pid in left]
        time.sleep(0.2)


def kill_leftovers() -> None:
    """SIGKILL everything leftover_processes() would name (so a failing run does not hang)."""
    for pgid in list(_GROUPS):
        _signal_group(pgid, signal.SIGKILL)
    for line in leftover_processes(grace=0):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _environment() -> dict[str, str]:
    # Only what the test passes on the command line may configure the child.
    return {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}


class PortTaken(Exception):
    pass


class ServerProcess:
    """`benhan serve --data-dir DIR [--database-url URL] --port N`, started and stopped on demand."""

    def __init__(self, data_dir: Path, database_url: str | None = None, extra_args: tuple[str, ...] = ()):
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.extra_args = tuple(extra_args)     # e.g. ("--workers", "2")
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def start(self, timeout: float = 120) -> "ServerProcess":
        """Start the server and wait until /fhir/metadata answers; fail with its log if it dies."""
        for _ in range(3):
            try:
                return self._start(timeout)
            except PortTaken:   # another process took the free port between our look and its bind
                continue
        return self._start(timeout)

    def _start(self, timeout: float) -> "ServerProcess":
        assert self.process is None, "already running"
        self.port = free_port()
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        # --no-code-lists: these tests count what they wrote; loading ICD-10 would add 1.5 s to each.
        args = ["serve", "--data-dir", str(self.data_dir), "--port", str(self.port), "--no-code-lists"]
        if self.database_url:
            args += ["--database-url", self.database_url]
        args += list(self.extra_args)
        log = open(self.log_path, "ab")
        try:
            self.process = spawn(benhan_command(*args), stdout=log, stderr=subprocess.STDOUT, env=_environment())
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    end(self.process, graceful=False)
                    self.process = None
                    said = self.log_path.read_bytes()[log_start:].decode(errors="replace")
                    if "address already in use" in said:
                        raise PortTaken(said)
                    raise RuntimeError(f"benhan serve exited with {code}:\n{self.log()}")
                try:
                    if http.get(f"{self.base}/metadata").status_code == 200:
                        # The schema exists now: give the test suite's token to this database.
                        install_at(self.database_url or f"sqlite:///{self.data_dir / 'benhan.sqlite'}")
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"benhan serve did not answer within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL to the server and its whole group: no shutdown handler runs, no buffer is flushed."""
        if self.process is None:
            return
        end(self.process, graceful=False)
        self.process = None

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM and wait for a clean shutdown (SIGKILL if it does not come), whole group."""
        if self.process is None:
            return
        end(self.process, timeout)
        self.process = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


# --- where the server keeps its data ---------------------------------------------------------------

@dataclass
class Database:
    """A data folder and, for PostgreSQL, the database the server is pointed at."""
    data_dir: Path
    database_url: str | None = None

    @property
    def url(self) -> str:
        """The URL to query directly (SQLite: the file `benhan serve` makes in the data folder)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'benhan.sqlite'}"

    @property
    def kind(self) -> str:
        return "sqlite" if self.database_url is None else "postgresql"

    def cli_args(self) -> list[str]:
        return ["--data-dir", str(self.data_dir)] + (["--database-url", self.database_url]
                                                      if self.database_url else [])

    def server(self) -> "ServerProcess":
        return ServerProcess(self.data_dir, self.database_url)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server that server_url points at; dropped after."""
    name = f"benhan_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- writers: clients streaming creates and transactions, remembering what was acknowledged --------

@dataclass
class Written:
    """What one writer sent: acknowledged (with the server's answer), in doubt, or refused."""
    acked: list = field(default_factory=list)
    in_doubt: list = field(default_factory=list)
    refused: list = field(default_factory=list)


class CreateWriter(threading.Thread):
    """POSTs Patients one after another until stopped or the server goes away.

    acked holds the 201 bodies; in_doubt the Patients sent without an answer (the server died
    mid-request: they may or may not be there, but never twice and never half).
    """

    def __init__(self, base: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.base, self.stop = base, stop
        self.written = Written()

    def run(self) -> None:
        with api_client() as http:
            while not self.stop.is_set():
                sent = factories.patient(given=("Văn", uuid.uuid4().hex[:8]))
                try:
                    r = http.post(f"{self.base}/Patient", content=orjson.dumps(sent), headers=FHIR_JSON)
                except httpx.TransportError:
                    self.written.in_doubt.append(sent)
                    return
                if r.status_code == 201:
                    self.written.acked.append(r.json())
                else:
                    self.written.refused.append(f"POST Patient: {r.status_code} {r.text[:200]}")


class TransactionWriter(threading.Thread):
    """POSTs transaction Bundles: a Patient and two Observations about it, with ids of our choosing
    (PUT), so that afterwards we can ask for all three whether or not the answer arrived."""

    def __init__(self, base: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.base, self.stop = base, stop
        self.written = Written()

    @staticmethod
    def bundle() -> tuple[dict, list[dict]]:
        key = uuid.uuid4().hex[:12]
        pat = dict(factories.patient(), id=f"tx-{key}")
        obs = [dict(factories.observation(f"Patient/{pat['id']}", value=60 + i), id=f"tx-{key}-{i}")
               for i in (1, 2)]
        resources = [pat, *obs]
        return ({"resourceType": "Bundle", "type": "transaction",
                 "entry": [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                           for r in resources]}, resources)

    def run(self) -> None:
        with api_client() as http:
            while not self.stop.is_set():
                bundle, resources = self.bundle()
                try:
                    r = http.post(f"{self.base}/", content=orjson.dumps(bundle), headers=FHIR_JSON)
                except httpx.TransportError:
                    self.written.in_doubt.append(resources)
                    return
                statuses = [e["response"]["status"] for e in r.json().get("entry", [])] \
                    if r.status_code == 200 else []
                if len(statuses) == len(resources) and all(s.startswith("201") for s in statuses):
                    self.written.acked.append(resources)
                else:
                    self.written.refused.append(f"transaction: {r.status_code} {r.text[:200]}")


class Writers:
    """Several concurrent create writers and one transaction writer against one running server."""

    def __init__(self, base: str, creators: int = 3):
        self.stop = threading.Event()
        self.creators = [CreateWriter(base, self.stop) for _ in range(creators)]
        self.transactions = TransactionWriter(base, self.stop)
        self.threads: list[CreateWriter | TransactionWriter] = [*self.creators, self.transactions]

    def start(self) -> "Writers":
        for t in self.threads:
            t.start()
        return self

    def join(self) -> None:
        """Stop (if the server has not already gone away) and wait for every writer."""
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a writer did not finish"

    def acked_creates(self) -> list[dict]:
        return [body for t in self.creators for body in t.written.acked]

    def acked_count(self) -> int:
        """How many writes have been acknowledged so far (a snapshot while they run)."""
        return sum(len(t.written.acked) for t in self.threads)

    def snapshot(self) -> tuple[list[dict], list[list[dict]]]:
        """Everything acknowledged up to now: the 201 bodies and the transactions' resources."""
        creates = [body for t in self.creators for body in list(t.written.acked)]
        return creates, list(self.transactions.written.acked)

    def refused(self) -> list[str]:
        return [msg for t in self.threads for msg in t.written.refused]

    def in_doubt_creates(self) -> list[dict]:
        return [sent for t in self.creators for sent in t.written.in_doubt]

    def in_doubt_transactions(self) -> list[list[dict]]:
        return list(self.transactions.written.in_doubt)


# --- checks on the tables ------------------------------------------------------------------------

def stored_resources(url: str) -> dict[tuple[str, str], dict]:
    """Every resource's current version as stored, read from the tables: (type, id) → JSON."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(resource.c.res_type, resource.c.res_id, resource_version.c.encoding,
                       resource_version.c.body)
                .select_from(resource.join(resource_version, (resource_version.c.resource_pk == resource.c.pk)
                                           & (resource_version.c.version == resource.c.version)))
                .where(resource.c.deleted.is_(False))).all()
    finally:
        engine.dispose()
    return {(r.res_type, r.res_id): orjson.loads(decode_body(r.encoding, r.body)) for r in rows}


def consistency_problems(url: str) -> list[str]:
    """What is half-written in the database at url, as sentences; [] when every write is whole.

    A write is whole when its resource row, every version row up to the current one, a
    change-log row per version, an audit row per version and only index rows that point at a
    resource are all there (DESIGN §3: one transaction).
    """
    r, v, c, a = resource, resource_version, change_log, audit_event
    problems: list[str] = []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            def each(query, say: str) -> None:  # noqa: ANN001
                for row in conn.execute(query.limit(5)).all():
                    problems.append(say.format(*row))

            versions = (select(v.c.resource_pk, func.count().label("n"), func.max(v.c.version).label("top"))
                        .group_by(v.c.resource_pk).subquery())
            each(select(r.c.res_type, r.c.res_id, r.c.version, versions.c.n, versions.c.top)
                 .select_from(r.outerjoin(versions, versions.c.resource_pk == r.c.pk))
                 .where((versions.c.n.is_(None)) | (versions.c.n != r.c.version) | (versions.c.top != r.c.version)),
                 "{0}/{1} is at version {2} but has {3} version rows up to {4}")
            each(select(v.c.resource_pk, v.c.version).where(~select(r.c.pk).where(r.c.pk == v.c.resource_pk).exists()),
                 "version row {0}/{1} has no resource row")
            each(select(r.c.res_type, r.c.res_id, v.c.version).select_from(r.join(v, v.c.resource_pk == r.c.pk))
                 .where(~select(c.c.seq).where((c.c.resource_pk == v.c.resource_pk) & (c.c.version == v.c.version)
                                               & (c.c.res_type == r.c.res_type) & (c.c.res_id == r.c.res_id))
                        .exists()),
                 "{0}/{1} version {2} has no change-log row")
            each(select(c.c.seq, c.c.res_type, c.c.res_id, c.c.version)
                 .where(~select(v.c.version).where((v.c.resource_pk == c.c.resource_pk) & (v.c.version == c.c.version))
                        .exists()),
                 "change-log row {0} ({1}/{2} version {3}) has no version row")
            each(select(c.c.res_type, c.c.res_id, c.c.version, func.count())
                 .group_by(c.c.res_type, c.c.res_id, c.c.version).having(func.count() > 1),
                 "{0}/{1} version {2} is in the change log {3} times")
            each(select(c.c.seq, c.c.res_type, c.c.res_id, c.c.version)
                 .where(~select(a.c.seq).where((a.c.res_type == c.c.res_type) & (a.c.res_id == c.c.res_id)
                                               & (a.c.version == c.c.version) & a.c.action.in_(("C", "U", "D")))
                        .exists()),
                 "change-log row {0} ({1}/{2} version {3}) has no audit row")
            each(select(a.c.seq, a.c.res_type, a.c.res_id, a.c.version)
                 .where(a.c.action.in_(("C", "U")) & (a.c.version > 0)
                        & ~select(c.c.seq).where((c.c.res_type == a.c.res_type) & (c.c.res_id == a.c.res_id)
                                                 & (c.c.version == a.c.version)).exists()),
                 "audit row {0} records a write of {1}/{2} version {3} that the change log lacks")
            for name, table in INDEX_TABLES.items():
                each(select(table.c.res_type, table.c.param, table.c.resource_pk)
                     .where(~select(r.c.pk).where(r.c.pk == table.c.resource_pk).exists()),
                     f"{name} index row {{0}}.{{1}} points at resource {{2}}, which does not exist")
            resources = conn.execute(select(func.count()).select_from(r)).scalar()
            logged = conn.execute(select(func.count(func.distinct(c.c.resource_pk)))).scalar()
            if resources != logged:
                problems.append(f"{resources} resources but the change log names {logged}")
            for row in conn.execute(select(r.c.res_type, r.c.res_id, r.c.version, r.c.deleted, v.c.encoding,
                                           v.c.body)
                                    .select_from(r.join(v, (v.c.resource_pk == r.c.pk)
                                                        & (v.c.version == r.c.version)))):
                if row.deleted:
                    continue
                try:
                    body = orjson.loads(decode_body(row.encoding, row.body))
                except (ValueError, zlib.error) as exc:
                    problems.append(f"{row.res_type}/{row.res_id} version {row.version} is unreadable: {exc}")
                    continue
                if (body.get("resourceType"), body.get("id"), body.get("meta", {}).get("versionId")) != \
                        (row.res_type, row.res_id, str(row.version)):
                    problems.append(f"{row.res_type}/{row.res_id} version {row.version} holds "
                                    f"{body.get('resourceType')}/{body.get('id')} version "
                                    f"{body.get('meta', {}).get('versionId')}")
    finally:
        engine.dispose()
    return problems


def sqlite_integrity(path: Path) -> str:
    """PRAGMA integrity_check on a SQLite file: 'ok' or what is wrong."""
    import sqlite3
    con = sqlite3.connect(path)
    try:
        return "\n".join(row[0] for row in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()
