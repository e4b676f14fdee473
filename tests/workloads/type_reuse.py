"""A class freed and another made at its address, for test_walk.py's census.

usage: type_reuse.py SECONDS STATE_FILE

Holds N instances of class Alpha, prints ``ready PID``, and after SECONDS
frees them and Alpha, then makes classes named Beta (same shape, so the same
size) until one lands at Alpha's old address (libc malloc reuses a freed
block of the same size), and holds N instances of it. STATE_FILE gets, from
inside: whether the address was reused, and the instances held.
Sleeps until killed.
"""
import gc
import json
import os
import sys
import time

N = 60000


def make(name):
    return type(name, (), {"__init__": lambda self, i: setattr(self, "v", i)})


def main():
    seconds, state = float(sys.argv[1]), sys.argv[2]
    Alpha = make("Alpha")
    held = [Alpha(i) for i in range(N)]
    old = id(Alpha)
    print("ready %d" % os.getpid(), flush=True)
    time.sleep(seconds)
    del held, Alpha
    gc.collect()
    tries = []
    for _ in range(100):
        Beta = make("Beta")
        if id(Beta) == old:
            break
        tries.append(Beta)      # kept: the next one gets another block
    held = [Beta(i) for i in range(N)]
    with open(state, "w") as f:
        json.dump({"reused": id(Beta) == old, "Beta": sum(type(o) is Beta for o in held),
                   "switched_at": time.time()}, f)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
