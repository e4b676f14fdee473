"""Leak shape: one leak spread over lists that are each in their own dict.
Per-user records, shape_users.USERS['u0'] .. ['u7'], each a dict holding a
"history" list that grows for ever at one line (the lists of eight dicts, not
of one: shape_users.USERS['u3']['history']), a bounded "recent"
deque(maxlen=32) and a name. One leak, one row: shape_users.USERS[*]['history'],
its items the sum of the eight len(). See leakapp.py."""
import collections

import leakapp

USERS = {"u%d" % i: {"name": "user %d" % i, "history": [],
                     "recent": collections.deque(maxlen=32)} for i in range(8)}


def step(i):
    user = USERS["u%d" % (i % 8)]
    user["history"].append((i, "event-%d" % i))  # LEAK-HISTORY
    user["recent"].append(i)


def describe():
    leaks = []
    for u in sorted(USERS):
        h = USERS[u]["history"]
        leaks.append(leakapp.holder("shape_users.USERS['%s']['history']" % u, h, "tuple",
                                    "LEAK-HISTORY"))
        leaks[-1]["sizeof"] = leakapp.sizeof(h)
    return {"leaks": leaks,
            "bounded": [leakapp.holder("shape_users.USERS['%s']['recent']" % u,
                                       USERS[u]["recent"], "int") for u in sorted(USERS)],
            "census": {}}


if __name__ == "__main__":
    leakapp.serve("shape_users")
