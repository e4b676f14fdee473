"""bench workload: pickle.dumps / pickle.loads of object graphs."""
import pickle
import random

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

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


if __name__ == "__main__":
    _protocol.main(setup, run)
