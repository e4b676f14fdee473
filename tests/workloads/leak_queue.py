"""Leak workload: an unbounded collections.deque of jobs and a Counter of
unique visitor keys; a cache that is cleared whenever it fills (it
oscillates), a deque(maxlen) of recent events and JSON churn next to them."""
import collections
import json

import leakapp


class Job(object):
    def __init__(self, n):
        self.n = n
        self.args = ("job", n)


JOBS = collections.deque()            # leak 1: appended, never consumed
VISITORS = collections.Counter()      # leak 2: one key per visitor
SCRATCH = {}                          # oscillates: cleared at 1500 entries
EVENTS = collections.deque(maxlen=500)


def step(i):
    JOBS.append(Job(i))  # LEAK-JOBS
    VISITORS["visitor-%d" % i] += 1  # LEAK-VISITORS
    SCRATCH[i % 100000] = [i]
    if len(SCRATCH) >= 1500:
        SCRATCH.clear()
    EVENTS.append(("event", i))
    json.loads(json.dumps({"q": i, "w": ["p"] * 5}))


def describe():
    return {"leaks": [leakapp.holder("leak_queue.JOBS", JOBS, "Job", "LEAK-JOBS"),
                      leakapp.holder("leak_queue.VISITORS", VISITORS, "int", "LEAK-VISITORS")],
            "bounded": [leakapp.holder("leak_queue.SCRATCH", SCRATCH, "list"),
                        leakapp.holder("leak_queue.EVENTS", EVENTS, "tuple")]}


if __name__ == "__main__":
    leakapp.serve("leak_queue")
