"""The bench protocol, shared by every workload in this directory.

A workload defines setup() -> state and run(state, scale) and ends with
`_protocol.main(setup, run)`. Flags: --scale F (amount of work), --no-wait
(run at once), --hold (wait for a second SIGUSR1 before exiting, so that
pymemwatch is stopped before interpreter teardown), --leak KIB (leak KIB
KiB per second steadily, from the start until exit, on top of the work, and
keep working until SIGUSR1: the `leaking` configuration of scripts/bench.py).
It warms up, prints
"ready PID", waits for SIGUSR1, runs the timed section and prints
"elapsed SECONDS".
"""
import atexit
import os
import signal
import sys
import time

LEAKED = []  # the --leak leak: a module global list that only grows
LEAK_HZ = 100


def start_leak(kib_per_s):
    """Every 1/LEAK_HZ s (SIGALRM, between bytecodes of the main thread), keep
    kib_per_s / LEAK_HZ KiB of small dicts and strings alive in LEAKED: a steady
    leak of small objects (each item a dict with a ~100-byte str, ~0.4 KiB)."""
    per_tick = max(1, int(round(kib_per_s * 1024.0 / LEAK_HZ / 400)))
    n = [0]

    def leak(signum, frame):
        for _ in range(per_tick):
            n[0] += 1
            LEAKED.append({"id": n[0], "payload": "leaked item %d " % n[0] + "x" * 80})

    signal.signal(signal.SIGALRM, leak)
    signal.setitimer(signal.ITIMER_REAL, 1.0 / LEAK_HZ, 1.0 / LEAK_HZ)
    # stopped at exit: interpreter teardown restores SIGALRM's default action (terminate)
    atexit.register(signal.setitimer, signal.ITIMER_REAL, 0)


def main(setup, run):
    scale, wait, hold, leak = 1.0, True, False, 0.0
    argv = sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--scale":
            scale = float(argv.pop(0))
        elif a == "--no-wait":
            wait = False
        elif a == "--hold":
            hold = True
        elif a == "--leak":
            leak = float(argv.pop(0))
        else:
            sys.exit("usage: %s [--scale F] [--no-wait] [--hold] [--leak KIB]" % sys.argv[0])
    sigs = {signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    state = setup()
    if leak > 0:
        start_leak(leak)
    run(state, 0.05)
    print("ready %d" % os.getpid(), flush=True)
    if wait and leak > 0:
        # a leaking target stays busy until the timed section, as a real one would be while
        # pymemwatch starts watching it (its leak bursts then see its real CPU use)
        t_end = time.monotonic() + 600
        while signal.SIGUSR1 not in signal.sigpending():
            if time.monotonic() > t_end:
                sys.exit("no SIGUSR1 within 600 s")
            run(state, 0.02)
        signal.sigtimedwait(sigs, 0)
    elif wait and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no SIGUSR1 within 600 s")
    t0 = time.perf_counter()
    run(state, scale)
    elapsed = time.perf_counter() - t0
    print("elapsed %.6f" % elapsed, flush=True)
    if hold and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no second SIGUSR1 within 600 s")
