"""Leak shape: a leak spread over 50 containers that each grow slowly. A
collections.defaultdict(list) keyed by a bounded set of 50 tenants, whose
per-tenant lists of Event objects grow for ever (2 items a second each:
shape_tenants.EVENTS['tenant-NN']); the dict itself stays at 50 keys. Next
to it a bounded per-tenant deque(maxlen=64) of recent (step, tenant) pairs
(shape_tenants.RECENT['tenant-NN'], full after ~32 s) and JSON churn.
See leakapp.py."""
import collections
import json

import leakapp

TENANTS = ["tenant-%02d" % k for k in range(50)]


class Event(object):
    def __init__(self, tenant, n):
        self.tenant = tenant
        self.n = n
        self.kind = "audit"


EVENTS = collections.defaultdict(list)                                   # leak, 50 lists
RECENT = collections.defaultdict(lambda: collections.deque(maxlen=64))   # bounded


def step(i):
    tenant = TENANTS[(i * 7) % 50]
    EVENTS[tenant].append(Event(tenant, i))  # LEAK-EVENTS
    RECENT[tenant].append((i, tenant))
    json.loads(json.dumps({"tenant": tenant, "n": i, "v": [1.25] * 6}))


def describe():
    leaks = []
    for t in TENANTS:
        if t in EVENTS:
            h = leakapp.holder("shape_tenants.EVENTS['%s']" % t, EVENTS[t], "Event", "LEAK-EVENTS")
            h["sizeof"] = leakapp.sizeof(EVENTS[t])
            leaks.append(h)
    return {"leaks": leaks,
            "bounded": [leakapp.holder("shape_tenants.RECENT['%s']" % t, RECENT[t], "tuple")
                        for t in TENANTS if t in RECENT],
            "census": {"Event": sum(len(v) for v in EVENTS.values())}}


if __name__ == "__main__":
    leakapp.serve("shape_tenants")
