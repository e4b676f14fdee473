"""Census ground truth for tests/integration/test_walk.py.

Holds N instances of its own class (CensusGadget), 4000 lists and 9000
dicts (6000 of them untracked by the GC: empty or holding atomic values),
then counts from inside: its own instances, every list (lists are always
GC-tracked, so gc.get_objects() sees them all) and every dict as the GC's
tracked dicts plus the untracked ones referenced by tracked objects (which
include the 6000 it holds, counted apart as well). Writes the counts to
STATE_FILE, prints ``ready <pid>`` and sleeps until killed, so that the heap
stays as counted.

usage: census_target.py N STATE_FILE
"""
import gc
import json
import os
import sys
import time


class CensusGadget(object):
    def __init__(self, i):
        self.i = i
        self.name = "gadget-%d" % i


def count(kind):
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def untracked_dicts():
    """Dicts the GC does not track, found through what it does track."""
    seen = set()
    for o in gc.get_objects():
        for r in gc.get_referents(o):
            if type(r) is dict and not gc.is_tracked(r):
                seen.add(id(r))
    return len(seen)


def main():
    n = int(sys.argv[1])
    gadgets = [CensusGadget(i) for i in range(n)]
    lists = [[i, i + 1] for i in range(4000)]
    dicts = [{} for _ in range(3000)] + [{"k": i} for i in range(3000)] + \
        [{"v": [i]} for i in range(3000)]
    gc.collect()
    truth = {"CensusGadget": count(CensusGadget), "list": count(list),
             "dict_tracked": count(dict),
             "dict_untracked_held": sum(1 for d in dicts if not gc.is_tracked(d)),
             "dict_untracked": untracked_dicts(),
             "n": n}
    with open(sys.argv[2], "w") as f:
        json.dump(truth, f)
    print("ready %d" % os.getpid(), flush=True)
    while True:
        time.sleep(1)
    return gadgets, lists, dicts


if __name__ == "__main__":
    main()
