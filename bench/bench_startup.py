"""What an old PC pays to start benhan: the CLI's wall time and peak memory per command, and the
server's resident memory after `benhan serve --demo` (what ./scripts/start runs), idle and under load.

- CLI: `benhan --help`, `benhan version`, `benhan doctor --help`, `benhan backup --help`, and what a
  clerk or IT person runs on a database — `benhan user list`, `benhan doctor` (on a data folder
  migrated once beforehand, `{data}` in a command) — and --cli-command for more, each run as
  `python -m benhan.cli …` to completion: wall time (median of the rounds) and peak RSS (ru_maxrss
  of the child, the largest of the rounds).
- Server: a new data folder, `serve --demo` (the first start loads the demo facility and the code
  lists), VmRSS/VmHWM of the serving process once it answers and has been idle a few seconds; then
  stopped and started again on the same folder (the second start); with --load SECONDS, reads by
  id, searches, creates and the login page from a few client threads for that long, then VmRSS
  (now) and VmHWM (the peak) again. The server's child processes (the start-up work) are summed in
  while they run; none is left once it serves.

With --versus REV every figure is also taken for another revision (a `git worktree` of REV on
PYTHONPATH, the same interpreter and packages), interleaved with this tree's round by round
(A B B A …), so the machine's load favours neither; the worktree is removed at the end.

Usage:
    .venv/bin/python bench/bench_startup.py                    # this tree: CLI and server
    .venv/bin/python bench/bench_startup.py --versus HEAD~3 --load 120
    .venv/bin/python bench/bench_startup.py --no-server --rounds 9   # the CLI only
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import AUTH_HEADERS, install_bench_token, print_machine, rss_kib  # noqa: E402

COMMANDS = [["--help"], ["version"], ["doctor", "--help"], ["backup", "--help"],
            ["user", "list", "--data-dir", "{data}"], ["doctor", "--data-dir", "{data}"]]


def _env(pythonpath: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


DATA = Path(tempfile.gettempdir())     # set in main: the data folder `{data}` stands for


def run_cli(args: list[str], pythonpath: str | None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one `python -m benhan.cli ARGS` run."""
    args = [str(DATA) if a == "{data}" else a for a in args]
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "benhan.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env(pythonpath), cwd=tempfile.gettempdir())
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return found


