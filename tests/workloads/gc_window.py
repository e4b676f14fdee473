#!/usr/bin/env python3
"""Target for pymemwatch's exact-window integration tests.

Usage: gc_window.py STATE_PREFIX [PHASE ...]

PHASE is one of: gc, keep, churn (default: gc keep churn).

Protocol
--------
* Start-up: imports and a warm-up (including one dry run of the JSON
  writing path, so first-use caches are already filled), gc.collect(),
  gc.disable(); SIGUSR1, SIGUSR2 and SIGTERM are blocked with
  pthread_sigmask; then ``ready <pid>`` is printed (flushed).
* The process then sleeps in signal.sigwait() (blocked in C, allocating
  nothing while idle).
* Each SIGUSR1 runs the next phase of the list given on the command line.
  A phase writes its snapshots as JSON to ``STATE_PREFIX.<phase>.json``
  and then prints ``done <phase>`` (flushed). A SIGUSR1 after the last
  phase prints ``done none``.
* SIGUSR2 prints ``pong`` (a cheap liveness check).
* SIGTERM exits with status 0.

Phases
------
gc     Snapshot ``a`` (gc.get_stats(), sys.getallocatedblocks()) while the
       collector is disabled; gc.enable(); ~1 s of cyclic garbage creation
       (automatic gen0/gen1/gen2 collections; some of it survives long
       enough to be promoted) plus explicit gc.collect(0),
       gc.collect(1), gc.collect(2) three times each; gc.disable(); a few
       trivial calls (so a collection already scheduled on 3.12+ runs now);
       snapshot ``b``. Every collection of the process's lifetime after
       ``ready`` happens between ``a`` and ``b``.
keep   Allocates and keeps 262144 ``bytes(31)`` objects: one 64-byte
       pymalloc block each, 16 MiB in all (the list's item array is larger
       than 512 bytes and so comes from malloc, not pymalloc).
churn  Snapshot ``a`` of sys.getallocatedblocks() first, then gc.collect()
       (empties free lists), allocates 200000 small str objects and keeps
       them, frees half of them, gc.collect(), snapshot ``b``. The
       allocations and frees between ``a`` and ``b`` are the only ones of
       the watched window apart from the (net zero) JSON/print epilogue.

Runs on CPython 3.8 to 3.13.
"""

import gc
import json
import os
import signal
import sys
import time

KEEP_OBJECTS = 262144          # x 64-byte blocks = 16 MiB
CHURN_OBJECTS = 200000

_kept = []                     # objects of the keep/churn phases live here


def _gc_stats():
    return [dict(s) for s in gc.get_stats()]


def _write(prefix, phase, data):
    path = "%s.%s.json" % (prefix, phase)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _trivial(x):
    return x + 1


class _Node(object):
    __slots__ = ("ref", "payload", "__weakref__")

    def __init__(self):
        self.ref = self
        self.payload = None


def phase_gc(prefix):
    a = {"stats": _gc_stats(), "blocks": sys.getallocatedblocks(),
         "t": time.time()}
    gc.enable()
    # ~1 s of cyclic garbage: 20 chunks of 10000 self-referencing objects.
    # One node in eight survives until the end of the loop, so objects get
    # promoted to the oldest generation and automatic full collections
    # happen too (they need long_lived_pending > long_lived_total / 4).
    survivors = []
    for _chunk in range(20):
        for i in range(5000):
            n = _Node()
            n.payload = [n]
            lst = []
            lst.append(lst)
            if i % 8 == 0:
                survivors.append(n)
        n = lst = None
        time.sleep(0.05)
    survivors = None
    for _round in range(3):
        gc.collect(0)
        gc.collect(1)
        gc.collect(2)
    gc.disable()
    for i in range(5):
        _trivial(i)
    b = {"stats": _gc_stats(), "blocks": sys.getallocatedblocks(),
         "t": time.time()}
    _write(prefix, "gc", {"a": a, "b": b})
    _say("done gc")


def phase_keep(prefix):
    a = {"blocks": sys.getallocatedblocks(), "t": time.time()}
    objs = [bytes(31) for _ in range(KEEP_OBJECTS)]
    _kept.append(objs)
    objs = None
    b = {"blocks": sys.getallocatedblocks(), "t": time.time()}
    _write(prefix, "keep", {"a": a, "b": b, "objects": KEEP_OBJECTS,
                            "bytes": KEEP_OBJECTS * 64})
    _say("done keep")


def phase_churn(prefix):
    a = {"blocks": sys.getallocatedblocks(), "t": time.time()}
    gc.collect()
    a_collected = sys.getallocatedblocks()
    objs = [str(i) for i in range(1000000, 1000000 + CHURN_OBJECTS)]
    del objs[::2]
    _kept.append(objs)
    objs = None
    gc.collect()
    b = {"blocks": sys.getallocatedblocks(), "t": time.time()}
    _write(prefix, "churn", {"a": a, "b": b,
                             "blocks_after_first_collect": a_collected})
    _say("done churn")


PHASES = {"gc": phase_gc, "keep": phase_keep, "churn": phase_churn}


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: gc_window.py STATE_PREFIX [PHASE ...]\n")
        return 64
    prefix = argv[1]
    phases = argv[2:] or ["gc", "keep", "churn"]
    for p in phases:
        if p not in PHASES:
            sys.stderr.write("gc_window.py: unknown phase %r\n" % p)
            return 64

    # Warm-up: fill first-use caches of everything used by the phases.
    for i in range(3):
        _trivial(i)
    _ = [str(i) for i in range(1000)]
    _ = [bytes(31) for _ in range(1000)]
    _ = _Node()
    _ = None
    _write(prefix, "warmup", {"a": {"stats": _gc_stats(),
                                    "blocks": sys.getallocatedblocks(),
                                    "t": time.time()}})
    os.unlink("%s.warmup.json" % prefix)
    waitset = {signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, waitset)
    gc.collect()
    gc.disable()
    _say("ready %d" % os.getpid())

    todo = list(phases)
    while True:
        sig = signal.sigwait(waitset)
        if sig == signal.SIGTERM:
            return 0
        if sig == signal.SIGUSR2:
            _say("pong")
            continue
        if not todo:
            _say("done none")
            continue
        PHASES[todo.pop(0)](prefix)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
