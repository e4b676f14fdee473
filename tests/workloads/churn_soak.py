#!/usr/bin/env python3
"""A churning, overloading target for pymemwatch's soak test.

Usage: churn_soak.py [SECONDS] [SITES] [PEAK_BLOCKS]

Runs until SECONDS pass (default: until killed). It calls SITES (default
2000) distinct generated functions, each a separate allocation call site
with its own line, and keeps what they build in a live set that saws up
to PEAK_BLOCKS (default 1,500,000) small blocks and back down, so the
allocator refills and releases pools all the time, leak bursts sample
many thousands of pools and the site tables fill. Cyclic garbage keeps
the GC busy. One status line per 10 s on stdout.
"""

import sys
import time


def make_sites(n):
    """n functions, each allocating at its own line of its own code object."""
    src = []
    for i in range(n):
        src.append("def site_%d(k):\n"
                   "    return [(k, %d), {'k': k, 's': 'x%d' * (k %% 3)}, k * 1.5]\n"
                   % (i, i, i))
    ns = {}
    exec(compile("".join(src), "<soak_sites>", "exec"), ns)
    return [ns["site_%d" % i] for i in range(n)]


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    nsites = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    peak = int(sys.argv[3]) if len(sys.argv) > 3 else 1500000
    sites = make_sites(nsites)
    live = []
    growing = True
    end = time.monotonic() + seconds if seconds > 0 else None
    next_status = time.monotonic() + 10
    k = 0
    print("ready", flush=True)
    while end is None or time.monotonic() < end:
        for _ in range(2000):
            k += 1
            obj = sites[k % nsites](k)
            if growing:
                live.append(obj)        # ~6 blocks per call
            a = [None]; a[0] = a        # cyclic garbage for the GC
        if growing and len(live) * 6 >= peak:
            growing = False
        elif not growing:
            del live[-20000:]
            if not live:
                growing = True
        if time.monotonic() >= next_status:
            next_status += 10
            print("live %d calls %d" % (len(live), k), flush=True)


if __name__ == "__main__":
    main()
