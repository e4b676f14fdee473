"""Leak workload: a list held by an instance attribute (Registry.points) and
an unbounded functools.lru_cache with unique keys; a bounded lru_cache with
turnover, a deque(maxlen) window and JSON churn next to them."""
import collections
import functools
import json
import random

import leakapp


class Point(object):
    __slots__ = ("t", "v")

    def __init__(self, t, v):
        self.t = t
        self.v = v


class Fetched(object):
    def __init__(self, key):
        self.key = key
        self.body = "body-" + key


class Looked(object):
    def __init__(self, key):
        self.key = key


class Registry(object):
    def __init__(self):
        self.points = []             # leak 1: grows forever


REGISTRY = Registry()
WINDOW = collections.deque(maxlen=1000)   # bounded by construction


@functools.lru_cache(maxsize=None)
def fetch(key):  # leak 2: unique keys, no bound
    return Fetched(key)  # LEAK-FETCH


@functools.lru_cache(maxsize=300)
def lookup(key):                     # bounded, turns over
    return Looked(key)


def step(i):
    REGISTRY.points.append(Point(i, i * 0.5))  # LEAK-POINTS
    fetch("key-%d" % i)  # LEAK-FETCH
    lookup(random.randrange(3000))
    WINDOW.append(i)
    json.loads(json.dumps({"i": i, "tags": ["a", "b", "c"], "v": [1.5] * 8}))


def describe():
    info = fetch.cache_info()
    return {"leaks": [leakapp.holder("leak_attrs.REGISTRY.points", REGISTRY.points, "Point",
                                      "LEAK-POINTS"),
                      {"holder": "functools.lru_cache(leak_attrs.fetch)", "addr": None,
                       "len": info.currsize, "item_type": "Fetched", "marker": "LEAK-FETCH"}],
            "bounded": [{"holder": "functools.lru_cache(leak_attrs.lookup)", "addr": None,
                         "len": lookup.cache_info().currsize, "item_type": "Looked"},
                        leakapp.holder("leak_attrs.WINDOW", WINDOW, "int")]}


if __name__ == "__main__":
    leakapp.serve("leak_attrs")
