# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Holder-path target: grows holder_shapes' containers, prints one line per container
("SHAPE <id> <len> <retained> <kind> <expected path>"; retained by sys.getsizeof),
one "ORPHAN <id> <len> <retained>" line for a list only a frame holds, then "READY" and waits on stdin (EOF ends it).

Usage: holder_run.py [N]   (N items per container, default 300)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import holder_shapes  # noqa: E402


def block(size):
    """bytes of one item as pymemwatch counts it: a 16-byte pymalloc size class up to 512 B"""
    return size if size > 512 else (size + 15) & ~15


def retained(obj):
    """the container and its items (dict: keys and values), by sys.getsizeof"""
    if isinstance(obj, dict):
        items = sum(block(sys.getsizeof(k)) + block(sys.getsizeof(v)) for k, v in obj.items())
    else:
        items = sum(block(sys.getsizeof(x)) for x in obj)
    return sys.getsizeof(obj) + items


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    holder_shapes.grow(n)
    orphan = [object() for _ in range(n)]   # held by this frame only: no holder path
    for path, kind, obj in holder_shapes.shapes():
        print("SHAPE", id(obj), len(obj), retained(obj), kind, path, flush=True)
    print("ORPHAN", id(orphan), len(orphan), retained(orphan), flush=True)
    print("READY", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
