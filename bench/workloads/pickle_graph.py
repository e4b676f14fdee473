"""bench workload: pickle.dumps / pickle.loads of object graphs."""
import os
import pickle
import random
import signal
import sys
import time

ITERATIONS = 50


class Node(object):
    def __init__(self, ident, label, weight):
        self.ident = ident
        self.label = label
        self.weight = weight
        self.edges = []
        self.meta = {}


class Edge(object):
    __slots__ = ("src", "dst", "cost")

    def __init__(self, src, dst, cost):
        self.src = src
        self.dst = dst
        self.cost = cost


def setup():
    rng = random.Random(99)
    graphs = []
    for g in range(4):
        nodes = [Node(i, "n%d-%d" % (g, i), rng.random()) for i in range(1500)]
        for n in nodes:
            for _ in range(3):
                # edges point to earlier nodes only: pickled already, so recursion stays shallow
                n.edges.append(Edge(n, nodes[rng.randrange(n.ident + 1)], rng.randint(1, 100)))
            n.meta = {"tags": ("a", "b", str(n.ident % 7)), "pos": (rng.random(), rng.random())}
        graphs.append({"name": "graph%d" % g, "nodes": nodes, "index": {n.label: n for n in nodes[::10]}})
    return graphs


def run(state, scale):
    total = 0
    for i in range(max(1, int(round(ITERATIONS * scale)))):
        g = state[i % len(state)]
        data = pickle.dumps(g, protocol=2 + (i % 3))
        back = pickle.loads(data)
        total += len(data) + len(back["nodes"])
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
