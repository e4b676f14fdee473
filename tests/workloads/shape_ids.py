"""Leak shape: a set of ids that only grows, held in a class attribute
(shape_ids.Dedup.seen, int items), next to a set of the same ids that is
cleared every 1500 entries (shape_ids.Dedup.window: it oscillates) and JSON
churn. Unlike leak_payloads.PENDING (a module-global set of str), the set is
reached through a class and holds ints. See leakapp.py."""
import json

import leakapp


class Dedup(object):
    seen = set()        # leak: every id ever accepted, never pruned
    window = set()      # bounded: cleared whenever it holds 1500 ids

    @classmethod
    def accept(cls, ident):
        if ident in cls.seen:
            return False
        cls.seen.add(ident)  # LEAK-SEEN
        cls.window.add(ident)
        if len(cls.window) >= 1500:
            cls.window.clear()
        return True


def step(i):
    ident = 10 ** 9 + i * 7919          # > 2**30: a two-digit int, never cached
    Dedup.accept(ident)
    Dedup.accept(ident)                  # a duplicate: rejected
    json.loads(json.dumps({"id": ident, "tags": ["x", "y"], "w": [0.5] * 6}))


def describe():
    leak = leakapp.holder("shape_ids.Dedup.seen", Dedup.seen, "int", "LEAK-SEEN")
    leak["sizeof"] = leakapp.sizeof(Dedup.seen)
    return {"leaks": [leak],
            "bounded": [leakapp.holder("shape_ids.Dedup.window", Dedup.window, "int")],
            "census": {"int": len(Dedup.seen)}}


if __name__ == "__main__":
    leakapp.serve("shape_ids")
