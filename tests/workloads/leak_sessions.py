"""Leak workload: an unbounded list of session objects and a dict of metric
series keyed by an unbounded request id; a bounded LRU (OrderedDict) with
steady turnover and JSON churn next to them. See leakapp.py."""
import collections
import json
import random
import time

import leakapp


class Session(object):
    def __init__(self, user, token):
        self.user = user
        self.token = token
        self.created = time.time()


class Series(object):
    __slots__ = ("name", "points")

    def __init__(self, name):
        self.name = name
        self.points = [0.0, 0.0]


ACTIVE_SESSIONS = []                 # leak 1: never pruned
METRICS = {}                         # leak 2: one series per request id
RECENT = collections.OrderedDict()   # bounded: 500 most recent users
RECENT_MAX = 500


def step(i):
    ACTIVE_SESSIONS.append(Session("user%d" % i, "tok-%08d" % i))  # LEAK-SESSIONS
    METRICS["req-%d" % i] = Series("latency")  # LEAK-METRICS
    key = random.randrange(5000)
    if key in RECENT:
        RECENT.move_to_end(key)
    else:
        RECENT[key] = {"user": key, "seen": i}
        if len(RECENT) > RECENT_MAX:
            RECENT.popitem(last=False)
    doc = {"id": i, "items": [{"n": j, "v": "x%d" % j} for j in range(10)]}
    json.loads(json.dumps(doc))


def describe():
    return {"leaks": [leakapp.holder("leak_sessions.ACTIVE_SESSIONS", ACTIVE_SESSIONS, "Session",
                                      "LEAK-SESSIONS"),
                      leakapp.holder("leak_sessions.METRICS", METRICS, "Series", "LEAK-METRICS")],
            "bounded": [leakapp.holder("leak_sessions.RECENT", RECENT, "dict")]}


if __name__ == "__main__":
    leakapp.serve("leak_sessions")
