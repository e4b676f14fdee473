"""Growth sites on a free-threaded build (tests/integration/test_freethreaded.py).

Two threads append to the module-level list LEAK, each at its own line
(marked GROW-A and GROW-B), in step (a barrier before each append, so that
both write within any few consecutive writes, on two CPUs at once), until
killed; nothing else grows. STATE_FILE gets this file's path, the two lines
(found from its own source) and id(LEAK) once both threads run.

usage: ft_growth.py STATE_FILE
"""
import json
import os
import sys
import threading
import time

LEAK = []
STEP = threading.Barrier(2)


class Item(object):
    def __init__(self, i):
        self.i = i


def grow_a():
    i = 0
    while True:
        for _ in range(50):
            STEP.wait()
            LEAK.append(Item(i))  # GROW-A
            i += 1
        time.sleep(0.02)


def grow_b():
    i = 0
    while True:
        for _ in range(50):
            STEP.wait()
            LEAK.append(Item(-i))  # GROW-B
            i += 1
        time.sleep(0.02)


def lines():
    with open(__file__) as f:
        src = f.read().splitlines()
    return {tag: n + 1 for n, l in enumerate(src) for tag in ("GROW-A", "GROW-B")
            if l.rstrip().endswith("# " + tag)}


def main():
    state = sys.argv[1]
    a = threading.Thread(target=grow_a, daemon=True)
    b = threading.Thread(target=grow_b, daemon=True)
    a.start()
    b.start()
    time.sleep(0.5)
    with open(state + ".tmp", "w") as f:
        json.dump({"file": os.path.abspath(__file__), "lines": lines(), "leak": id(LEAK)}, f)
    os.rename(state + ".tmp", state)
    threading.Event().wait()    # until killed


if __name__ == "__main__":
    main()
