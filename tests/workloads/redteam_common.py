"""Scaffolding for the red-team leak apps (tests/workloads/redteam_*.py).

The apps are deliberately unlike tests/workloads/leak_*.py (holders reached
through objects, dict subscripts, closures, class attributes, lru_cache,
`__main__`; work done in a thread; time-driven caches; slow leaks next to
huge bounded caches). Each runs until killed (or SECONDS), prints
``ready <pid>`` and, given STATE_FILE, rewrites it about once a second with
its ground truth: {"time", "steps", "leaks": [...], "bounded": [...]}, each
holder as leakapp.holder() writes it, plus "marker": the `# LEAK-...` tag of
the line that creates that leak's items (None for bounded containers), and
"history": [[time, [len of each leak]], ...], one point a second (the last
600), to compare a census taken at any moment with.

usage: redteam_X.py [SECONDS [STATE_FILE]]   (SECONDS 0 = until killed)
"""
import os
import sys
import time

import leakapp


def args():
    """(duration seconds, 0 = for ever; state file or None)"""
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    state = sys.argv[2] if len(sys.argv) > 2 else None
    return duration, state


def holder(path, container, item_type, marker, addr=True):
    h = leakapp.holder(path, container, item_type, addr)
    h["marker"] = marker
    return h


class Loop(object):
    """Paced loop: tick(step) runs `step(i)` so that `rate` calls a second are
    made on average; the state file is written once a second."""

    def __init__(self, rate, describe):
        self.duration, self.state = args()
        self.rate = rate
        self.describe = describe
        self.start = time.monotonic()
        self.next_state = self.start
        self.i = 0
        self.history = []

    def running(self):
        return not self.duration or time.monotonic() - self.start < self.duration

    def run(self, step, batch=20):
        print("ready %d" % os.getpid(), flush=True)
        while self.running():
            for _ in range(batch):
                step(self.i)
                self.i += 1
            self.write_state()
            ahead = self.start + self.i / float(self.rate) - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)

    def write_state(self):
        now = time.monotonic()
        if self.state and now >= self.next_state:
            st = self.describe()
            self.history = self.history[-599:] + [[time.time(), [h["len"] for h in st["leaks"]]]]
            st.update(time=time.time(), steps=self.i, history=self.history)
            leakapp._write_state(self.state, st)
            self.next_state = now + 1
