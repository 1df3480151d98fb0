"""The serving process's memory on glibc: freed memory given back to the system.

What a large request leaves behind (docs/operations.md "Memory"): a transaction Bundle of a few
thousand entries holds ~150-190 MiB of Python objects at its peak, for a second or two. When it
ends almost all of it is free again, yet RSS stays near the peak: glibc keeps the freed chunks in
its heaps (the main one and one per thread that allocated while another held it: 15 of them behind
anyio's 40 worker threads) and returns pages to the system only from a heap's top. `malloc_trim(0)`
gives back every free page wherever it lies (madvise), so the checker below calls it when RSS has
grown well past its value after the last trim. RSS after bench/bench_server.py's 12 Synthea-shaped
Bundles: 225 MiB instead of 241 (docs/operations.md "Memory of the server").

CPython's own allocator (pymalloc, objects ≤ 512 bytes) is not helped: it frees a 1 MiB arena only
when the arena is empty. What keeps RSS after a large request beyond that is the request's peak
itself (the write path's business), not a setting here. MALLOC_ARENA_MAX=2 was measured and not
taken: with the trim it left RSS no lower (224-226 against 203-207 MiB after reads).

All of this is glibc only: elsewhere (musl, macOS, Windows) nothing here does anything.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time

log = logging.getLogger(__name__)

# The checker: every CHECK_S seconds it reads RSS (one small /proc read); when RSS has grown by
# TRIM_GROWTH_MIB since the last trim it trims: about 0.8 ms of CPU per MiB given back, outside the
# GIL, each arena's lock taken in turn, so it may run while requests are served.
CHECK_S = 2.0
TRIM_GROWTH_MIB = 16.0


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)     # CDLL: the GIL is released during each call
    except OSError:
        return None
    if not hasattr(libc, "malloc_trim"):
        return None                  # not glibc
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc


_LIBC = _glibc()


def trim() -> bool:
    """Give every free page of malloc's heaps back to the system; True when some were."""
    return bool(_LIBC.malloc_trim(0)) if _LIBC is not None else False


def rss_mib() -> float:
    """This process's resident memory (from /proc/self/statm; 0 where there is none)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576
    except (OSError, ValueError, IndexError):
        return 0.0


class Trimmer:
    """A daemon thread that trims malloc's heaps after RSS grew by `growth_mib` since the last trim
    (a large request ended, or many small ones). `check()` is one round, for tests."""

    def __init__(self, every_s: float = CHECK_S, growth_mib: float = TRIM_GROWTH_MIB):
        self.every_s = every_s
        self.growth_mib = growth_mib
        self.trims = 0
        self._floor = rss_mib()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        rss = rss_mib()
        if rss - self._floor < self.growth_mib:
            self._floor = min(self._floor, rss)
            return False
        started = time.perf_counter()
        trim()
        self.trims += 1
        self._floor = rss_mib()
        log.debug("malloc_trim: RSS %.0f → %.0f MiB in %.1f ms", rss, self._floor,
                  (time.perf_counter() - started) * 1000)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.check()

    def start(self) -> "Trimmer":
        if _LIBC is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def worker_app():  # noqa: ANN201 - uvicorn's factory for `serve --workers N`
    """Each worker process: the trimmer running, then the app as web.app builds it."""
    Trimmer().start()
    from benhan.web.app import app_from_environment
    return app_from_environment()
