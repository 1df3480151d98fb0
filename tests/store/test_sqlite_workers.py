"""`benhan serve --workers 2` on SQLite (issue 19): reads run in two processes, writes take turns
through SQLite's own lock, and nothing a client was told is stored goes missing; the audit chain stays
one chain; the background workers run in one process only (web/background.py)."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from tests.server_process import (ServerProcess, Writers, api_client, consistency_problems, group_members,
                                  run_benhan, stored_resources)
from benhan.web import background


def test_two_workers_on_sqlite_keep_every_acknowledged_write_and_one_audit_chain(tmp_path: Path):
    data = tmp_path / "data"
    with ServerProcess(data, extra_args=("--workers", "2")) as server:
        # The supervisor and its two workers (and multiprocessing's tracker, perhaps).
        assert len(group_members(server.process.pid)) >= 3, server.log()
        writers = Writers(server.base, creators=4).start()
        read_ok = 0
        with api_client() as http:
            deadline = time.monotonic() + 180
            while writers.acked_count() < 150 and time.monotonic() < deadline and not writers.refused():
                creates, _ = writers.snapshot()
                for body in creates[-5:]:
                    r = http.get(f"{server.base}/Patient/{body['id']}")
                    assert r.status_code == 200, r.text[:300]
                    read_ok += 1
                time.sleep(0.05)
        writers.join()
        assert writers.refused() == [], writers.refused()[:3]
        assert writers.acked_count() >= 150, "too few writes in 180 s:\n" + server.log()
        assert read_ok > 0
        # One of the server's processes holds the background lock.
        fd = os.open(data / "background.lock", os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held_by_server = False
            except BlockingIOError:
                held_by_server = True
        finally:
            os.close(fd)
        assert held_by_server, "no worker runs the background work"
    url = f"sqlite:///{data / 'benhan.sqlite'}"
    stored = stored_resources(url)
    missing = [b["id"] for b in writers.acked_creates() if ("Patient", b["id"]) not in stored]
    missing += [r["id"] for rs in writers.transactions.written.acked for r in rs
                if (r["resourceType"], r["id"]) not in stored]
    assert missing == []
    assert consistency_problems(url) == []
    verified = run_benhan("audit", "verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_one_process_of_a_server_takes_the_background_lock(tmp_path: Path):
    # In one process two opens of the file are two holders as far as flock goes: the second is refused,
    # as another worker process would be.
    assert background.take_background_lock(tmp_path) is True
    try:
        assert background.take_background_lock(tmp_path) is False
    finally:
        os.close(background._held.pop())
    assert background.take_background_lock(tmp_path) is True
    os.close(background._held.pop())