class Server:
    def __init__(self, data_dir: Path, pythonpath: str | None, log: Path):
        import httpx
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")  # noqa: SIM115
        started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "benhan.cli", "serve", "--demo", "--data-dir",
                                      str(data_dir), "--port", str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=_env(pythonpath), start_new_session=True,
                                     cwd=data_dir.parent)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {log}")
            try:
                if httpx.get(f"{self.base}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"server not ready; see {log}")
        self.start_s = time.perf_counter() - started

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM (MiB) of the serving process, and how many other processes it has."""
        mem = {k: v / 1024 for k, v in rss_kib(self.proc.pid).items()}
        mem["others"] = len(_tree(self.proc.pid)) - 1
        return mem

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


def load(server: Server, data_dir: Path, seconds: float, threads: int = 4) -> dict[str, int]:
    """Reads by id, searches, creates and the login page from `threads` clients for `seconds`."""
    import httpx
    install_bench_token(f"sqlite:///{data_dir / 'benhan.sqlite'}")
    headers = {**AUTH_HEADERS, "Accept": "application/fhir+json"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=30) as c:
        bundle = c.get("/fhir/Patient", params={"_count": "100"}).json()
        ids = [e["resource"]["id"] for e in bundle.get("entry", [])] or ["none"]
    patient = b'{"resourceType":"Patient","name":[{"family":"Nguy\xe1\xbb\x85n","given":["Bench"]}],"gender":"female"}'
    done = {"read": 0, "search": 0, "create": 0, "page": 0, "errors": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(n: int) -> None:
        k = n
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as c:
            while time.monotonic() < stop_at:
                k += 1
                kind = ("read", "read", "read", "search", "create", "page")[k % 6]
                if kind == "read":
                    r = c.get(f"/fhir/Patient/{ids[k % len(ids)]}")
                elif kind == "search":
                    r = c.get("/fhir/Observation", params={"patient": ids[k % len(ids)], "_count": "20"})
                elif kind == "create":
                    r = c.post("/fhir/Patient", content=patient, headers={"Content-Type": "application/fhir+json"})
                else:
                    r = c.get("/login", headers={"Accept": "text/html"})
                with lock:
                    done[kind] += 1
                    done["errors"] += r.status_code >= 400

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return done


def server_round(pythonpath: str | None, work: Path, name: str, load_s: float) -> dict[str, float]:
    data = work / f"{name}-data"
    shutil.rmtree(data, ignore_errors=True)
    out: dict[str, float] = {}
    log = work / f"{name}.log"
    for start in ("first", "second"):
        server = Server(data, pythonpath, log)
        try:
            time.sleep(3)                 # idle: the start-up's threads settle
            mem = server.memory()
            out[f"{start} start s"] = server.start_s
            out[f"{start} idle RSS"] = mem["VmRSS"]
            out[f"{start} idle HWM"] = mem["VmHWM"]
            out[f"{start} other processes"] = mem["others"]
            if start == "second" and load_s:
                counts = load(server, data, load_s)
                mem = server.memory()
                out["load RSS"] = mem["VmRSS"]
                out["load HWM"] = mem["VmHWM"]
                out["load requests"] = sum(v for k, v in counts.items() if k != "errors")
                out["load errors"] = counts["errors"]
        finally:
            server.stop()
    shutil.rmtree(data, ignore_errors=True)
    return out


def _worktree(rev: str, work: Path) -> Path:
    path = work / "versus"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True,
                   capture_output=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versus", metavar="REV", help="also measure this git revision, interleaved")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each CLI command per revision")
    parser.add_argument("--server-rounds", type=int, default=1, help="first+second starts per revision")
    parser.add_argument("--load", type=float, default=0, metavar="SECONDS", help="load after the second start")
    parser.add_argument("--no-server", action="store_true", help="the CLI only")
    parser.add_argument("--cli-command", action="append", default=[], metavar="'ARGS'",
                        help="another command to time (repeatable), e.g. 'config show'")
    args = parser.parse_args()
    print_machine()
    global DATA
    work = Path(tempfile.mkdtemp(prefix="benhan-bench-startup-"))
    DATA = work / "cli-data"
    revs: dict[str, str | None] = {"this": str(ROOT)}
    try:
        if args.versus:
            base = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.versus], check=True,
                                  capture_output=True, text=True).stdout.strip()
            revs[f"base {base}"] = str(_worktree(args.versus, work))
        names = list(revs)
        for path in revs.values():      # no revision pays for compiling its .pyc files in the measured runs
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(path) / "benhan")],
                           capture_output=True)
        # The commands' database: migrated by this tree, once, before any command is timed.
        subprocess.run([sys.executable, "-m", "benhan.cli", "migrate", "--data-dir", str(DATA)], check=True,
                       capture_output=True, cwd=work)
        for cmd in COMMANDS:
            for name in names:
                run_cli(cmd, revs[name])
        load_avg = os.getloadavg()
        print(f"load average before: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
        commands = COMMANDS + [a.split() for a in args.cli_command]
        cli: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for cmd in commands:
                for name in order:
                    cli.setdefault((name, " ".join(cmd)), []).append(run_cli(cmd, revs[name]))
        print(f"\nCLI: `python -m benhan.cli ARGS`, {args.rounds} runs each, interleaved "
              "(wall: median, min; peak RSS: max)")
        print(f"{'command':<28} {'revision':<14} {'wall median':>12} {'wall min':>9} {'peak RSS':>9}")
        for cmd in commands:
            for name in names:
                runs = cli[(name, " ".join(cmd))]
                walls = [w for w, _ in runs]
                print(f"{' '.join(cmd):<28} {name:<14} {statistics.median(walls) * 1000:>9.0f} ms "
                      f"{min(walls) * 1000:>6.0f} ms {max(m for _, m in runs):>5.1f} MiB")
        if not args.no_server:
            results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
            for r in range(args.server_rounds):
                order = names if r % 2 == 0 else names[::-1]
                for name in order:
                    results[name].append(server_round(revs[name], work, f"{name.split()[0]}-{r}", args.load))
            print("\nServer: `python -m benhan.cli serve --demo` on a new data folder, then started again"
                  + (f"; {args.load:.0f} s of load after the second start" if args.load else ""))
            keys = list(results[names[0]][0])
            print(f"{'figure':<24}" + "".join(f"{n:>16}" for n in names))
            for k in keys:
                unit = " s" if k.endswith(" s") else "" if "process" in k or "requests" in k or "errors" in k \
                    else " MiB"
                cells = [statistics.median(x[k] for x in results[n]) for n in names]
                print(f"{k:<24}" + "".join(f"{c:>12.1f}{unit:<4}" if unit != "" else f"{c:>16.0f}" for c in cells))
        load_avg = os.getloadavg()
        print(f"\nload average after: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    finally:
        if args.versus:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "versus")],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
