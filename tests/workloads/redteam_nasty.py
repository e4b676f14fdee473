"""Red-team leak app (d): small, slow leaks next to big, busy containers.

Leaks:
  1. a slow one, 20 items a second, through a closure cell:
     redteam_nasty.on_message.__closure__[0].cell_contents (Envelope objects)
  2. a class attribute dict keyed by unique message ids, 60 items a second:
     redteam_nasty.Tracker.acked (values: floats)
Bounded: a huge cache of exactly 100000 entries with 5000 replacements a
second (redteam_nasty.BIG); a list that grows for 6 s (2000 a second) then
shrinks for 4 s, in cycles (redteam_nasty.BATCH); JSON churn.
Imported by its module name.
"""
import json
import os
import random
import sys
import time

if __name__ != "__main__":
    import redteam_common

RATE = 500              # steps a second: 10 replacements in BIG per step


class Envelope(object):
    __slots__ = ("topic", "seq")

    def __init__(self, topic, seq):
        self.topic = topic
        self.seq = seq


def make_listener():
    backlog = []                            # leak 1

    def on_message(topic, seq):
        backlog.append(Envelope(topic, seq))  # LEAK-BACKLOG
    return on_message


on_message = make_listener()


class Tracker(object):
    acked = {}                              # leak 2 (class attribute)

    @classmethod
    def ack(cls, seq):
        cls.acked["msg-%d" % seq] = seq * 0.25 + 0.1  # LEAK-ACKED


BIG = {k: [k] for k in range(100000)}       # bounded: len stays 100000
_big_next = [100000]
BATCH = []                                  # grows 6 s, shrinks 4 s
_t0 = time.monotonic()


def step(i):
    for _ in range(10):
        victim = next(iter(BIG)) if i % 2 else _pick_victim()
        del BIG[victim]
        BIG[_big_next[0]] = [_big_next[0]]
        _big_next[0] += 1
    if i % 25 == 0:
        on_message("orders", i)
    if i % 25 in (1, 9, 17):
        Tracker.ack(i)
    phase = (time.monotonic() - _t0) % 10.0
    if phase < 6.0:
        BATCH.extend([(i, "a"), (i, "b"), (i, "c"), (i, "d")])
    else:
        del BATCH[-6:]
    if i % 5 == 0:
        json.loads(json.dumps({"seq": i, "payload": ["x" * 20] * 10}))


def _pick_victim():
    """a random live key (keys are a sliding window of 100000 ints with holes)"""
    while True:
        k = random.randrange(_big_next[0] - 100000 - 50000, _big_next[0])
        if k in BIG:
            return k


def describe():
    backlog = on_message.__closure__[0].cell_contents
    return {"leaks": [redteam_common.holder("redteam_nasty.on_message.__closure__[0].cell_contents",
                                            backlog, "Envelope", "LEAK-BACKLOG"),
                      redteam_common.holder("redteam_nasty.Tracker.acked", Tracker.acked,
                                            "float", "LEAK-ACKED")],
            "bounded": [redteam_common.holder("redteam_nasty.BIG", BIG, "list", None),
                        redteam_common.holder("redteam_nasty.BATCH", BATCH, "tuple", None)]}


def main():
    redteam_common.Loop(RATE, describe).run(step, batch=25)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import redteam_nasty
    redteam_nasty.main()
