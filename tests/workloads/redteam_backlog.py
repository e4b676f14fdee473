"""Red-team leak app (e): leaks whose first item keeps changing.

Leaks:
  1. a job backlog: a deque fed 100 jobs a second, drained 50 a second from
     the left (popleft: its first item changes all the time), net +50/s:
     redteam_backlog.BACKLOG (Job objects)
  2. a history kept newest first (list.insert(0, ...)), 50 a second:
     redteam_backlog.HISTORY (tuples)
  minor: an ordinary append-only list, 2 items a second
     (redteam_backlog.AUDIT): a leak 25 times slower, so it must rank below both
Bounded: a dict of 500 entries evicting a random key (its first item stays),
a deque(maxlen=1000); JSON churn. Imported by its module name.
"""
import collections
import json
import os
import random
import sys

if __name__ != "__main__":
    import redteam_common


class Job(object):
    def __init__(self, n):
        self.n = n
        self.payload = ("job", n)


BACKLOG = collections.deque()       # leak 1
HISTORY = []                        # leak 2
AUDIT = []                          # minor leak
CACHE = {}                          # bounded, random eviction
CACHE_KEYS = []
RECENT = collections.deque(maxlen=1000)


def step(i):
    BACKLOG.append(Job(i))  # LEAK-BACKLOG
    if i % 2:
        BACKLOG.popleft()
    if i % 2 == 0:
        HISTORY.insert(0, (i, "event", i * 0.5))  # LEAK-HISTORY
    if i % 50 == 0:
        AUDIT.append(("audit", i))
    k = random.randrange(50000)
    if k not in CACHE:
        if len(CACHE) >= 500:
            j = random.randrange(len(CACHE_KEYS))
            CACHE_KEYS[j], CACHE_KEYS[-1] = CACHE_KEYS[-1], CACHE_KEYS[j]
            del CACHE[CACHE_KEYS.pop()]
        CACHE[k] = [k]
        CACHE_KEYS.append(k)
    RECENT.append(i)
    json.loads(json.dumps({"i": i, "q": len(BACKLOG) % 7, "tags": ["x", "y"]}))


def describe():
    return {"leaks": [redteam_common.holder("redteam_backlog.BACKLOG", BACKLOG, "Job",
                                            "LEAK-BACKLOG"),
                      redteam_common.holder("redteam_backlog.HISTORY", HISTORY, "tuple",
                                            "LEAK-HISTORY")],
            "minor": [redteam_common.holder("redteam_backlog.AUDIT", AUDIT, "tuple", None)],
            "bounded": [redteam_common.holder("redteam_backlog.CACHE", CACHE, "list", None),
                        redteam_common.holder("redteam_backlog.RECENT", RECENT, "int", None)]}


def main():
    redteam_common.Loop(100, describe).run(step)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import redteam_backlog
    redteam_backlog.main()
