"""bench workload: json.dumps only, in the style of pyperformance's json_dumps (encoding a
small, a nested and a large document; the encoder's C and Python paths both run)."""
import json

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 2600


def setup():
    simple = {"key1": 0, "key2": True, "key3": "value", "key4": "foo", "key5": "string"}
    nested = {"key1": 0, "key2": simple, "key3": "value", "key4": [1, 2, 3, 4.5, None], "key5": "string",
              "key6": {"a": [simple, simple], "b": (1.25, -7, "x" * 20)}}
    huge = [nested] * 24 + [list(range(64)), {str(i): i * 1.5 for i in range(64)}]
    return [({}, 8), (simple, 8), (nested, 6), (huge, 1)]


def run(state, scale):
    total = 0
    for i in range(max(1, int(round(ITERATIONS * scale)))):
        for obj, reps in state:
            for _ in range(reps):
                total += len(json.dumps(obj))
        total += len(json.dumps(state[2][0], indent=2, sort_keys=True))  # the pure-Python encoder
    return total


if __name__ == "__main__":
    _protocol.main(setup, run)
