"""Growth sites (tests/integration/test_growth.py): one leak per growth
operation, each grown on its own line, which ends in "# GROW-<op>".

usage: growth_ops.py STATE_FILE [RATE]

Prints ``ready <pid>``, then grows every container RATE times a second
(default 50) and writes STATE_FILE (JSON) once: {"file": this file,
"leaks": [{"op", "addr": id(container), "line": the growing line}]}, the
ground truth (a line found from inside the target with inspect on its own
source, the container's address with id()).
"""
import collections
import json
import os
import sys
import time


class Account(object):
    pass


ACCT = Account()
ACCT.__dict__.update(("seed%d" % k, k) for k in range(10))   # a materialised __dict__

C = {
    "append": [],
    "insert": [],
    "insert0": [],
    "extend": [],
    "iadd": [],
    "appendleft": collections.deque(),
    "setdefault": {},
    "add": set(),
    "setattr": ACCT.__dict__,
}
BOUNDED = collections.deque(maxlen=50)


def grow(i):
    C["append"].append(("a", i))  # GROW-append
    C["insert"].insert(len(C["insert"]) // 2, ("i", i))  # GROW-insert
    C["insert0"].insert(0, ("z", i))  # GROW-insert0
    C["extend"].extend([("e", i)])  # GROW-extend
    lst = C["iadd"]
    lst += [("p", i)]  # GROW-iadd
    C["appendleft"].appendleft(("l", i))  # GROW-appendleft
    C["setdefault"].setdefault("k%d" % i, [])  # GROW-setdefault
    C["add"].add("s%d" % i)  # GROW-add
    setattr(ACCT, "attr%d" % i, i)  # GROW-setattr
    BOUNDED.append(i)


def lines():
    me = os.path.abspath(__file__)
    with open(me) as f:
        src = f.read().splitlines()
    out = {}
    for n, text in enumerate(src, 1):
        if "# GROW-" in text and not text.lstrip().startswith(("#", '"')):
            out[text.rsplit("# GROW-", 1)[1].strip()] = n
    return me, out


def main():
    state = sys.argv[1]
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    me, where = lines()
    with open(state + ".tmp", "w") as f:
        json.dump({"file": me, "pid": os.getpid(),
                   "leaks": [{"op": op, "addr": id(c), "line": where[op]} for op, c in C.items()]},
                  f)
    os.replace(state + ".tmp", state)
    print("ready %d" % os.getpid(), flush=True)
    i = 0
    while True:
        grow(i)
        i += 1
        time.sleep(1.0 / rate)


if __name__ == "__main__":
    main()
