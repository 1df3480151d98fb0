"""The provincial hub under load: a real `benhan serve` on PostgreSQL (`--workers 2` by default) and
many simulated facility nodes, each pushing a facility-day in bursts and pulling, over HTTP with the
real sync protocol (docs/sync.md) and real node credentials.

What a simulated node is: a thread of this process that speaks the protocol — it is invited at the
hub (the hub admin's `benhan node invite`, called in process on the hub's database), enrols over
`POST /sync/enroll` with its own P-384 key, gets its access tokens at `POST /auth/token` with a
signed JWT assertion (benhan.sync.transport.HubClient), pushes zstd NDJSON batches to
`POST /sync/push` (at most 500 versions / 1.5 MB of JSON each, with one audit line per version and
per chart read, as a node's `next_batch` cuts them) and pages through `GET /sync/pull` until the hub
says no more. Its day is generated before the hub starts (benhan.clinical.synth: the demo
generator's patients, encounters, vital signs, conditions, laboratory panels, prescriptions …, plus
the facility's Organization, Locations and Practitioners) and encoded ahead, so that the client costs
little CPU while the hub is measured. Some encounters are pushed first in progress and finished in a
later burst (version 2 on base 1), and some patients get a second version (a new phone number).

Some nodes ("commune stations") reach the hub through a shaping proxy (a subprocess of this script):
one-way delay, a bandwidth per connection and direction, and segment loss modelled as a
retransmission stall (the kernel here has no netem; the same approach as tests/sync/delay_proxy.py,
plus rate and loss).

Measured: sync-ingest resources/s at the hub (versions acknowledged / the time from the first push
to the last acknowledgement), each node's sync round (push all pending + pull to the end) p50/p95
for LAN and commune nodes, hub CPU (all hub processes, from /proc) and memory (VmRSS summed and
VmHWM of each hub process), PostgreSQL backends' CPU. Then proved: every pushed version is at the
hub with the same SHA-256 of its bytes, no other version from a node is there, each resource has the
number of versions pushed, no (type, id, version) twice in the change log, every audit line copied
once, and every node pulled every shared resource of the others exactly once.

Usage:
    .venv/bin/python bench/bench_hub.py --quick                      # ~2 minutes
    .venv/bin/python bench/bench_hub.py                              # 200 nodes × ~4,500 resources
    .venv/bin/python bench/bench_hub.py --nodes 50 --resources-per-node 2000 --profile /tmp/hubprof
Options: --workers, --bursts, --commune-share, --commune-delay-ms, --commune-kbit, --commune-loss,
--gap, --stagger, --replay, --pg-url, --json FILE, --profile DIR (py-spy of the hub workers),
--pg-statements (the run's statements by time, from the PostgreSQL server's log).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("BENHAN_SRC") or str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import NO_SCHEDULED_BACKUP  # noqa: E402

BENHAN = str(Path(sys.executable).with_name("benhan"))
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
BATCH_VERSIONS, BATCH_RAW_BYTES, PULL_PAGE = 500, 1_500_000, 500     # as benhan.sync.node
SEED = 2026
DAY_US = 1_793_493_000_000_000          # 2026-11-01 08:30 +07:00, in µs (only a stamp)


# --- the shaping proxy (a subprocess: python bench_hub.py --proxy …) ---------------------------------

def run_proxy(listen_port: int, target_port: int, delay_ms: float, kbit: float, loss: float, seed: int) -> None:
    """Per connection and direction: segments of 1,448 bytes leave at the link's rate, arrive
    `delay_ms` later, and a lost one arrives after a retransmission timeout (max(200 ms, 2 RTT)),
    holding up those behind it (TCP delivers in order)."""
    rng = random.Random(seed)
    rate = kbit * 1000 / 8
    delay = delay_ms / 1000
    rto = max(0.2, 4 * delay)
    seg = 1448

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        state = {"free": 0.0, "last": 0.0}

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        task = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for i in range(0, len(data), seg):
                    piece = data[i:i + seg]
                    now = time.monotonic()
                    leave = max(now, state["free"]) + len(piece) / rate
                    state["free"] = leave
                    arrive = leave + delay + (rto if rng.random() < loss / 100 else 0.0)
                    arrive = max(arrive, state["last"])
                    state["last"] = arrive
                    await queue.put((arrive, piece))
        except (ConnectionError, OSError):
            pass
        await queue.put((0, None))
        try:
            await task
        except (ConnectionError, OSError):
            pass

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- a node's facility-day, generated and encoded before the run ----------------------------------

@dataclass
class Batch:
    batch: str
    first: int
    last: int
    versions: int
    audit: int
    body: bytes                 # the zstd frame, as sent


@dataclass
class NodeDay:
    index: int
    name: str
    node_id: str
    organization_id: str
    bursts: list[list[Batch]]
    pushed: dict                # (type, id, version) → sha256 hex of the bytes sent
    by_type: dict
    raw_bytes: int = 0
    audit_lines: int = 0


def _user(rng: random.Random) -> str:
    return rng.choice(("bs.lan", "bs.hung", "dd.mai", "dd.tuan", "ktv.ha", "ds.binh"))


def make_day(spec: tuple[int, int, int, int]) -> NodeDay:
    """Node `index`'s day: its facility's registries, then patients' records until ~`target`
    resources, cut into `bursts` rounds and into batches as a node does."""
    from benhan.clinical.synth.generator import facility, patient_record
    from benhan.fhir.datetimes import format_instant, from_us
    from benhan.fhir.resource_json import dumps, stamp
    from benhan.sync import wire
    index, target, bursts, seed = spec
    rng = random.Random(f"hubbench:{seed}:{index}")
    fac, registry = facility(seed, index + 1)
    name = f"hb{index:03d}"
    node_id = f"node-{name}-{uuid.UUID(int=rng.getrandbits(128)).hex[:8]}"
    # Patients: numbered per node so that ids never collide between nodes.
    patients: list[list[dict]] = []
    count = len(registry)
    n = index * 100_000
    while count < target:
        record = patient_record(seed, n, fac)
        n += 1
        patients.append(record)
        count += len(record)
    per_burst = max(1, -(-len(patients) // bursts))
    groups = [patients[i:i + per_burst] for i in range(0, len(patients), per_burst)]
    while len(groups) < bursts:
        groups.append([])
    clock = [DAY_US + index * 1000]
    seq = [0]
    aseq = [0]
    pushed: dict = {}
    by_type: Counter = Counter()
    epoch = uuid.UUID(int=rng.getrandbits(128)).hex
    # (seq, meta, body) per burst, and the audit lines of each version
    burst_versions: list[list[tuple]] = [[] for _ in range(bursts)]

    def version(burst: int, res: dict, v: int, user: str, patient: str | None, method: str) -> None:
        clock[0] += rng.randint(1_000_000, 20_000_000) // max(1, target // 500)
        seq[0] += 1
        body = dumps(stamp(res, v, format_instant(from_us(clock[0]))))
        pushed[(res["resourceType"], res["id"], v)] = hashlib.sha256(body).hexdigest()
        by_type[res["resourceType"]] += 1
        meta = wire.Version(seq[0], res["resourceType"], res["id"], v, v - 1 if v > 1 else None, False, method,
                            clock[0], body, agent=user)
        burst_versions[burst].append((meta, patient))

    for r in registry:
        version(0, r, 1, "admin", None, "POST")
    for b, group in enumerate(groups):
        for record in group:
            user = _user(rng)
            pid = record[0]["id"]
            later = min(b + 1, bursts - 1)
            finish: list[dict] = []
            for r in record:
                t = r["resourceType"]
                if t == "Encounter" and r.get("status") == "finished" and rng.random() < 0.1:
                    # first in progress, finished in the next round
                    opened = dict(r, status="in-progress", period={"start": (r.get("period") or {}).get("start")})
                    if opened["period"]["start"] is None:
                        opened.pop("period")
                    version(b, opened, 1, user, pid, "POST")
                    finish.append(r)
                else:
                    version(b, r, 1, user, pid, "POST")
            for r in finish:
                version(later, r, 2, user, pid, "PUT")
            if rng.random() < 0.05:
                p = dict(record[0])
                p["telecom"] = list(p.get("telecom") or []) + [{"system": "phone", "value": f"09{rng.randrange(10**8):08d}",
                                                                 "use": "mobile"}]
                version(later, p, 2, user, pid, "PUT")
    # Within a burst, versions go in their seq order (a version 2 made in a later round has a
    # higher seq only if numbered there: renumber each burst in the order it is sent).
    ordered: list[list[tuple]] = []
    new_seq = 0
    remap = {}
    for versions in burst_versions:
        out = []
        for meta, patient in versions:
            new_seq += 1
            remap[(meta.res_type, meta.res_id, meta.version)] = new_seq
            meta.seq = new_seq
            out.append((meta, patient))
        ordered.append(out)
    day_bursts: list[list[Batch]] = []
    raw_total = audit_total = 0
    pushed_seq = 0
    audit_seq = 0
    total = sum(len(x) for x in ordered)
    for versions in ordered:
        batches: list[Batch] = []
        i = 0
        while i < len(versions):
            size, j = 0, i
            while j < len(versions) and j - i < BATCH_VERSIONS:
                size += len(versions[j][0].body) + 100
                if size > BATCH_RAW_BYTES and j > i:
                    break
                j += 1
            chunk = versions[i:j]
            audit = []
            for meta, patient in chunk:
                audit_seq += 1
                line = {"e": audit_seq, "recorded": meta.last_updated, "interaction": "update" if meta.version > 1
                        else "create", "outcome": "0", "agent": meta.agent, "res_type": meta.res_type,
                        "res_id": meta.res_id, "version": meta.version, "role": "doctor", "chain_pos": audit_seq}
                if patient:
                    line["patients"] = patient
                audit.append(line)
                if meta.res_type == "Encounter" and patient:      # the chart opened for the visit
                    audit_seq += 1
                    audit.append({"e": audit_seq, "recorded": meta.last_updated + 1, "interaction": "read",
                                  "outcome": "0", "agent": meta.agent, "res_type": "Patient", "res_id": patient,
                                  "version": 1, "role": "doctor", "patients": patient, "chain_pos": audit_seq})
            first, last = chunk[0][0].seq, chunk[-1][0].seq
            bid = f"{node_id}:{first}-{last}+a{audit[0]['e']}-{audit[-1]['e']}"
            header = {"kind": "push", "batch": bid, "node": node_id, "first": first, "last": last,
                      "backlog": total - last, "epoch": epoch, "audit_seq": audit[0]["e"] - 1,
                      "audit_first": audit[0]["e"], "audit_last": audit[-1]["e"],
                      "audit_head": [audit[-1]["e"], hashlib.sha256(bid.encode()).hexdigest()]}
            message = wire.Message(header, [m for m, _ in chunk], audit)
            body = wire.encode(message)
            raw_total += sum(len(m.body) for m, _ in chunk)
            audit_total += len(audit)
            batches.append(Batch(bid, first, last, len(chunk), len(audit), body))
            pushed_seq = last
            i = j
        day_bursts.append(batches)
    del pushed_seq
    return NodeDay(index, name, node_id, fac.organization_id, day_bursts, pushed, dict(by_type), raw_total,
                   audit_total)


# --- the hub ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """pid and all its descendants (from /proc)."""
    parents: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mem_kib(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1])
    except OSError:
        pass
    return out


def postgres_backends(database: str) -> list[int]:
    """PIDs of the PostgreSQL backends serving `database` (their process title names it)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("postgres:") and f" {database} " in cmd:
                out.append(int(d.name))
    return out


