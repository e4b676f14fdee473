"""bench workload: dict churn: insert / update / delete / lookups in large dicts (resizes included)."""
import random

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 40


def setup():
    rng = random.Random(31337)
    keys = ["key-%d-%d" % (i, rng.randint(0, 10 ** 6)) for i in range(60000)]
    return keys


def run(keys, scale):
    total = 0
    for it in range(max(1, int(round(ITERATIONS * scale)))):
        d = {}
        for i, k in enumerate(keys):
            d[k] = i
        for k in keys[::3]:
            del d[k]
        d.update((k, (it, k)) for k in keys[::5])
        d2 = {k: v for k, v in d.items() if isinstance(v, int) and v % 2}
        for k in keys[::7]:
            d2[k + "x"] = [k]
        counts = {}
        for k in keys[:20000]:
            c = k[4]
            counts[c] = counts.get(c, 0) + 1
        total += len(d) + len(d2) + len(counts)
    return total


if __name__ == "__main__":
    _protocol.main(setup, run)
