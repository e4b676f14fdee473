#!/usr/bin/env python3
"""Target for the free-threaded heap test (tests/integration/test_freethreaded.py).

Usage: ft_heap.py STATE_PREFIX PHASE...

gc_window.py's protocol and main loop (``ready <pid>``, one phase per
SIGUSR1, ``STATE_PREFIX.<phase>.json`` then ``done <phase>``, SIGTERM exits),
with these phases added to its own. Each phase's snapshots ``a`` and ``b``
hold sys.getallocatedblocks(): on a free-threaded build, the interpreter's
own count of mimalloc blocks in use over every thread state's heaps and the
abandoned pool (Objects/obmalloc.c, get_mimalloc_allocated_blocks).

Phases
------
ft_keep     the main thread keeps 16 MiB: 16384 bytes objects whose block is
            exactly 1024 bytes (a mimalloc size class), in its object heap.
ft_hold     4 threads keep 4 MiB each (4096 such objects) and stay alive,
            blocked: 16 MiB in the heaps of four other thread states.
ft_threads  4 threads make 4 MiB each, hand it over and exit: their pages go
            to the interpreter's abandoned pool (16 MiB in all).
ft_huge     keeps one 80 MiB bytes object: a huge mimalloc page (a segment
            of its own, blocks above 32 MiB), its size rounded up to 4 MiB.
ft_free     drops everything the earlier phases kept, ends the ft_hold
            threads, gc.collect().
ft_churn    3 s of 8 threads at a time being started, allocating and
            freeing lists, dicts and strings (some across threads), and
            exiting, while the main thread does the same: the heaps change
            under every read.
"""

import gc
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gc_window  # noqa: E402  (the protocol and main loop)

BLOCK = 1024                   # bytes of one kept object's mimalloc block
KEEP = 16 << 20                # bytes each of ft_keep, ft_hold, ft_threads keeps
THREADS = 4

_kept = []
_holders = []
_release = threading.Event()


def _make(n):
    """n bytes objects of one BLOCK-byte block each (header + payload + NUL)."""
    size = BLOCK - sys.getsizeof(b"")
    return [bytes(size) for _ in range(n)]


def _in_threads(hold):
    """THREADS threads make KEEP bytes in all; with @hold they stay alive,
    holding it, until ft_free; else they hand it over and exit."""
    per = KEEP // BLOCK // THREADS
    out = [None] * THREADS
    made = threading.Barrier(THREADS + 1)

    def work(i):
        objs = _make(per)
        if hold:
            made.wait()
            _release.wait()
        else:
            out[i] = objs

    ts = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in ts:
        t.start()
    if hold:
        made.wait()
        _holders.extend(ts)
        return
    for t in ts:
        t.join()
    _kept.extend(out)


def _keep():
    _kept.append(_make(KEEP // BLOCK))


HUGE = 80 << 20               # > 64 MiB: more slices than a segment header has entries


def _huge():
    _kept.append(bytes(HUGE))


def _free():
    _release.set()
    for t in _holders:
        t.join()
    del _kept[:], _holders[:]
    gc.collect()


def _churn(seconds=3.0):
    shared = []
    lock = threading.Lock()

    def work(seed):
        mine = [{"k%d" % i: [str(i)] * 8} for i in range(2000 + seed)]
        with lock:
            shared.append(mine)       # freed later by another thread
            if len(shared) > 16:
                del shared[:8]

    end = time.time() + seconds
    while time.time() < end:
        ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        junk = [bytes(100) for _ in range(5000)]
        for t in ts:
            t.join()
        junk.clear()          # freed after the threads ran
    del shared[:]


def _phase(name, body):
    def run(prefix):
        a = {"blocks": sys.getallocatedblocks(), "t": time.time()}
        body()
        b = {"blocks": sys.getallocatedblocks(), "t": time.time()}
        gc_window._write(prefix, name, {"a": a, "b": b, "block": BLOCK, "keep_bytes": KEEP})
        gc_window._say("done " + name)
    return run


gc_window.PHASES.update({
    "ft_keep": _phase("ft_keep", _keep),
    "ft_hold": _phase("ft_hold", lambda: _in_threads(True)),
    "ft_threads": _phase("ft_threads", lambda: _in_threads(False)),
    "ft_huge": _phase("ft_huge", _huge),
    "ft_free": _phase("ft_free", _free),
    "ft_churn": _phase("ft_churn", _churn),
})

if __name__ == "__main__":
    assert sys.getsizeof(bytes(BLOCK - sys.getsizeof(b""))) == BLOCK
    sys.exit(gc_window.main(sys.argv))
