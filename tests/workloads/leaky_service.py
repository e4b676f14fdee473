"""A request loop with two real leaks, a bounded cache and JSON churn.

Used by tests/integration/test_leaks.py and the demo. Each leak sits on a
line marked LEAK-A / LEAK-B so that tests can find its line number.

usage: leaky_service.py [SECONDS]    (default: run until killed)
"""
import json
import os
import sys
import time


class Session(object):
    __slots__ = ("user", "token", "hits")

    def __init__(self, user, token):
        self.user = user
        self.token = token
        self.hits = 0


AUDIT_LOG = []          # leak A: grows by one tuple per request
SESSIONS = {}           # leak B: grows by one Session per new key
CACHE = {}              # bounded: fills to CACHE_MAX, then replaces entries
CACHE_MAX = 2000


def audit(i, path):
    AUDIT_LOG.append((i, path, "ok", i * 3))  # LEAK-A


def remember_session(i):
    SESSIONS["user-%d" % i] = Session(i, "t%08d" % i)  # LEAK-B


def cached_lookup(i):
    key = i % (CACHE_MAX * 2)
    if key not in CACHE:
        if len(CACHE) >= CACHE_MAX:
            CACHE.pop(next(iter(CACHE)))
        CACHE[key] = [key, str(key), float(key)]
    return CACHE[key]


def handle(i):
    doc = {"id": i, "items": [{"n": j, "name": "item%d" % j} for j in range(20)],
           "tags": ["a", "b", "c"]}
    body = json.dumps(doc)
    back = json.loads(body)
    cached_lookup(i)
    audit(i, "/api/%d" % (i % 50))
    remember_session(i)
    return len(back["items"])


def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 0
    print("ready %d" % os.getpid(), flush=True)
    start = time.time()
    i = 0
    while not duration or time.time() - start < duration:
        for _ in range(100):
            handle(i)
            i += 1
        time.sleep(0.05)


if __name__ == "__main__":
    main()
