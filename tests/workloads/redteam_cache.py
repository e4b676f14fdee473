"""Red-team leak app (c): a profile/upload service.

Leaks:
  1. an unbounded functools.lru_cache on a function keyed by unique user ids:
     functools.lru_cache(redteam_cache.resolve) (values: tuples)
  2. uploads of 2-64 KiB (bytes, far above pymalloc's 512 B) kept in a
     module-level dict keyed by upload id: redteam_cache.UPLOADS
Bounded: a dict cache of 1-8 KiB thumbnails that evicts its oldest key at
300 entries (redteam_cache.THUMBS), with turnover; JSON churn.
Imported by its module name.
"""
import functools
import json
import os
import random
import sys

if __name__ != "__main__":
    import redteam_common

UPLOADS = {}            # leak 2
THUMBS = {}             # bounded, oldest evicted
THUMBS_MAX = 300


@functools.lru_cache(maxsize=None)
def resolve(uid):       # leak 1: every uid is new
    return ("profile", uid, "user-%d@example.org" % uid)  # LEAK-RESOLVE


def thumbnail(key):
    t = THUMBS.get(key)
    if t is None:
        if len(THUMBS) >= THUMBS_MAX:
            del THUMBS[next(iter(THUMBS))]
        t = THUMBS[key] = os.urandom(1024 * random.randint(1, 8))
    return t


def step(i):
    resolve(1000000 + i)  # LEAK-RESOLVE
    if i % 8 == 0:
        UPLOADS["upload-%d" % i] = os.urandom(random.randint(2048, 65536))  # LEAK-UPLOADS
    thumbnail(random.randrange(3000))
    json.loads(json.dumps({"user": i, "roles": ["r%d" % (i % 5)] * 4, "quota": i * 0.5}))


def lru_dict():
    """the dict functools.lru_cache keeps resolve's results in (for its id())"""
    import gc
    n = resolve.cache_info().currsize
    found = [d for d in gc.get_referents(resolve)
             if type(d) is dict and d is not resolve.__dict__ and len(d) == n]
    return found[0] if found else {}


def describe():
    return {"leaks": [redteam_common.holder("functools.lru_cache(redteam_cache.resolve)",
                                            lru_dict(), "tuple", "LEAK-RESOLVE"),
                      redteam_common.holder("redteam_cache.UPLOADS", UPLOADS, "bytes",
                                            "LEAK-UPLOADS")],
            "bounded": [redteam_common.holder("redteam_cache.THUMBS", THUMBS, "bytes", None)],
            "upload_bytes": sum(len(b) for b in UPLOADS.values())}


def main():
    redteam_common.Loop(160, describe).run(step)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import redteam_cache
    redteam_cache.main()
