"""Giving memory back to the system after large, short-lived work (a full-size file read, a board
of scored submissions, an item analysis).

CPython frees objects into glibc's malloc, which keeps freed memory in per-thread arenas: a server
whose worker threads each read a 20 MB file once stays that much larger for good. `trim_heap`
collects cycles and asks glibc to return what it can; `start_heap_trimmer` does so in the
background whenever the process grew since the last trim, after asking the caches registered with
`on_trim` to let go of what sat unused; `limit_arenas` caps how many arenas
threads spread over. All three do nothing where the C library is not glibc.
"""
from __future__ import annotations

import ctypes
import gc
import os
import threading
import time
import weakref
from typing import Callable

M_ARENA_MAX = -8  # glibc's mallopt parameter
GROWTH_TO_TRIM = 32 * 2**20  # bytes the process must have grown since the last trim


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to trim
        return None


_LIBC = _load_libc()
_RELEASERS: list[weakref.WeakMethod] = []  # caches that let go of what sat unused, asked before each trim


def on_trim(release: Callable[[], bool]) -> None:
    """Ask the bound method `release` (a cache dropping what sat unused; True when it dropped something, and
    the heap is then trimmed) before each look at the heap; held weakly, so registering keeps no object alive."""
    _RELEASERS.append(weakref.WeakMethod(release))


def trim_heap() -> None:
    """Collect cycles (a refusal's traceback makes some) and return free heap pages to the system."""
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def limit_arenas(count: int) -> None:
    """At most `count` malloc arenas for all threads (call before the threads start)."""
    if _LIBC is not None and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(M_ARENA_MAX, count)


def resident_bytes() -> int:
    """The process's resident set size (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def start_heap_trimmer(every_s: float) -> threading.Thread:
    """Every `every_s` seconds, trim the heap if the process grew by GROWTH_TO_TRIM since the last trim."""
    def run() -> None:
        trimmed_at = resident_bytes()
        while True:
            time.sleep(every_s)
            released = False
            for release in [method() for method in _RELEASERS]:
                released = bool(release is not None and release()) or released
            _RELEASERS[:] = [method for method in _RELEASERS if method() is not None]
            if released or resident_bytes() - trimmed_at >= GROWTH_TO_TRIM:
                trim_heap()
                trimmed_at = resident_bytes()

    thread = threading.Thread(target=run, name="heap-trimmer", daemon=True)
    thread.start()
    return thread