def statement_log_start(admin) -> dict:  # noqa: ANN001
    """Where the server writes its log (Debian: /var/log/postgresql/postgresql-15-main.log)."""
    from sqlalchemy import text
    with admin.connect() as c:
        version = c.execute(text("SHOW server_version_num")).scalar()
        collector = c.execute(text("SHOW logging_collector")).scalar()
        if collector == "on":
            data = c.execute(text("SHOW data_directory")).scalar()
            current = c.execute(text("SELECT pg_current_logfile()")).scalar()
            path = str(Path(data) / current)
        else:
            path = f"/var/log/postgresql/postgresql-{int(version) // 10000}-main.log"
    return {"path": path, "offset": os.path.getsize(path)}


def print_statement_log(pg_log: dict, database: str) -> None:
    """Sum the logged durations per statement shape (numbers and lists folded) and print the top."""
    import re
    totals: dict[str, list] = {}
    pat = re.compile(r"@" + re.escape(database) + r" LOG:  duration: ([0-9.]+) ms  (?:statement|execute [^:]*): (.*)")
    current = None
    with open(pg_log["path"], errors="replace") as f:
        f.seek(pg_log["offset"])
        for line in f:
            m = pat.search(line)
            if m:
                current = [float(m.group(1)), m.group(2)]
                sql = re.sub(r"\$\d+", "$", current[1])
                sql = re.sub(r"\b\d+\b", "N", sql)
                sql = re.sub(r"(\(\$(, \$)+\))", "($…)", sql)
                sql = re.sub(r"(\(\$, \$\)(, )?)+", "(…)", sql)
                t = totals.setdefault(sql[:400], [0.0, 0])
                t[0] += current[0]
                t[1] += 1
    total = sum(t[0] for t in totals.values())
    print(f"\nPostgreSQL statements (log durations, wall time in the backend): {total / 1000:.1f} s in "
          f"{sum(t[1] for t in totals.values())} statements")
    for sql, (ms, n) in sorted(totals.items(), key=lambda kv: -kv[1][0])[:25]:
        print(f"  {ms / 1000:7.1f} s {100 * ms / max(total, 1e-9):4.0f} % {n:7d}×  {sql[:300]}")


