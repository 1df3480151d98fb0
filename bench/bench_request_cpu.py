"""CPU and database round trips per request, in process: the whole ASGI application (authentication,
route, audit) called directly, with no HTTP server or client in the way.

The server's CPU per request measured from outside (bench_server.py) moves with the machine's
load; the CPU of this process for N requests (time.process_time: every thread, the read-audit
flush included) moves much less, so two revisions can be compared on a busy machine. Round trips
are counted in the driver: on PostgreSQL every psycopg execute, executemany (pipelined: one) and
internal command (BEGIN, COMMIT, ROLLBACK); on SQLite every cursor execute.

Phases: read by id; single create of a Patient and of an Observation; transaction Bundles shaped
like Synthea's (bench/synthea_like.py, --bundles N of them, 100 to 4,000 entries), CPU per resource.

Usage:
    .venv/bin/python bench/bench_request_cpu.py --backend postgresql [--n 2000] [--concurrency 1 8 32]
        [--cprofile FILE] [--profile-phase read|create|observation|bundle] [--bundles 3] [--pg-url URL]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import AUTH_HEADERS, install_bench_token, print_machine  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
TRIPS: Counter = Counter()


def count_round_trips() -> None:
    """Count, in the driver, every statement and command sent (each one waited-for round trip)."""
    import psycopg
    from psycopg import _connection_base

    def wrap(cls, name, key):  # noqa: ANN001, ANN202
        original = getattr(cls, name)

        def counted(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            TRIPS[key] += 1
            return original(self, *a, **k)
        setattr(cls, name, counted)

    wrap(psycopg.Cursor, "execute", "execute")
    wrap(psycopg.Cursor, "executemany", "executemany")
    original = _connection_base.BaseConnection._exec_command

    def command(self, cmd, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        TRIPS[(cmd if isinstance(cmd, bytes) else str(cmd).encode()).split(b" ")[0].decode()] += 1
        return original(self, cmd, *a, **k)
    _connection_base.BaseConnection._exec_command = command
    connect = psycopg.Connection.connect.__func__

    def connecting(cls, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        TRIPS["connect"] += 1
        return connect(cls, *a, **k)
    psycopg.Connection.connect = classmethod(connecting)


async def call(app, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:  # noqa: ANN001
    headers = [(b"authorization", AUTH_HEADERS["Authorization"].encode()), (b"host", b"bench")]
    if body:
        headers += [(b"content-type", b"application/fhir+json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8080)}
    sent = False
    status, chunks = 0, []

    async def receive():  # noqa: ANN202
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):  # noqa: ANN001, ANN202
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def run(app, requests: list[tuple[str, str, bytes]], concurrency: int) -> dict:  # noqa: ANN001
    todo = iter(requests)
    bad = Counter()

    async def worker() -> None:
        for method, path, body in todo:
            status, out = await call(app, method, path, body)
            if status >= 400:
                bad[status] += 1
                if sum(bad.values()) == 1:
                    print(f"    first error {status}: {out[:300]!r}")

    TRIPS.clear()
    before, wall = os.times(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    after, wall = os.times(), time.perf_counter() - wall
    n = len(requests)
    user, system = after.user - before.user, after.system - before.system
    return {"n": n, "per_s": n / wall, "cpu_us": (user + system) / n * 1e6, "sys_us": system / n * 1e6,
            "errors": dict(bad),
            "trips": {k: v / n for k, v in TRIPS.items()}}


def observation(patient: str, i: int) -> dict:
    """A vital-sign Observation (heart rate) of the patient, as a device or a nurse would post it."""
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}],
                     "text": "Heart rate"},
            "subject": {"reference": patient}, "effectiveDateTime": f"2026-11-{1 + i % 28:02d}T08:{i % 60:02d}:00+07:00",
            "valueQuantity": {"value": 60 + i % 40, "unit": "beats/minute", "system": "http://unitsofmeasure.org",
                              "code": "/min"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--cprofile", type=Path, help="cProfile one phase (--profile-phase) at the first "
                        "concurrency into FILE (the event loop's thread only: a write runs on worker "
                        "threads and the group-commit thread; py-spy sees those)")
    parser.add_argument("--profile-phase", choices=("read", "create", "observation", "bundle"), default="read")
    parser.add_argument("--bundles", type=int, default=3, help="Synthea-shaped transaction Bundles (0: none)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("read", "create", "observation"),
                        help="phases to leave out")
    args = parser.parse_args()
    print_machine(f"{args.pg_url}/postgres" if args.backend == "postgresql" else None)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    from benhan.clinical.demo import patients_bundle
    from benhan.config import load
    from benhan.store.store import Store
    from benhan.web.app import create_app

    admin, db_name = None, f"benhan_cpu_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="benhan-cpu-") as tmp:
        if args.backend == "postgresql":
            from sqlalchemy import create_engine, text
            admin = create_engine(f"{args.pg_url}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
            url = f"{args.pg_url}/{db_name}"
            count_round_trips()
        else:
            url = f"sqlite:///{tmp}/benhan.sqlite"
        store = Store.open(load(env={}, data_dir=Path(tmp), database_url=url))
        try:
            install_bench_token(url)
            app = create_app(store.config, store)

            async def scenario() -> None:
                bundle = patients_bundle(20, seed=5)
                status, out = await call(app, "POST", "/fhir", orjson.dumps(bundle))
                assert status == 200, out[:500]
                made = [e["response"]["location"].split("/_history/")[0] for e in orjson.loads(out)["entry"]]
                reads = [("GET", f"/fhir/{made[(i * 7919) % len(made)]}", b"") for i in range(args.n)]
                patient_ref = made[0] if made[0].startswith("Patient/") else next(
                    m for m in made if m.startswith("Patient/"))
                await run(app, reads[:200], 1)          # warm: caches, prepared statements

                def profiled(phase: str, c: int):  # noqa: ANN202
                    if args.cprofile and args.profile_phase == phase and c == args.concurrency[0]:
                        import cProfile
                        prof = cProfile.Profile()
                        prof.enable()
                        return prof
                    return None

                def done(prof) -> None:  # noqa: ANN001
                    if prof:
                        prof.disable()
                        prof.dump_stats(args.cprofile)

                def show(label: str, c: int, r: dict, unit: str = "req") -> None:
                    trips = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["trips"].items()))
                    print(f"  {label:<11} c={c:<3} {r['per_s']:7.0f}/s  CPU {r['cpu_us']:6.0f} µs/{unit} (sys {r['sys_us']:4.0f})  "
                          f"round trips {sum(r['trips'].values()):.2f} ({trips})  errors {r['errors']}")

                if "read" not in args.skip:
                    for c in args.concurrency:
                        prof = profiled("read", c)
                        r = await run(app, reads, c)
                        done(prof)
                        show("read", c, r)
                        await asyncio.sleep(1.5)     # the read-audit flush, outside the next run
                creates = []
                for i in range(args.creates):
                    p = patients_bundle(1, seed=10_000 + i)["entry"][0]["resource"]
                    creates.append(("POST", "/fhir/Patient", orjson.dumps(p)))
                observations = [("POST", "/fhir/Observation", orjson.dumps(observation(patient_ref, i)))
                                for i in range(args.creates)]
                for phase, todo in (("create", creates), ("observation", observations)):
                    if phase in args.skip:
                        continue
                    for c in args.concurrency:
                        part = todo[:len(todo) // len(args.concurrency)]
                        del todo[:len(part)]
                        prof = profiled(phase, c)
                        r = await run(app, part, c)
                        done(prof)
                        show(phase, c, r)
                if args.bundles:
                    from synthea_like import World, bundle_sizes, patient_bundle
                    world = World(seed=1)
                    bodies = [orjson.dumps(patient_bundle(world, n, seed=1000 + i))
                              for i, n in enumerate(bundle_sizes(args.bundles, seed=1000))]
                    resources = sum(len(orjson.loads(b)["entry"]) for b in bodies)
                    prof = profiled("bundle", args.concurrency[0])
                    r = await run(app, [("POST", "/fhir", b) for b in bodies], 1)
                    done(prof)
                    r["per_s"] *= resources / len(bodies)
                    r["cpu_us"] *= len(bodies) / resources
                    r["sys_us"] *= len(bodies) / resources
                    r["trips"] = {k: v * len(bodies) / resources for k, v in r["trips"].items()}
                    show(f"bundle({resources})", 1, r, "resource")
            asyncio.run(scenario())
        finally:
            store.close()
            if admin is not None:
                from sqlalchemy import text
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
                admin.dispose()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
