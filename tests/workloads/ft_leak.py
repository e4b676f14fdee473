"""Leak rows on a free-threaded build (tests/integration/test_freethreaded.py).

A module-level list LEAK takes instances of its own class (Item) and a
module-level dict CACHE takes one small list per key, GROW_S seconds long,
next to a bounded list and a bounded dict that never pass 64 entries; a
second thread does half of the growing, so objects live in two thread
states' heaps. Then it stops, counts from inside (len() of each, Item
instances and lists as gc.get_objects() sees them, lists being always
tracked; sys.getsizeof() of an Item), writes STATE_FILE with those counts and the containers' ids, and
sleeps until killed so the heap stays as counted.

usage: ft_leak.py GROW_S STATE_FILE
"""
import gc
import json
import os
import sys
import threading
import time

LEAK = []
CACHE = {}
BOUNDED = []
BOUNDED_D = {}


class Item(object):
    def __init__(self, i):
        self.i = i
        self.tag = "item-%d" % i


def grow(until, base):
    i = base
    while time.time() < until:
        for _ in range(100):
            LEAK.append(Item(i))
            CACHE["k%d" % i] = [i]
            BOUNDED.append(i)
            BOUNDED_D[i % 64] = i
            if len(BOUNDED) > 64:
                del BOUNDED[:32]
            i += 2
        time.sleep(0.05)


def count(kind):
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def main():
    grow_s, state = float(sys.argv[1]), sys.argv[2]
    print("ready %d" % os.getpid(), flush=True)
    until = time.time() + grow_s
    other = threading.Thread(target=grow, args=(until, 1))
    other.start()
    grow(until, 0)
    other.join()
    truth = {"Item": count(Item), "list": count(list), "leak_len": len(LEAK),
             "cache_len": len(CACHE), "bounded_len": len(BOUNDED),
             "item_size": sys.getsizeof(LEAK[0]),
             "bounded_d_len": len(BOUNDED_D), "ids": {
                 "LEAK": id(LEAK), "CACHE": id(CACHE), "BOUNDED": id(BOUNDED),
                 "BOUNDED_D": id(BOUNDED_D)}, "t": time.time()}
    with open(state + ".tmp", "w") as f:
        json.dump(truth, f)
    os.rename(state + ".tmp", state)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