class Hub:
    def __init__(self, tmp: Path, url: str, workers: int):
        import httpx
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = tmp / "hub"
        self.data_dir.mkdir()
        self.log_path = tmp / "hub.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        cmd = [BENHAN, "serve", "--data-dir", str(self.data_dir), "--database-url", url, "--port", str(self.port),
               "--workers", str(workers), "--no-code-lists"]
        env = {**os.environ, **NO_SCHEDULED_BACKUP, "BENHAN_ROLE": "hub", "BENHAN_NODE_ID": "hub-province"}
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hub was not ready after 180 s; see {self.log_path}")
            time.sleep(0.3)
        time.sleep(1.0)      # every worker up
        self.pids = children_of(self.proc.pid)
        self.cpu_seen: dict[int, float] = {}     # every hub process ever seen → its last CPU reading
        self.hwm_seen: dict[int, int] = {}

    def cpu(self) -> float:
        """CPU seconds of every hub process, a worker restarted by uvicorn's supervisor (and the
        one it replaced, up to its last reading) included."""
        self.pids = children_of(self.proc.pid)
        for p in self.pids:
            c = cpu_seconds(p)
            if c:
                self.cpu_seen[p] = c
        return sum(self.cpu_seen.values())

    def memory(self) -> dict[int, dict[str, int]]:
        out = {p: mem_kib(p) for p in self.pids}
        for p, m in out.items():
            if m.get("VmHWM"):
                self.hwm_seen[p] = m["VmHWM"]
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.log.close()


