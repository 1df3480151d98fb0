"""The serving process's malloc settings (benhan/cli_memory.py): the trimmer gives freed heap pages
back after RSS grew, and does nothing before."""
from __future__ import annotations

import pytest

from benhan import cli_memory

glibc_only = pytest.mark.skipif(cli_memory._LIBC is None, reason="malloc_trim is glibc's")


@glibc_only
def test_the_trimmer_gives_back_freed_heap_pages_once_rss_has_grown():
    # Free pages earlier tests left resident are given back first: the blocks below would reuse
    # them without RSS growing (seen in a long-lived xdist worker).
    cli_memory.trim()
    trimmer = cli_memory.Trimmer(every_s=3600, growth_mib=16)
    assert not trimmer.check() and trimmer.trims == 0      # nothing grew: nothing to do
    # ~96 MiB in 100 KB blocks (malloc's heap, under its mmap threshold), every tenth kept: the
    # freed ones are holes that free() alone cannot give back (only the heap's top is).
    blocks = [bytearray(100_000) for _ in range(960)]
    kept = blocks[::10]
    del blocks
    grown = cli_memory.rss_mib()
    assert trimmer.check() and trimmer.trims == 1
    assert cli_memory.rss_mib() < grown - 32
    assert not trimmer.check()                             # and not again until RSS grows again
    assert len(kept) == 96


def test_a_trimmer_thread_ends_when_stopped():
    trimmer = cli_memory.Trimmer(every_s=3600).start()
    trimmer.stop()
    assert trimmer._thread is None or not trimmer._thread.is_alive()
