"""Known memory waste of each advice kind, with ground truth from inside,
for tests/integration/test_snapshot.py.

usage: waste_target.py waste|clean STATE_FILE

waste: holds
  - POINTS: N instances of Point (a class with a __dict__, 5 attributes) and
    SLOTTED: N of PointSlots, its __slots__ twin (advice must name Point only);
  - DUPS: copies of one str value (equal contents, distinct objects);
  - EMPTIES: empty dicts and EMPTY_LISTS: empty lists;
  - SHRUNK: a dict that grew to many entries and lost all but a few (dicts
    never shrink) and SHRUNK_SET, a set that did the same;
  - FLOATS: a list of distinct floats (an array('d') would need no boxes), INTS a
    tuple of distinct ints; BLOBS: copies of one 2000-character str (> 512 B);
  - HOLDERS: three containers of distinct sizes whose contents only they hold.
clean: none of those (advice must be empty).

Ground truth is measured here and written to STATE_FILE (JSON), in pymalloc
block bytes (requests up to 512 B rounded up to 16, larger ones as is):
  - slots saving: tracemalloc of N Points minus tracemalloc of N PointSlots;
  - the others by sys.getsizeof (rounded to blocks) of what each kind holds.
Prints ``ready PID`` and sleeps until killed, so the heap stays as measured.
"""
import json
import os
import sys
import time
import tracemalloc

N = 20000
# what build() holds (module globals: the holder paths the test expects)
POINTS = SLOTTED = DUPS = EMPTIES = EMPTY_LISTS = SHRUNK = SHRUNK_SET = None
FLOATS = INTS = BLOBS = HOLDERS = None
SECRET = "do-not-print-me-%d-%s" % (424242, "x" * 20)


class Point:
    def __init__(self, i):
        self.x = i
        self.y = i + 1
        self.z = i + 2
        self.label = None
        self.weight = 1.0


class PointSlots:
    __slots__ = ("x", "y", "z", "label", "weight")
    __init__ = Point.__init__       # the same attributes, set the same way


def block(n):
    return (n + 15) & ~15 if n <= 512 else n


def traced(make):
    """Block bytes of the live allocations @make's result holds, by tracemalloc."""
    tracemalloc.start()
    tracemalloc.clear_traces()
    held = make()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return held, sum(block(t.size) for t in snap.traces)


def deep(o, seen):
    """Recursive sys.getsizeof (blocks) over objects only @o's tree holds."""
    if id(o) in seen:
        return 0
    seen.add(id(o))
    n = block(sys.getsizeof(o))
    items = []
    if isinstance(o, dict):
        items = list(o.keys()) + list(o.values())
    elif isinstance(o, (list, tuple, set)):
        items = list(o)
    elif isinstance(o, Record):
        items = [o.name, o.payload]   # not vars(o): it would materialize a 3.11+ __dict__
        if sys.version_info < (3, 11):
            n += block(sys.getsizeof(o.__dict__))
    for x in items:
        if sys.getrefcount(x) <= 4:   # held by @o, items, the loop variable and the argument only
            n += deep(x, seen)
    return n


class Record:
    def __init__(self, i):
        self.name = "record-%d" % i
        self.payload = [i, str(i) * 3]


def build(state):
    g = globals()
    g["POINTS"], with_dict = traced(lambda: [Point(i) for i in range(N)])
    slotted, with_slots = traced(lambda: [PointSlots(i) for i in range(N)])
    g["SLOTTED"] = slotted
    state["slots"] = {"class": "Point", "objects": N, "saving": with_dict - with_slots}
    g["DUPS"] = [("%s-%d-%s" % ("do-not-print-me", 424242, "x" * 20)) for _ in range(30000)]
    assert DUPS[0] == SECRET and DUPS[0] is not DUPS[1]
    state["duplicate_str"] = {"copies": len(DUPS),
                              "saving": (len(DUPS) - 1) * block(sys.getsizeof(DUPS[0]))}
    g["EMPTIES"] = [dict() for _ in range(60000)]
    g["EMPTY_LISTS"] = [[] for _ in range(40000)]
    state["empty_dict"] = sum(block(sys.getsizeof(d)) for d in EMPTIES)
    state["empty_list"] = sum(block(sys.getsizeof(x)) for x in EMPTY_LISTS)
    shrunk = {i: i for i in range(100000)}
    for i in range(10, 100000):
        del shrunk[i]
    g["SHRUNK"] = shrunk
    state["oversized_dict"] = sys.getsizeof(shrunk) - sys.getsizeof(dict(shrunk))
    s = set(range(100000))
    for i in range(10, 100000):
        s.discard(i)
    g["SHRUNK_SET"] = s
    state["oversized_set"] = sys.getsizeof(s) - sys.getsizeof(set(s))
    g["FLOATS"] = [i * 1.5 + 0.25 for i in range(200000)]
    state["boxed_float"] = sum(block(sys.getsizeof(x)) for x in FLOATS)
    # > 512 B: outside pymalloc's pools (not tuple(range()): 3.15 makes those ints immortal)
    g["INTS"] = tuple(i * 3 for i in range(1000, 101000))
    state["boxed_tuple_int"] = sum(block(sys.getsizeof(x)) for x in INTS)
    g["BLOBS"] = ["".join(["y" * 1000, "z" * 1000]) for _ in range(2000)]
    assert BLOBS[0] is not BLOBS[1]
    state["duplicate_blob"] = {"len": len(BLOBS[0]), "copies": len(BLOBS),
                               "saving": (len(BLOBS) - 1) * block(sys.getsizeof(BLOBS[0]))}
    g["HOLDERS"] = {
        "big": [Record(i) for i in range(30000)],
        "mid": {"k%d" % i: ("v%d" % i) * 4 for i in range(20000)},
        "small": [[i, i + 1] for i in range(8000)],
    }
    state["holders"] = {k: deep(v, set()) for k, v in HOLDERS.items()}


def main():
    mode, path = sys.argv[1], sys.argv[2]
    state = {"version": "%d.%d" % sys.version_info[:2]}
    if mode == "waste":
        build(state)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)
    print("ready %d" % os.getpid(), flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
