# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Containers of every holder shape, imported by holder_run.py (tests/integration/test_holders.py).

Each container is named in SHAPES with the path pymemwatch must report for it.
"""
import collections
import functools
import sys

ACTIVE_TOKENS = []                      # module global list
SESSIONS = {}                           # module global dict keyed by an unbounded id
SEEN = set()                            # module global set
EVENTS = collections.deque()            # module global deque


class Registry:
    points = []                         # class attribute

    def __init__(self):
        self.series = {}                # instance attribute (inline/managed values)
        self.name = "registry"


REGISTRY = Registry()                   # instance through a module-level singleton


class Node:
    def __init__(self, child=None):
        self.child = child
        self.items = []


# nested 4 deep: ROOT.child.child.child.items
ROOT = Node(Node(Node(Node())))


def _make_handler():
    seen = []                           # closure cell

    def handler(x):
        seen.append(x)
        return len(seen)
    return handler


handler = _make_handler()


def record(x, _log=[]):                 # function default
    _log.append(x)


def remember(x, *, cache={}):           # keyword-only default
    cache[x] = x


@functools.lru_cache(maxsize=None)
def fetch(key):                         # lru_cache
    return b"x" * 600                   # > 512 B items


class Config:
    ROUTES = {"api": {"v1": []}}        # dict nested in a class attribute


class Metrics:
    __slots__ = ("name", "samples")     # __slots__ member


METRICS = Metrics()
METRICS.samples = []


class Recorder:
    def __init__(self):
        self.log = []

    def record(self, x):
        self.log.append(x)


on_event = Recorder().record            # the instance is reachable only as __self__


def _notify(queue, x):
    queue.append(x)


notify = functools.partial(_notify, [])  # functools.partial argument


class User:
    def __init__(self, i):
        self.name = "user-%d" % i       # unique: only this User holds it
        self.token = bytes(700)         # unique, > 512 B
        self.level = 1                  # shared


USERS = []                              # instances that own what they reference


def users_owned(block):
    """bytes the Users alone keep alive one level down (what pymemwatch adds to the list's
    retained size): their name and token, and up to 3.10 their own __dict__"""
    total = 0
    for u in USERS:
        total += block(sys.getsizeof(u.name)) + block(sys.getsizeof(u.token))
        if sys.version_info < (3, 11):
            total += block(sys.getsizeof(u.__dict__))
    return total


class Hooks:
    @staticmethod
    def hook(x, _seen={}):              # default of a staticmethod
        _seen[x] = True

    @classmethod
    def classhook(cls, x, _calls=[]):   # default of a classmethod
        _calls.append(x)


def grow(n):
    for i in range(n):
        ACTIVE_TOKENS.append("tok-%d" % i)
        SESSIONS[i] = bytes(1000)       # large payloads
        SEEN.add(i * 7)
        EVENTS.append((i, i))
        Registry.points.append(float(i))
        REGISTRY.series["k%d" % i] = [i]
        ROOT.child.child.child.items.append(i)
        handler(i)
        record(i)
        remember(i)
        fetch(i)
        Config.ROUTES["api"]["v1"].append(i)
        METRICS.samples.append(i)
        on_event(i)
        notify(i)
        Hooks.hook(i)
        Hooks.classhook(i)
        USERS.append(User(i))
        sys.modules["holder_standin"].registry.append(i)


class _ModuleStandIn:
    """an object a library put in sys.modules in place of its module"""

    def __init__(self):
        self.registry = []


sys.modules["holder_standin"] = _STANDIN = _ModuleStandIn()
del _STANDIN


def churn():
    """Mutate the containers for ever, resizing them (a target that does not hold still)."""
    i = 0
    while True:
        i += 1
        for k in range(i % 64, i % 64 + 200):
            SESSIONS[-k] = b""              # grow past a resize, then shrink back
        for k in range(i % 64, i % 64 + 200):
            del SESSIONS[-k]
        EVENTS.append((i, i))
        EVENTS.popleft()
        Registry.points.extend([0.5] * 100)
        del Registry.points[-100:]
        REGISTRY.series["tmp%d" % (i % 7)] = [i]
        REGISTRY.series.pop("tmp%d" % ((i + 3) % 7), None)
        SEEN.add(-i)
        SEEN.discard(-i)


def shapes():
    """(expected path, kind, object) for every container."""
    import gc
    currsize = fetch.cache_info().currsize
    lru = [d for d in gc.get_referents(fetch)
           if type(d) is dict and d is not fetch.__dict__ and len(d) == currsize]
    return [
        ("holder_shapes.ACTIVE_TOKENS", "module_global", ACTIVE_TOKENS),
        ("holder_shapes.SESSIONS", "module_global", SESSIONS),
        ("holder_shapes.SEEN", "module_global", SEEN),
        ("holder_shapes.EVENTS", "module_global", EVENTS),
        ("holder_shapes.Registry.points", "class_attr", Registry.points),
        ("holder_shapes.REGISTRY.series", "instance_attr", REGISTRY.series),
        ("holder_shapes.ROOT.child.child.child.items", "instance_attr", ROOT.child.child.child.items),
        ("holder_shapes.handler.__closure__[0].cell_contents", "closure", handler.__closure__[0].cell_contents),
        ("holder_shapes.record.__defaults__[0]", "default", record.__defaults__[0]),
        ("holder_shapes.remember.__kwdefaults__['cache']", "default", remember.__kwdefaults__["cache"]),
        ("holder_shapes.Config.ROUTES['api']['v1']", "class_attr", Config.ROUTES["api"]["v1"]),
        ("functools.lru_cache(holder_shapes.fetch)", "lru_cache", lru[0]),
        ("holder_shapes.METRICS.samples", "instance_attr", METRICS.samples),
        ("holder_shapes.USERS", "module_global", USERS),
        ("holder_standin.registry", "instance_attr", sys.modules["holder_standin"].registry),
        ("holder_shapes.on_event.__self__.log", "instance_attr", on_event.__self__.log),
        ("holder_shapes.notify.args[0]", "module_global", notify.args[0]),
        ("holder_shapes.Hooks.hook.__defaults__[0]", "default", Hooks.hook.__defaults__[0]),
        ("holder_shapes.Hooks.classhook.__func__.__defaults__[0]", "default",
         Hooks.classhook.__func__.__defaults__[0]),
    ]