# --- a simulated node ---------------------------------------------------------------------------

@dataclass
class NodeRun:
    day: NodeDay
    base: str
    commune: bool
    client_id: str = ""
    key: object = None
    rounds: list[float] = field(default_factory=list)
    push_s: list[float] = field(default_factory=list)
    pull_s: list[float] = field(default_factory=list)
    acked: list[tuple[float, int]] = field(default_factory=list)     # (time, versions applied)
    applied: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    pulled: Counter = field(default_factory=Counter)      # (type, id, version) → times received
    pull_cursor: int = 0
    replays: int = 0
    retries: int = 0
    first_push: float | None = None


def enrol(hub_url: str, token: str, run: NodeRun) -> None:
    import httpx
    from joserfc.jwk import ECKey

    from benhan.sync.transport import public_jwk
    key = ECKey.generate_key("P-384", private=True)
    r = httpx.post(f"{hub_url}/sync/enroll", json={"node_id": run.day.node_id, "jwks": {"keys": [public_jwk(key)]}},
                   headers={"Authorization": f"Bearer {token}"}, timeout=60)
    r.raise_for_status()
    run.client_id, run.key = r.json()["client_id"], key


def node_thread(run: NodeRun, start_at: float, gap: float, replay: float, stop: threading.Event,
                final: threading.Barrier) -> None:
    import httpx
    import zstandard

    from benhan.sync.transport import HubClient, SyncFailed
    rng = random.Random(run.day.index)
    http = httpx.Client(timeout=httpx.Timeout(600, connect=30))
    client = HubClient(run.base, client_id=run.client_id, key=run.key, http=http)
    dctx = zstandard.ZstdDecompressor()

    def send(method: str, path: str, **kw) -> "httpx.Response":  # noqa: ANN003
        for attempt in range(6):
            try:
                return client._authorised(method, path, **kw)
            except SyncFailed as exc:
                if stop.is_set():
                    raise
                run.retries += 1
                if attempt == 5:
                    raise
                run.problems.append(f"retry {path}: {exc}"[:200])
                time.sleep(1 + attempt)
        raise AssertionError

    def push(b: Batch) -> None:
        r = send("POST", "/sync/push", content=b.body, headers={"Content-Type": "application/zstd"})
        answer = r.json()
        if answer.get("batch") != b.batch or answer.get("acked") != b.last:
            run.problems.append(f"{b.batch}: answered {answer.get('batch')} acked {answer.get('acked')}")
        for k in ("conflicts", "invalid", "refused"):
            if answer.get(k):
                run.problems.append(f"{b.batch}: {k} {answer[k][:3]}")
        return answer

    def pull_all() -> None:
        while True:
            r = send("GET", "/sync/pull", params={"since": run.pull_cursor, "limit": PULL_PAGE})
            raw = dctx.decompress(r.content, max_output_size=64 * 1024 * 1024)
            lines = raw.split(b"\n")
            header = json.loads(lines[0])
            k = 1
            while k < len(lines):
                if not lines[k]:
                    k += 1
                    continue
                meta = json.loads(lines[k])
                run.pulled[(meta["t"], meta["i"], meta["v"])] += 1
                k += 1 if meta.get("d") else 2
            if header["since"] == run.pull_cursor:
                run.pull_cursor = int(header["next"])
            if not header.get("more"):
                return

    try:
        delay = start_at - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        for burst in run.day.bursts:
            started = time.monotonic()
            t = time.monotonic()
            for b in burst:
                if run.first_push is None:
                    run.first_push = time.monotonic()
                answer = push(b)
                run.applied += answer.get("applied", 0)
                run.skipped += answer.get("skipped", 0)
                run.acked.append((time.monotonic(), answer.get("applied", 0)))
                if rng.random() < replay:      # the answer "lost": the node sends the same batch again
                    run.replays += 1
                    again = push(b)
                    if again.get("applied") != answer.get("applied"):
                        run.problems.append(f"{b.batch}: a replay answered differently")
            run.push_s.append(time.monotonic() - t)
            t = time.monotonic()
            pull_all()
            run.pull_s.append(time.monotonic() - t)
            run.rounds.append(time.monotonic() - started)
            if stop.wait(gap * (0.5 + rng.random())):
                return
        final.wait()             # every node has pushed its day: one more pull to the end
        pull_all()
    except Exception as exc:  # noqa: BLE001 - reported, and fails the run
        run.problems.append(f"FAILED: {type(exc).__name__}: {exc}"[:300])
        try:
            final.abort()
        except threading.BrokenBarrierError:
            pass
    finally:
        http.close()


