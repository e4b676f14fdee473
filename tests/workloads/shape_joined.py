"""Leak shape: str objects over 512 B (libc malloc, not pymalloc) built by
str.join, 1-4 KiB each (one in three with a Latin-1 character, one in five
with a BMP one: str kinds 1 and 2), kept in a module-level list
(shape_joined.ARCHIVE). Next to it a bounded dict of 200 rendered previews
of the same sizes, oldest evicted (shape_joined.PREVIEWS), and JSON churn.
See leakapp.py."""
import json
import sys

import leakapp

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def render(i, size):
    parts = []
    n = 0
    while n < size:
        w = WORDS[(i + len(parts)) % len(WORDS)]
        parts.append("<p>%d %s</p>" % (n, w))
        n += len(parts[-1])
    if i % 3 == 0:
        parts.append("caf\u00e9")
    if i % 5 == 0:
        parts.append("\u20ac")
    return "".join(parts)


ARCHIVE = []        # leak: every rendered document
PREVIEWS = {}       # bounded: 200 previews, oldest evicted
PREVIEWS_MAX = 200


def step(i):
    ARCHIVE.append(render(i, 1024 + (i * 37) % 3072))  # LEAK-ARCHIVE
    k = (i * 13) % 997
    if k not in PREVIEWS:
        if len(PREVIEWS) >= PREVIEWS_MAX:
            del PREVIEWS[next(iter(PREVIEWS))]
        PREVIEWS[k] = render(k, 1024 + (k * 53) % 3072)
    json.loads(json.dumps({"doc": i, "t": ["p", "q"], "v": [3.5] * 6}))


def describe():
    leak = leakapp.holder("shape_joined.ARCHIVE", ARCHIVE, "str", "LEAK-ARCHIVE")
    leak["sizeof"] = leakapp.sizeof(ARCHIVE)
    docs = ARCHIVE + list(PREVIEWS.values())
    return {"leaks": [leak], "bounded": [leakapp.holder("shape_joined.PREVIEWS", PREVIEWS, "str")],
            "census": {"str_large": sum(1 for s in docs if sys.getsizeof(s) > 512),
                       "str_large_bytes": sum(sys.getsizeof(s) for s in docs
                                              if sys.getsizeof(s) > 512)}}


if __name__ == "__main__":
    leakapp.serve("shape_joined")
