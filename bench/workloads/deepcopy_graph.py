"""bench workload: copy.deepcopy of object graphs (dicts, lists, instances, cycles)."""
import copy
import os
import random
import signal
import sys
import time

ITERATIONS = 70


class Account(object):
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.history = []
        self.friends = []


def setup():
    rng = random.Random(7)
    worlds = []
    for w in range(3):
        accounts = [Account("user%d" % i, rng.randint(0, 10000)) for i in range(400)]
        for k, a in enumerate(accounts):
            a.history = [(rng.randint(0, 100), "tx%d" % rng.randint(0, 10 ** 6), [rng.random()]) for _ in range(5)]
            # friends are earlier accounts only (copied already: shallow recursion)
            a.friends = [accounts[rng.randrange(k + 1)] for _ in range(3)]
        world = {"accounts": accounts, "config": {"rate": 0.05, "names": ["x", "y", "z"] * 20},
                 "matrix": [[rng.randint(0, 9) for _ in range(30)] for _ in range(30)]}
        for a in accounts:
            a.world = world  # reference cycles back to the container
        worlds.append(world)
    return worlds


def run(state, scale):
    total = 0
    for i in range(max(1, int(round(ITERATIONS * scale)))):
        c = copy.deepcopy(state[i % len(state)])
        total += len(c["accounts"]) + c["accounts"][i % 400].balance
    return total


# ---- bench protocol (same in every workload) ---------------------------------
def main():
    scale, wait, hold = 1.0, True, False
    argv = sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--scale":
            scale = float(argv.pop(0))
        elif a == "--no-wait":
            wait = False
        elif a == "--hold":
            hold = True
        else:
            sys.exit("usage: %s [--scale F] [--no-wait] [--hold]" % sys.argv[0])
    sigs = {signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    state = setup()
    run(state, 0.05)
    print("ready %d" % os.getpid(), flush=True)
    if wait and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no SIGUSR1 within 600 s")
    t0 = time.perf_counter()
    run(state, scale)
    elapsed = time.perf_counter() - t0
    print("elapsed %.6f" % elapsed, flush=True)
    if hold and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no second SIGUSR1 within 600 s")


if __name__ == "__main__":
    main()
