#!/usr/bin/env python3
"""Allocate a little, collect garbage, exit with status argv[1] (default 0).

Used by pymemwatch's `-- COMMAND` tests. SHORT_SCRIPT_SLEEP (seconds,
default 1) keeps it alive a little so that at least one interval passes.
"""

import gc
import os
import sys
import time


def main(argv):
    status = int(argv[1]) if len(argv) > 1 else 0
    data = [str(i) * 3 for i in range(50000)]
    cycles = []
    for i in range(10000):
        x = []
        x.append(x)
        cycles.append(x)
    cycles = None
    gc.collect()
    time.sleep(float(os.environ.get("SHORT_SCRIPT_SLEEP", "1")))
    del data
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
