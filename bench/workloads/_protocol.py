"""The bench protocol, shared by every workload in this directory.

A workload defines setup() -> state and run(state, scale) and ends with
`_protocol.main(setup, run)`. Flags: --scale F (amount of work), --no-wait
(run at once), --hold (wait for a second SIGUSR1 before exiting, so that
pymemwatch is stopped before interpreter teardown). It warms up, prints
"ready PID", waits for SIGUSR1, runs the timed section and prints
"elapsed SECONDS".
"""
import os
import signal
import sys
import time


def main(setup, run):
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
