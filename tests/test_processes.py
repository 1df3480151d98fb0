"""Issue 11 item 21: a test ends every process it starts, its whole process group included — a
server's workers and multiprocessing tracker too, not only the process it holds — and the session
checks it (tests/conftest.py `no_process_outlives_the_session`)."""
from __future__ import annotations

import os
import signal
import sys

from tests.server_process import end, group_members, leftover_processes, spawn

# A parent that starts a child and both wait, as `benhan serve --workers 2` does with its workers.
PARENT_WITH_CHILD = ("import subprocess, sys, time; "
                     "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
                     "print('ready', flush=True); time.sleep(120)")


def _start() -> tuple:
    import subprocess
    process = spawn([sys.executable, "-c", PARENT_WITH_CHILD], stdout=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"ready"
    return process, process.pid


def test_killing_only_the_process_we_hold_is_seen_as_a_leak_and_end_leaves_nothing():
    # What this worker already runs (another file's browser, kept for its module) is not this test's.
    before = set(leftover_processes(grace=0))
    process, group = _start()
    try:
        assert len(group_members(group)) == 2
        os.kill(process.pid, signal.SIGKILL)     # what test_bad_network did: the master only
        process.wait(timeout=30)
        left = leftover_processes(grace=0.5)
        assert any(line.split()[0].isdigit() and int(line.split()[0]) in group_members(group) for line in left), \
            "the orphaned child must be reported"
    finally:
        end(process, graceful=False)
    assert group_members(group) == []
    assert set(leftover_processes(grace=0)) - before == set()


def test_end_stops_the_whole_group_gracefully():
    process, group = _start()
    end(process)
    assert process.returncode is not None and group_members(group) == []
