#!/usr/bin/env python3
"""A small fake "service" for the pymemwatch demo.

Usage: demo_service.py [SECONDS]   (default: run until killed)

Every "request" JSON-encodes and decodes a small document (allocation
churn), builds a little cyclic garbage (work for the cyclic GC) and leaks
a small record into a module-level cache (about 100 KiB/s of growth), so
pymemwatch shows steady live-heap growth, GC activity and pauses.
One status line is printed per second. Runs on Python 3.8 and later.
"""

import json
import os
import sys
import time

REQUESTS_PER_SECOND = 200
LEAK_BYTES_PER_REQUEST = 512        # ~100 KiB/s at 200 requests/s

_cache = {}                         # the "leak": never evicted


class Session(object):
    def __init__(self, rid):
        self.rid = rid
        self.parent = None
        self.children = []


def handle(rid):
    doc = {"id": rid, "user": "user%d" % (rid % 97),
           "items": [{"sku": i, "qty": (rid + i) % 7, "price": i * 1.25}
                     for i in range(20)],
           "tags": ["a", "b", "c", str(rid)]}
    text = json.dumps(doc)
    back = json.loads(text)
    total = sum(it["qty"] * it["price"] for it in back["items"])

    # cyclic garbage: a small tree with back references
    root = Session(rid)
    for i in range(10):
        child = Session(rid * 100 + i)
        child.parent = root
        root.children.append(child)

    # leak ~512 bytes per request in small objects
    _cache[rid] = [str(rid * 1000 + i) for i in range(LEAK_BYTES_PER_REQUEST // 64)]
    return total


def main(argv):
    duration = float(argv[1]) if len(argv) > 1 else None
    start = time.monotonic()
    rid = 0
    next_report = start + 1.0
    done_this_second = 0
    sys.stdout.write("demo_service: pid %d, %d requests/s\n"
                     % (os.getpid(), REQUESTS_PER_SECOND))
    sys.stdout.flush()
    while duration is None or time.monotonic() - start < duration:
        t0 = time.monotonic()
        handle(rid)
        rid += 1
        done_this_second += 1
        now = time.monotonic()
        if now >= next_report:
            sys.stdout.write("demo_service: %d requests/s, cache %d entries\n"
                             % (done_this_second, len(_cache)))
            sys.stdout.flush()
            done_this_second = 0
            next_report += 1.0
        delay = 1.0 / REQUESTS_PER_SECOND - (now - t0)
        if delay > 0:
            time.sleep(delay)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(0)