# --- verification ---------------------------------------------------------------------------------

def verify(url: str, runs: list[NodeRun]) -> dict:
    from sqlalchemy import create_engine, func, select, text

    from benhan.store.access import in_patient_compartment
    from benhan.store.schema import audit_event, change_log, resource, resource_version
    from benhan.store.writer import decode_body
    pushed: dict = {}
    origin_of: dict[str, NodeRun] = {r.day.node_id: r for r in runs}
    for r in runs:
        pushed.update(r.day.pushed)
    engine = create_engine(url)
    out: dict = {"pushed_versions": len(pushed)}
    found = mismatched = foreign = 0
    held: set = set()
    with engine.connect() as conn:
        q = (select(resource.c.res_type, resource.c.res_id, resource_version.c.version, resource_version.c.deleted,
                    resource_version.c.encoding, resource_version.c.body, change_log.c.origin_node)
             .select_from(resource.join(resource_version, resource_version.c.resource_pk == resource.c.pk)
                          .join(change_log, (change_log.c.resource_pk == resource.c.pk)
                                & (change_log.c.version == resource_version.c.version))))
        for row in conn.execution_options(yield_per=5000).execute(q):
            key = (row.res_type, row.res_id, row.version)
            if row.origin_node not in origin_of:
                continue
            if key in held:
                mismatched += 1
            held.add(key)
            want = pushed.get(key)
            if want is None:
                foreign += 1
                continue
            found += 1
            if row.deleted or hashlib.sha256(decode_body(row.encoding, row.body)).hexdigest() != want:
                mismatched += 1
        out["versions_at_hub_from_nodes"] = len(held)
        out["missing"] = len(set(pushed) - held)
        out["hash_mismatch"] = mismatched
        out["not_pushed_but_held"] = foreign
        dup = conn.execute(text("SELECT count(*) FROM (SELECT res_type, res_id, version FROM change_log "
                                "GROUP BY res_type, res_id, version HAVING count(*) > 1) d")).scalar()
        out["duplicate_change_rows"] = dup
        # Number of versions per resource: the hub's current version is the last one pushed.
        last: dict = {}
        for (t, i, v) in pushed:
            last[(t, i)] = max(last.get((t, i), 0), v)
        wrong = 0
        for row in conn.execution_options(yield_per=10000).execute(select(resource.c.res_type, resource.c.res_id,
                                                                          resource.c.version)):
            want = last.get((row.res_type, row.res_id))
            if want is not None and want != row.version:
                wrong += 1
        out["resources"] = len(last)
        out["wrong_version_count"] = wrong
        sent = sum(r.day.audit_lines for r in runs)
        copied = conn.execute(select(func.count()).select_from(audit_event).where(
            audit_event.c.agent.like("hb%/%"), audit_event.c.subtype.is_(None))).scalar()
        out["audit_lines_sent"], out["audit_lines_copied"] = sent, copied
        # What every node should have pulled: each shared (non-compartment) version made elsewhere.
        shared = [(row.res_type, row.res_id, row.version, row.origin_node) for row in conn.execute(
            select(change_log.c.res_type, change_log.c.res_id, change_log.c.version, change_log.c.origin_node))
            if not in_patient_compartment(row.res_type)]
    engine.dispose()
    pull_missing = pull_extra = pull_twice = 0
    for r in runs:
        want = {(t, i, v) for t, i, v, o in shared if o != r.day.node_id}
        got = set(r.pulled)
        pull_missing += len(want - got)
        pull_extra += len(got - want)
        pull_twice += sum(1 for c in r.pulled.values() if c > 1)
    out.update(pull_missing=pull_missing, pull_not_in_scope=pull_extra, pull_received_twice=pull_twice,
               shared_versions=len(shared))
    out["ok"] = not (out["missing"] or mismatched or foreign or dup or wrong or sent != copied
                     or pull_missing or pull_extra)
    return out


