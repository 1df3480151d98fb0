"""Issue 11 item 21: a test ends every process it starts, its whole process group included — a
server's workers and multiprocessing tracker too, not only the process it holds — and the session
checks it (tests/conftest.py `no_process_outlives_the_session`)."""
from __future__ import annotations

import os
import signal
import sys

from tests.server_process import _processes, end, group_members, leftover_processes, spawn

# A parent that starts a child and both wait, as `benhan serve --workers 2` does with its workers.
PARENT_WITH_CHILD = ("import subprocess, sys, time; "
                     "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
                     "print('ready', flush=True); time.sleep(120)")


def _start() -> tuple:
    import subprocess
    process = spawn([sys.executable, "-c", PARENT_WITH_CHILD], stdout=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"ready"
    return process, process.pid


def _pids(lines: list[str]) -> set[int]:
    return {int(line.split()[0]) for line in lines}


def _not_from(pids: set[int], lines: list[str]) -> set[str]:
    """The lines of processes none of `pids` started: a browser this worker already ran (another
    file's, kept for its module) starts helper processes of its own at any moment (chromium's
    on-device-model utility did, mid-test); those are not this test's."""
    table = _processes()

    def theirs(pid: int) -> bool:
        seen = set()
        while pid in table and pid not in seen:
            if pid in pids:
                return True
            seen.add(pid)
            pid = table[pid][0]
        return False
    return {line for line in lines if not theirs(int(line.split()[0]))}


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
    assert _not_from(_pids(list(before)), leftover_processes(grace=0)) == set()


def test_end_stops_the_whole_group_gracefully():
    process, group = _start()
    end(process)
    assert process.returncode is not None and group_members(group) == []
