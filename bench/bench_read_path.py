"""CPU per FHIR read by id through the whole ASGI application, in process, without a socket:
the middleware stack, routing, authentication, the repository read, the audit buffer and the
response — what `bench_server.py` measures minus uvicorn's HTTP parsing and the kernel.

Builds a fresh SQLite database in a temporary folder, ingests --patients demo patients, installs
a backend-system bearer token and a user's token through an app, then calls the app directly on
an asyncio loop (uvloop when installed) --n times per case, `--concurrency` requests in flight at
once (asyncio tasks), and prints CPU µs per request (time.process_time: every thread of the
process, so the worker threads' and the audit flush's share is in it). With --cprofile FILE the
first case is profiled too.

With --versus TREE (a checkout of another revision, e.g. `git worktree add /tmp/base HEAD~1`) the
run is repeated --rounds times, alternating this tree and that one (A B B A …, each in a fresh
process), and the medians of each case are printed side by side: the machine's other work, which
comes and goes, favours neither.

Usage: .venv/bin/python bench/bench_read_path.py [--n 4000] [--concurrency 1,8,32] [--cprofile /tmp/p.pstats]
       .venv/bin/python bench/bench_read_path.py --versus /tmp/base --rounds 6
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.clinical.demo import patients_bundle  # noqa: E402
from benhan.store.bundles import transaction  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402
from tests.auth_helpers import install_in_store, token_for  # noqa: E402


def fill(store: Store, patients: int) -> list[str]:
    repo = Repository(store, Actor.system("bench"))
    made: list[str] = []
    for i in range(max(1, patients // 40)):
        resp = transaction(repo, patients_bundle(min(40, patients), seed=1000 + i), "http://bench/fhir")
        made += [e["response"]["location"].split("/_history/")[0] for e in resp["entry"]]
    return made


async def run(app, paths: list[str], headers: list[tuple[bytes, bytes]], n: int, concurrency: int) -> dict:  # noqa: ANN001
    statuses: dict[int, int] = {}

    async def one(path: str) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8080), "app": app}

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    counter = iter(range(n))

    async def client(k: int) -> None:
        for i in counter:
            await one(paths[(i * 7919 + k) % len(paths)])

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_us": cpu / n * 1e6, "per_s": n / wall, "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--patients", type=int, default=80)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--cprofile", type=Path)
    parser.add_argument("--cases", default="system,user")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--versus", type=Path, help="another checkout to measure alternately with this one")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    if args.versus:
        versus(args)
        return
    print_machine()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    from benhan.auth import users
    from benhan.web.app import create_app

    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="benhan-readpath-") as tmp:
        cfg = config_mod.load(env={}, data_dir=Path(tmp))
        store = Store.open(cfg)
        try:
            paths = ["/fhir/" + p for p in fill(store, args.patients)]
            system = install_in_store(store)
            doctor, _ = users.create_user(store, "bench.doctor", "Bench Doctor", ["doctor"], password=None)
            user = token_for(store, "user/*.rs", user_pk=doctor.pk)
            cases = {"system": system, "user": user}
            app = create_app(cfg, store)

            async def go() -> None:
                async with app.router.lifespan_context(app):
                    for name in args.cases.split(","):
                        headers = [(b"host", b"127.0.0.1:8080"), (b"accept", b"application/fhir+json"),
                                   (b"authorization", cases[name]["Authorization"].encode())]
                        for c in (int(x) for x in args.concurrency.split(",")):
                            await run(app, paths, headers, min(500, args.n), c)     # warm-up
                            prof = None
                            if args.cprofile and name == args.cases.split(",")[0] and c == 1:
                                import cProfile
                                prof = cProfile.Profile()
                                prof.enable()
                            r = await run(app, paths, headers, args.n, c)
                            if prof is not None:
                                prof.disable()
                                prof.dump_stats(args.cprofile)
                            figures[f"{name} c={c}"] = r
                            print(f"  {name:<6} c={c:<3} {r['cpu_us']:6.0f} µs CPU/read  {r['per_s']:7.0f} reads/s  "
                                  f"{r['statuses']}")
                    store.read_audit.flush()
            asyncio.run(go())
        finally:
            store.close()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(figures))


def versus(args: argparse.Namespace) -> None:
    """This tree and args.versus alternately (A B B A …), each run in a fresh process; medians."""
    print_machine()
    trees = {"this": ROOT, "versus": args.versus.resolve()}
    script = trees["versus"] / "bench" / Path(__file__).name
    if not script.exists():          # an older revision without this script: run this one there
        script.write_text(Path(__file__).read_text())
    runs: dict[str, list[dict]] = {"this": [], "versus": []}
    loads = []
    for k in range(args.rounds):
        for name in (("this", "versus") if k % 2 == 0 else ("versus", "this")):
            out = Path(tempfile.mkstemp(suffix=".json")[1])
            cmd = [sys.executable, str(trees[name] / "bench" / Path(__file__).name), "--n", str(args.n),
                   "--patients", str(args.patients), "--concurrency", args.concurrency, "--cases", args.cases,
                   "--json", str(out)]
            loads.append(os.getloadavg()[0])
            subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(trees[name])})
            runs[name].append(json.loads(out.read_text()))
            out.unlink()
    print(f"{args.rounds} rounds, alternating; load average (1 min) during the runs: "
          f"min {min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f}")
    # The spread of the rounds' own ratios (round k of this tree over round k of the other, run
    # back to back): on a loaded machine a median ratio is only worth as much as this range.
    print(f"  {'case':<12} {'this µs CPU/read':>17} {'versus':>8} {'ratio':>6} {'rounds':>11}   "
          f"{'this reads/s':>12} {'versus':>8}")
    for case in runs["this"][0]:
        a = statistics.median(r[case]["cpu_us"] for r in runs["this"])
        b = statistics.median(r[case]["cpu_us"] for r in runs["versus"])
        ratios = [x[case]["cpu_us"] / y[case]["cpu_us"] for x, y in zip(runs["this"], runs["versus"])]
        ra = statistics.median(r[case]["per_s"] for r in runs["this"])
        rb = statistics.median(r[case]["per_s"] for r in runs["versus"])
        print(f"  {case:<12} {a:17.0f} {b:8.0f} {a / b:6.2f} {min(ratios):5.2f}-{max(ratios):<5.2f}   "
              f"{ra:12.0f} {rb:8.0f}")


if __name__ == "__main__":
    main()
