"""bench workload: dict churn: insert / update / delete / lookups in large dicts (resizes included)."""
import os
import random
import signal
import sys
import time

ITERATIONS = 40


def setup():
    rng = random.Random(31337)
    keys = ["key-%d-%d" % (i, rng.randint(0, 10 ** 6)) for i in range(60000)]
    return keys


def run(keys, scale):
    total = 0
    for it in range(max(1, int(round(ITERATIONS * scale)))):
        d = {}
        for i, k in enumerate(keys):
            d[k] = i
        for k in keys[::3]:
            del d[k]
        d.update((k, (it, k)) for k in keys[::5])
        d2 = {k: v for k, v in d.items() if isinstance(v, int) and v % 2}
        for k in keys[::7]:
            d2[k + "x"] = [k]
        counts = {}
        for k in keys[:20000]:
            c = k[4]
            counts[c] = counts.get(c, 0) + 1
        total += len(d) + len(d2) + len(counts)
    return total


# ---- bench protocol (same in every workload) ---------------------------------
def main():
    scale, wait, hold = 1.0, True, False
    argv = sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--scale":
            scale = float(argv.pop(0))
        elif a == "--no-wait":
            wait = False
        elif a == "--hold":
            hold = True
        else:
            sys.exit("usage: %s [--scale F] [--no-wait] [--hold]" % sys.argv[0])
    sigs = {signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    state = setup()
    run(state, 0.05)
    print("ready %d" % os.getpid(), flush=True)
    if wait and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no SIGUSR1 within 600 s")
    t0 = time.perf_counter()
    run(state, scale)
    elapsed = time.perf_counter() - t0
    print("elapsed %.6f" % elapsed, flush=True)
    if hold and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no second SIGUSR1 within 600 s")


if __name__ == "__main__":
    main()
