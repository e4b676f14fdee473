"""Leak workload: payloads larger than 512 B (libc malloc, not pymalloc)
kept in a dict, and a set of job ids that is never pruned; a bounded cache
of payloads of the same size with turnover and JSON churn next to them."""
import json
import os
import random

import leakapp

BLOBS = {}          # leak 1: 1-3 KiB bytes per upload, never dropped
PENDING = set()     # leak 2: job ids, never removed
HOT = {}            # bounded: 200 payloads, oldest evicted
HOT_MAX = 200


def step(i):
    BLOBS["upload-%d" % i] = os.urandom(1024 + (i * 37) % 2048)  # LEAK-BLOBS
    PENDING.add("job-%08d" % i)  # LEAK-PENDING
    k = random.randrange(1000)
    if k not in HOT:
        if len(HOT) >= HOT_MAX:
            del HOT[next(iter(HOT))]
        HOT[k] = os.urandom(2048)
    json.loads(json.dumps([{"k": k, "n": n} for n in range(8)]))


def describe():
    return {"leaks": [leakapp.holder("leak_payloads.BLOBS", BLOBS, "bytes", "LEAK-BLOBS"),
                      leakapp.holder("leak_payloads.PENDING", PENDING, "str", "LEAK-PENDING")],
            "bounded": [leakapp.holder("leak_payloads.HOT", HOT, "bytes")],
            "blob_bytes": sum(len(b) for b in BLOBS.values())}


if __name__ == "__main__":
    leakapp.serve("leak_payloads")
