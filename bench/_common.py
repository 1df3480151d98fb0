"""What the benchmarks share: a description of the machine they ran on, and small statistics.

A figure without its machine means little: every benchmark prints `machine()` next to its numbers.
"""
from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip().strip(chr(34))}, Linux {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def postgres_version(url: str | None) -> str | None:
    """The server's version when a URL is given (SQLAlchemy), else the local client's, else None."""
    if url:
        try:
            from sqlalchemy import create_engine, text
            engine = create_engine(url)
            try:
                with engine.connect() as conn:
                    return conn.execute(text("SHOW server_version")).scalar()
            finally:
                engine.dispose()
        except Exception as exc:  # noqa: BLE001 - a description, not a check
            return f"unreachable ({type(exc).__name__})"
    try:
        out = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5).stdout.strip()
        return out or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine(postgres_url: str | None = None) -> dict[str, str]:
    mem = memory_gib()
    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{mem:.1f} GiB" if mem else "?",
        "os": os_name(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(postgres_url) or "not available",
    }


def print_machine(postgres_url: str | None = None) -> dict[str, str]:
    info = machine(postgres_url)
    print("machine:")
    for key, value in info.items():
        print(f"  {key:<11} {value}")
    return info


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB, from /proc/PID/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(line.split()[1])
    return found


@contextmanager
def scratch_pg_database(pg_url: str, prefix: str) -> Iterator[tuple[str, Any]]:
    """A new PostgreSQL database for one benchmark run: (its URL, an AUTOCOMMIT engine on the
    server's `postgres` database); dropped at the end, on failure too."""
    from sqlalchemy import create_engine, text
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg_url}/{name}", admin
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- credentials: every API request is authenticated ---------------------------------------------

BENCH_TOKEN = "benhan-bench-token-system-all-0123456789abcdef"
AUTH_HEADERS = {"Authorization": f"Bearer {BENCH_TOKEN}"}

# The server's own scheduled backup is off while requests are measured: on SQLite it takes one an
# hour, the first a minute after the start, and its encrypted copy and restore test (seconds of CPU)
# were counted as the CPU of whatever requests ran then (read c=8 of bench_server: 379 µs per read
# against ~250 at c=1 and c=32 in the same run). bench_backup.py measures backups.
NO_SCHEDULED_BACKUP = {"BENHAN_BACKUP_HOUR": "-1"}


def install_bench_token(database_url: str) -> None:
    """A backend client with every system scope and a bearer token of it, written straight into the
    benchmark's database (so the measured requests carry a real token the server looks up)."""
    import hashlib
    import time

    from sqlalchemy import create_engine, insert, select

    from benhan.store.schema import oauth_client, oauth_token
    now = time.time_ns() // 1000
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.execute(select(oauth_client.c.client_id).where(oauth_client.c.client_id == "bench")).first() is None:
                conn.execute(insert(oauth_client).values(
                    client_id="bench", name="benchmark", kind="system", auth_method="private_key_jwt",
                    jwks='{"keys": []}', redirect_uris="", scopes="system/*.cruds", created=now))
            digest = hashlib.sha256(BENCH_TOKEN.encode()).hexdigest()
            if conn.execute(select(oauth_token.c.token_hash).where(oauth_token.c.token_hash == digest)).first() is None:
                conn.execute(insert(oauth_token).values(
                    token_hash=digest, kind="access", client_id="bench", scope="system/*.cruds", issued=now,
                    expires=now + 86400 * 10**6))
    finally:
        engine.dispose()