# --- the run ------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    from _common import percentile
    return percentile(sorted(values), p)


def main() -> None:  # noqa: C901, PLR0915
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proxy", nargs=6, metavar=("LISTEN", "TARGET", "DELAY_MS", "KBIT", "LOSS", "SEED"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--resources-per-node", type=int, default=4500)
    ap.add_argument("--quick", action="store_true", help="20 nodes × 1,500 resources (~2 minutes)")
    ap.add_argument("--workers", type=int, default=2, help="hub worker processes")
    ap.add_argument("--bursts", type=int, default=6, help="rounds a node's day is pushed in")
    ap.add_argument("--gap", type=float, default=2.0, help="mean pause between a node's rounds (s)")
    ap.add_argument("--stagger", type=float, default=20.0, help="nodes start over this many seconds")
    ap.add_argument("--commune-share", type=float, default=0.25, help="share of nodes behind the commune link")
    ap.add_argument("--commune-delay-ms", type=float, default=150, help="one-way delay of the commune link")
    ap.add_argument("--commune-kbit", type=float, default=384, help="its rate per connection and direction")
    ap.add_argument("--commune-loss", type=float, default=2.0, help="its segment loss, %%")
    ap.add_argument("--replay", type=float, default=0.02, help="share of batches sent twice (a lost answer)")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--profile", type=Path, help="py-spy of each hub worker during the run, into this folder")
    ap.add_argument("--gen-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--pg-statements", action="store_true",
                    help="log every statement of the run's database (log_min_duration_statement = 0) and print "
                         "the statements that took the most time, from the server's log")
    args = ap.parse_args()
    # Ended by `timeout` or kill: unwind as on an error, so the finally blocks end the hub's process
    # group and the link proxy (SIGTERM's default left them running).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.proxy:
        lp, tp, d, k, loss, seed = args.proxy
        run_proxy(int(lp), int(tp), float(d), float(k), float(loss), int(seed))
        return
    if args.quick:
        args.nodes, args.resources_per_node = 20, 1500
        args.stagger = min(args.stagger, 5.0)
    from _common import print_machine
    from sqlalchemy import create_engine, text
    database = f"benhan_hubbench_{os.getpid()}"
    url = f"{args.pg_url}/{database}"
    machine = print_machine(f"{args.pg_url}/postgres")
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"{args.nodes} nodes × ~{args.resources_per_node} resources in {args.bursts} rounds; "
          f"{args.commune_share:.0%} behind a commune link ({args.commune_delay_ms:.0f} ms one way, "
          f"{args.commune_kbit:.0f} kbit/s, {args.commune_loss:.0f} % loss); hub --workers {args.workers}",
          flush=True)

    t = time.perf_counter()
    specs = [(i, args.resources_per_node, args.bursts, SEED) for i in range(args.nodes)]
    if args.gen_workers > 1:
        with multiprocessing.get_context("fork").Pool(args.gen_workers) as pool:
            days = pool.map(make_day, specs, chunksize=4)
    else:
        days = [make_day(s) for s in specs]
    total_versions = sum(len(d.pushed) for d in days)
    wire_bytes = sum(len(b.body) for d in days for burst in d.bursts for b in burst)
    by_type: Counter = Counter()
    for d in days:
        by_type.update(d.by_type)
    print(f"generated {total_versions} versions ({sum(d.raw_bytes for d in days) / 1e6:.0f} MB of JSON, "
          f"{wire_bytes / 1e6:.1f} MB on the wire) in {time.perf_counter() - t:.0f} s; mix: "
          + ", ".join(f"{k} {v / total_versions:.0%}" for k, v in by_type.most_common(8)), flush=True)

    admin = create_engine(f"{args.pg_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{database}"'))
        if args.pg_statements:
            # Bodies are bound parameters: never logged (log_parameter_max_length = 0).
            c.execute(text(f'ALTER DATABASE "{database}" SET log_parameter_max_length = 0'))
            c.execute(text(f'ALTER DATABASE "{database}" SET log_min_duration_statement = 0'))
    pg_log = statement_log_start(admin) if args.pg_statements else None
    tmp = Path(tempfile.mkdtemp(prefix="hubbench-"))
    hub = proxy = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    spies: list[subprocess.Popen] = []
    figures: dict = {"machine": machine, "nodes": args.nodes, "resources_per_node": args.resources_per_node,
                     "versions": total_versions, "wire_mb": round(wire_bytes / 1e6, 1)}
    try:
        hub = Hub(tmp, url, args.workers)
        print(f"hub: pid {hub.proc.pid}, processes {hub.pids}", flush=True)
        proxy_port = free_port()
        proxy = subprocess.Popen([sys.executable, __file__, "--proxy", str(proxy_port), str(hub.port),
                                  str(args.commune_delay_ms), str(args.commune_kbit), str(args.commune_loss), "7"],
                                 start_new_session=True)
        # The hub admin invites every node (benhan node invite NAME --organization ORG).
        from benhan import config as config_mod
        from benhan.store.store import Store
        from benhan.sync import enrolment
        store = Store.open(config_mod.load(env={}, data_dir=tmp / "admin", database_url=url, role="hub",
                                           node_id="hub-province"), upgrade=False)
        try:
            invites = [enrolment.invite(store, d.name, organization_id=d.organization_id) for d in days]
        finally:
            store.close()
        rng = random.Random(1)
        commune = set(rng.sample(range(args.nodes), round(args.nodes * args.commune_share)))
        runs = [NodeRun(d, f"http://127.0.0.1:{proxy_port}" if d.index in commune else hub.url, d.index in commune)
                for d in days]
        t = time.perf_counter()
        for run, token in zip(runs, invites):
            enrol(hub.url, token, run)
        print(f"enrolled {len(runs)} nodes over /sync/enroll in {time.perf_counter() - t:.1f} s", flush=True)
        del days

        final = threading.Barrier(len(runs))
        start = time.monotonic() + 1
        for run in runs:
            th = threading.Thread(target=node_thread, args=(run, start + random.random() * args.stagger, args.gap,
                                                            args.replay, stop, final), daemon=True)
            threads.append(th)
        if pg_log is not None:
            pg_log["offset"] = os.path.getsize(pg_log["path"])     # the run's statements only
        pg_pids = postgres_backends(database)
        cpu0, pg0, wall0 = hub.cpu(), sum(cpu_seconds(p) for p in pg_pids), time.monotonic()
        client0, proxy0 = time.process_time(), cpu_seconds(proxy.pid)
        for th in threads:
            th.start()
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for p in hub.pids[1:] or hub.pids:
                spies.append(subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(p), "--format", "raw", "--rate", "50", "--nonblocking",
                     "-o", str(args.profile / f"hub-{p}.txt")], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, start_new_session=True))
        peak_rss, samples = 0, []
        last_print = time.monotonic()
        while any(th.is_alive() for th in threads):
            time.sleep(1.0)
            mem = hub.memory()
            rss = sum(m.get("VmRSS", 0) for m in mem.values())
            peak_rss = max(peak_rss, rss)
            samples.append((time.monotonic() - wall0, hub.cpu() - cpu0, rss))
            if time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                done = sum(r.applied for r in runs)
                print(f"  {time.monotonic() - wall0:6.0f} s  applied {done:8d}  ({done / (time.monotonic() - wall0):6.0f}/s)"
                      f"  hub rss {rss / 1024:.0f} MiB  load {os.getloadavg()[0]:.1f}", flush=True)
        wall = time.monotonic() - wall0
        for s in spies:
            s.send_signal(signal.SIGINT)
        for s in spies:
            try:
                s.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(s.pid, signal.SIGKILL)
        spies = []
        hub_cpu = hub.cpu() - cpu0
        pg_pids2 = postgres_backends(database)
        pg_cpu = sum(cpu_seconds(p) for p in pg_pids2) - sum(cpu_seconds(p) for p in pg_pids if p in pg_pids2)
        client_cpu, proxy_cpu = time.process_time() - client0, cpu_seconds(proxy.pid) - proxy0
        mem = hub.memory()
        problems = [p for r in runs for p in r.problems]
        firsts = [r.first_push for r in runs if r.first_push]
        acks = [a for r in runs for a in r.acked]
        last_ack = max(t for t, _ in acks) if acks else 0
        applied = sum(r.applied for r in runs)
        ingest_s = last_ack - min(firsts) if firsts else float("nan")
        lan = [x for r in runs if not r.commune for x in r.rounds]
        com = [x for r in runs if r.commune for x in r.rounds]
        figures.update({
            "ingest_resources_per_s": round(applied / ingest_s, 1), "applied": applied, "ingest_seconds": round(ingest_s, 1),
            "wall_seconds": round(wall, 1),
            "round_p50_s": round(pct(lan + com, 50), 2), "round_p95_s": round(pct(lan + com, 95), 2),
            "round_lan_p50_s": round(pct(lan, 50), 2), "round_lan_p95_s": round(pct(lan, 95), 2),
            "round_commune_p50_s": round(pct(com, 50), 2) if com else None,
            "round_commune_p95_s": round(pct(com, 95), 2) if com else None,
            "push_p95_s": round(pct([x for r in runs for x in r.push_s], 95), 2),
            "pull_p95_s": round(pct([x for r in runs for x in r.pull_s], 95), 2),
            "rounds": len(lan) + len(com),
            "hub_cpu_s": round(hub_cpu, 1), "hub_cpu_ms_per_resource": round(1000 * hub_cpu / max(applied, 1), 2),
            "hub_cores_busy": round(hub_cpu / wall, 2),
            "postgres_cpu_s": round(pg_cpu, 1), "client_cpu_s": round(client_cpu, 1), "proxy_cpu_s": round(proxy_cpu, 1),
            "postgres_cpu_ms_per_resource": round(1000 * pg_cpu / max(applied, 1), 2),
            # What two idle cores could ingest if hub and database had them to themselves.
            "cpu_bound_resources_per_s_on_2_cores": round(2 * applied / max(hub_cpu + pg_cpu, 1e-9)),
            "hub_rss_peak_mib": round(peak_rss / 1024), "hub_rss_end_mib": round(sum(m.get("VmRSS", 0) for m in mem.values()) / 1024),
            "hub_hwm_mib": {str(p): round(k / 1024) for p, k in hub.hwm_seen.items()},
            "hub_processes_seen": len(hub.cpu_seen),
            "replays": sum(r.replays for r in runs), "retries": sum(r.retries for r in runs),
            "problems": len(problems),
        })
        print(f"\nran in {wall:.0f} s; {figures['rounds']} rounds, {figures['replays']} batches sent twice, "
              f"{figures['retries']} retries")
        for p in problems[:10]:
            print("  problem:", p)
        if pg_log is not None:
            print_statement_log(pg_log, database)
        print("\nverifying at the hub's database …", flush=True)
        t = time.perf_counter()
        proof = verify(url, runs)
        figures["proof"] = proof
        print(f"  ({time.perf_counter() - t:.0f} s) {json.dumps(proof)}")
        load_after = os.getloadavg()
        figures["load_before"], figures["load_after"] = load_before, load_after
        print(f"""
| figure | value |
|---|---|
| sync ingest at the hub | **{figures['ingest_resources_per_s']:,.0f} resources/s** ({applied:,} versions in {ingest_s:.0f} s; goal ≥ 1,000) |
| a node's round (push all + pull to the end), all | p50 {figures['round_p50_s']} s, p95 {figures['round_p95_s']} s ({figures['rounds']} rounds) |
| — LAN nodes | p50 {figures['round_lan_p50_s']} s, p95 {figures['round_lan_p95_s']} s |
| — commune link nodes | p50 {figures['round_commune_p50_s']} s, p95 {figures['round_commune_p95_s']} s |
| hub CPU (all {len(hub.cpu_seen)} processes seen) | {hub_cpu:.0f} s = {figures['hub_cpu_ms_per_resource']} ms per resource; {figures['hub_cores_busy']} cores busy on average |
| PostgreSQL backends' CPU | {pg_cpu:.0f} s = {figures['postgres_cpu_ms_per_resource']} ms per resource |
| CPU-bound ceiling, 2 idle cores for hub + database | {figures['cpu_bound_resources_per_s_on_2_cores']:,} resources/s (2 × versions / (hub + PostgreSQL CPU s)) |
| the simulated nodes and the link proxy (same machine) | {client_cpu:.0f} s and {proxy_cpu:.0f} s of CPU |
| hub memory | VmRSS summed: peak {figures['hub_rss_peak_mib']} MiB, end {figures['hub_rss_end_mib']} MiB; VmHWM per process (MiB): {figures['hub_hwm_mib']} |
| nothing lost or duplicated | {"yes" if proof["ok"] else "NO"}: {proof['versions_at_hub_from_nodes']:,} of {proof['pushed_versions']:,} versions with equal SHA-256, {proof['missing']} missing, {proof['hash_mismatch']} different, {proof['duplicate_change_rows']} twice; audit lines {proof['audit_lines_copied']:,}/{proof['audit_lines_sent']:,}; pulls missing {proof['pull_missing']}, twice {proof['pull_received_twice']} |
load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}""")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1, default=str))
        if not proof["ok"] or any("FAILED" in p for p in problems):
            sys.exit(1)
    finally:
        stop.set()
        deadline = time.monotonic() + 10        # daemon threads: whatever still waits on a request is left
        for th in threads:
            th.join(timeout=max(0.0, deadline - time.monotonic()))
        for s in spies:
            try:
                os.killpg(s.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proxy is not None:
            try:
                os.killpg(proxy.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proxy.wait()
        if hub is not None:
            hub.stop()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
