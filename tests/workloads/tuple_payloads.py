"""Walk ground truth for payloads held only by tuples (test_walk.py).

Holds N pairs (i, TuplePayload) in a list: each payload is a bytes subclass
of 600-1400 bytes (over 512 B: libc malloc, outside pymalloc), reachable
only through its tuple (item 1). The heap walk finds objects over 512 B
through the containers and tuples that hold them, so it counts these only
if it reads the tuple's items where the interpreter keeps them (after
ob_hash from 3.14 on). With "single", the tuples are 1-tuples (payload,).
Writes the count and sys.getsizeof() total to STATE_FILE, prints
``ready <pid>`` and sleeps until killed.

usage: tuple_payloads.py N STATE_FILE [single]
"""
import json
import os
import sys
import time


class TuplePayload(bytes):
    pass


def main():
    n = int(sys.argv[1])
    single = sys.argv[3:] == ["single"]
    held = [(TuplePayload(b"p" * (600 + (i * 37) % 800)),) if single else
            (i, TuplePayload(b"p" * (600 + (i * 37) % 800))) for i in range(n)]
    truth = {"objects": len(held), "bytes": sum(sys.getsizeof(t[-1]) for t in held),
             "version": "%d.%d" % sys.version_info[:2]}
    with open(sys.argv[2], "w") as f:
        json.dump(truth, f)
    print("ready %d" % os.getpid(), flush=True)
    while True:
        time.sleep(1)
    return held


if __name__ == "__main__":
    main()
