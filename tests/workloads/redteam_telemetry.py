"""Red-team leak app (b): a telemetry exporter run as a script (its globals
live in __main__), the work done in a worker thread.

Leaks:
  1. a metrics registry instance whose attribute dict is keyed by request id:
     __main__.REGISTRY.points (values: tuples)
  2. a list inside a module-level dict: __main__.STATE['spans'] (span dicts)
Bounded: a render cache keyed by unique ids, cleared every 3 s (it grows as
fast as a leak, then drops to 0: it oscillates), __main__.RENDERED; a
deque(maxlen=3000) of recent values, __main__.RECENT; JSON churn.
"""
import collections
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redteam_common  # noqa: E402


class MetricsRegistry(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.points = {}            # leak 1

    def observe(self, request_id, name, value):
        with self.lock:
            self.points[request_id] = (name, value, request_id)  # LEAK-POINTS


REGISTRY = MetricsRegistry()
STATE = {"config": {"export": "otlp", "interval": 10}, "spans": []}   # leak 2 in 'spans'
RENDERED = {}                                   # oscillates: cleared every 3 s
RECENT = collections.deque(maxlen=3000)         # bounded by construction
_last_clear = [time.monotonic()]


def step(i):
    rid = "req-%x-%d" % (os.getpid(), i)
    REGISTRY.observe(rid, "http.server.duration", (i % 977) * 0.001)
    if i % 2 == 0:
        STATE["spans"].append({"trace": rid, "parent": i - 1, "kind": "server"})  # LEAK-SPANS
    RENDERED[rid] = "%s=%d" % (rid, i)
    now = time.monotonic()
    if now - _last_clear[0] >= 3.0:
        RENDERED.clear()
        _last_clear[0] = now
    RECENT.append((i, (i % 977) * 0.001))
    json.loads(json.dumps({"resource": {"service": "api"}, "points": [[i, 1.5, "ms"]] * 6}))


def describe():
    return {"leaks": [redteam_common.holder("__main__.REGISTRY.points", REGISTRY.points, "tuple",
                                            "LEAK-POINTS"),
                      redteam_common.holder("__main__.STATE['spans']", STATE["spans"], "dict",
                                            "LEAK-SPANS")],
            "bounded": [redteam_common.holder("__main__.RENDERED", RENDERED, "str", None),
                        redteam_common.holder("__main__.RECENT", RECENT, "tuple", None)]}


def main():
    loop = redteam_common.Loop(200, describe)
    worker = threading.Thread(target=loop.run, args=(step,), name="exporter")
    worker.start()
    worker.join()


if __name__ == "__main__":
    main()
