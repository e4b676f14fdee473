"""bench workload: copy.deepcopy of object graphs (dicts, lists, instances, cycles)."""
import copy
import random

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

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


if __name__ == "__main__":
    _protocol.main(setup, run)
