"""Scaffolding shared by the leak workloads (tests/workloads/leak_*.py).

Each workload is a small service with two real leaks next to bounded caches
and churn. It is started as a script; `serve` then imports it again by its
module name, so that its globals live in `leak_x` and a holder path reads
`leak_x.NAME` as it would in a real application.

usage: leak_x.py [SECONDS [STATE_FILE]]   (SECONDS 0 = until killed)

Protocol: prints ``ready <pid>``; every second (and at exit) writes
STATE_FILE (JSON, replaced atomically): {"time": ..., "steps": ...,
"leaks": [...], "bounded": [...]}, each holder as {"holder": "leak_x.NAME",
"addr": id(container) or null, "len": len(container), "item_type": ...,
"marker": "LEAK-X"}, and where describe() gives "census" (counts a
census taken now should show), "history": [[time, [len of each leak],
census], ...] once a second (the last 120): the ground truth the tests compare pymemwatch's leak
table with (the lines that create a leak's items end in "# LEAK-X").
"""
import gc
import json
import os
import sys
import time


def holder(name, container, item_type, marker=None):
    """One holder as the state file describes it; `marker` names the comment
    (# LEAK-...) on the line(s) that create its items."""
    return {"holder": name, "addr": id(container), "len": len(container),
            "item_type": item_type, "marker": marker}


def _block(n):
    """an object's bytes as held: pymalloc's 16-byte classes up to 512 B, else its size"""
    return n if n > 512 else (n + 15) & ~15


def sizeof(container):
    """What the target itself measures of a container, one level down:
    (plain, retained). plain: sys.getsizeof of the container and of each item
    (dict: keys and values). retained: the same with each item rounded to its
    pymalloc block, plus the referents (gc.get_referents) that only that item
    holds: doc/leaks.md "Holder paths", retained size."""
    flat = [x for kv in container.items() for x in kv] if isinstance(container, dict) \
        else list(container)
    plain = retained = sys.getsizeof(container)
    for x in flat:
        plain += sys.getsizeof(x)
        retained += _block(sys.getsizeof(x))
        refs = gc.get_referents(x)
        for r in refs:
            if sys.getrefcount(r) == 4:     # x, refs, r and the argument
                retained += _block(sys.getsizeof(r))
    return plain, retained


def _write_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


def serve(module_name, rate=100):
    """Run module.step(i) `rate` times a second; module.describe() gives the holders."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    mod = __import__(module_name)
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 0
    state_path = sys.argv[2] if len(sys.argv) > 2 else None
    print("ready %d" % os.getpid(), flush=True)
    start = time.monotonic()
    i = 0
    next_state = start
    history = []
    while not duration or time.monotonic() - start < duration:
        for _ in range(max(1, rate // 20)):
            mod.step(i)
            i += 1
        now = time.monotonic()
        if state_path and now >= next_state:
            state = mod.describe()
            state.update(time=time.time(), steps=i)
            if "census" in state:   # what a census taken at any moment should count
                history = history[-119:] + [[state["time"], [h["len"] for h in state["leaks"]],
                                             state["census"]]]
                state["history"] = history
            _write_state(state_path, state)
            next_state = now + 1
        # paced: `rate` steps a second on average
        ahead = start + i / float(rate) - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
