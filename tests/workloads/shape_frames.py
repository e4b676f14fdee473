"""Leak shape: leaks held only by frame locals. A worker thread's loop keeps
every Sample in its local list `samples` (shape_frames.collector.<locals>.samples,
~80 items a second); a generator that stays alive (suspended between sends)
keeps every line sent to it in its local `lines` (str items, 100 a second:
shape_frames.TAIL.<locals>.lines, named through the generator kept in TAIL, doc/leaks.md
"Holder paths"). JSON churn next to them. Neither list is reachable by attributes and
items from a module: the ground truth is the length and id() each frame publishes
(ints, no reference). See leakapp.py."""
import json
import sys
import threading
import time

import leakapp

PUBLISHED = {"samples": (0, 0, 0), "lines": (0, 0, 0)}   # (id, len, sizeof), no references


class Sample(object):
    __slots__ = ("t", "v")

    def __init__(self, t, v):
        self.t = t
        self.v = v


def collector():
    samples = []                             # leak 1: a thread's local
    n = 0
    while True:
        samples.append(Sample(time.time(), n * 0.5))  # LEAK-SAMPLES
        n += 1
        if n % 50 == 0:
            PUBLISHED["samples"] = (id(samples), len(samples), leakapp.sizeof(samples))
        time.sleep(0.01)


def tailer():
    lines = []                               # leak 2: a suspended generator's local
    while True:
        line = yield
        lines.append(line + "!")  # LEAK-LINES
        if len(lines) % 50 == 0:
            PUBLISHED["lines"] = (id(lines), len(lines), leakapp.sizeof(lines))


TAIL = None


def step(i):
    global TAIL
    if TAIL is None:
        TAIL = tailer()
        next(TAIL)
        threading.Thread(target=collector, name="collector", daemon=True).start()
    TAIL.send("GET /item/%d HTTP/1.1" % i)
    json.loads(json.dumps({"path": "/item/%d" % i, "h": ["a", "b"], "v": [2.5] * 6}))


def describe():
    out = []
    for name, path, ty, marker in (("samples", "shape_frames.collector.<locals>.samples", "Sample",
                                    "LEAK-SAMPLES"),
                                   ("lines", "shape_frames.TAIL.<locals>.lines", "str",
                                    "LEAK-LINES")):
        addr, n, size = PUBLISHED[name]
        out.append({"holder": path, "addr": addr, "len": n, "item_type": ty, "marker": marker,
                    "sizeof": size})
    return {"leaks": out, "bounded": [], "census": {"Sample": PUBLISHED["samples"][1]}}


if __name__ == "__main__":
    leakapp.serve("shape_frames")
