"""bench workload: json.dumps / json.loads of nested documents."""
import json
import random

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 2200


def setup():
    rng = random.Random(1234)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]

    def doc(depth):
        if depth == 0:
            choice = rng.random()
            if choice < 0.3:
                return rng.randint(-10 ** 6, 10 ** 6)
            if choice < 0.5:
                return rng.random() * 1000.0
            if choice < 0.6:
                return rng.random() < 0.5
            if choice < 0.65:
                return None
            return " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.5:
            return {"%s_%d" % (rng.choice(words), i): doc(depth - 1) for i in range(rng.randint(2, 6))}
        return [doc(depth - 1) for _ in range(rng.randint(2, 6))]

    docs = [doc(4) for _ in range(12)]
    texts = [json.dumps(d) for d in docs]
    return docs, texts


def run(state, scale):
    docs, texts = state
    total = 0
    for i in range(max(1, int(round(ITERATIONS * scale)))):
        d = docs[i % len(docs)]
        s = json.dumps(d, sort_keys=(i % 2 == 0))
        total += len(s)
        back = json.loads(texts[i % len(texts)])
        total += len(back)
        s2 = json.dumps(back, indent=1)
        total += len(json.loads(s2))
    return total


if __name__ == "__main__":
    _protocol.main(setup, run)
